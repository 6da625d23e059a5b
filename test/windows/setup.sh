#!/usr/bin/env bash
# Sets up the Windows lane: Wine, a Wine prefix that says Windows 10, Node for Windows at
# the same version as the Linux node, the win32 builds of vitest's native bindings, and
# the small native helpers. Idempotent: every step is skipped when its result is there.
# The cache lives in $WINDOWS_LANE_HOME (default ~/.cache/ahk-bridge/windows-lane).
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/../.." && pwd)"
lane="${WINDOWS_LANE_HOME:-$HOME/.cache/ahk-bridge/windows-lane}"
export WINEPREFIX="$lane/prefix" WINEARCH=win64 WINEDEBUG=-all
mkdir -p "$lane"
t0=$(date +%s)
say() { echo "windows-lane: $*" >&2; }

need_apt=()
command -v wine >/dev/null || need_apt+=(wine64 wine)
command -v x86_64-w64-mingw32-gcc >/dev/null || need_apt+=(gcc-mingw-w64-x86-64)
if [ ${#need_apt[@]} -gt 0 ]; then
  say "installing ${need_apt[*]} (apt)"
  if [ "$(id -u)" != 0 ]; then say "need root for apt-get install ${need_apt[*]}"; exit 1; fi
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${need_apt[@]}" >/dev/null
fi

if [ ! -f "$WINEPREFIX/system.reg" ]; then
  say "creating the Wine prefix"
  wine wineboot --init >/dev/null 2>&1
  wineserver -w
fi
# Node 20 refuses to start on the Windows 7 that Debian's Wine reports by default.
if ! grep -q '"Version"="win10"' "$WINEPREFIX/user.reg" 2>/dev/null; then
  wine reg add 'HKCU\Software\Wine' /v Version /t REG_SZ /d win10 /f >/dev/null 2>&1
  wineserver -w
fi

# Node for Windows at the Linux node's version: the same fetch and cache as bridge.exe's build.
node_exe="$(WINDOWS_LANE_HOME="$lane" node "$root/tools/node-win.mjs")"

build() { # out src [libs...]
  local out="$1" src="$2"; shift 2
  if [ ! -f "$out" ] || [ "$src" -nt "$out" ]; then
    x86_64-w64-mingw32-gcc -O2 -municode -o "$out" "$src" "$@"
  fi
}
mkdir -p "$lane/bin"
sys32="$WINEPREFIX/drive_c/windows/system32"
if [ ! -f "$sys32/bcryptprimitives.dll" ] || [ "$here/native/bcryptprimitives.c" -nt "$sys32/bcryptprimitives.dll" ]; then
  x86_64-w64-mingw32-gcc -O2 -shared -o "$sys32/bcryptprimitives.dll" "$here/native/bcryptprimitives.c" -lbcrypt
fi
build "$lane/bin/fileappend.exe" "$here/native/fileappend.c"
build "$lane/bin/interp-stub.exe" "$here/native/interp-stub.c"
build "$lane/bin/schtasks-stub.exe" "$here/native/schtasks-stub.c"

# The win32 builds of native packages npm skipped on Linux, at the locked versions,
# unpacked beside the Linux ones (npm ci removes them again; the tarballs stay cached).
mkdir -p "$lane/npm"
for pkg in $(node -e '
  const lock = require(process.argv[1]);
  for (const [p, v] of Object.entries(lock.packages)) {
    if (/win32-x64/.test(p) && v.version) console.log(p.replace(/^node_modules\//, "") + "@" + v.version);
  }' "$root/package-lock.json"); do
  name="${pkg%@*}"
  dest="$root/node_modules/$name"
  [ -f "$dest/package.json" ] && continue
  tarball="$lane/npm/$(echo "$pkg" | tr '/@' '__').tgz"
  if [ ! -f "$tarball" ]; then
    say "fetching $pkg"
    (cd "$lane/npm" && npm pack "$pkg" --silent >/dev/null && mv "$(ls -t *.tgz | head -1)" "$tarball")
  fi
  mkdir -p "$dest"
  tar -xzf "$tarball" -C "$dest" --strip-components=1
done

# A warm wineserver makes every later Windows process start in ~0.5 s instead of 3-5 s.
wine cmd /c exit 0 >/dev/null 2>&1 || true
say "ready in $(( $(date +%s) - t0 )) s: $node_exe ($(du -sh "$lane" 2>/dev/null | cut -f1) cached)"
echo "$node_exe"
