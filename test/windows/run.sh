#!/usr/bin/env bash
# npm run test:windows: the Windows lane. Sets up Wine and Node for Windows (cached), then
# runs vitest under Windows node with vitest.windows.config.ts. Windows node crashes on a
# Unix pipe as stdio, so its output goes to a file that is followed here.
set -uo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/../.." && pwd)"
cd "$root"
node_exe="$("$here/setup.sh")" || exit 1
lane="$(dirname "$(dirname "$node_exe")")"
export WINEPREFIX="$lane/prefix" WINEARCH=win64 WINEDEBUG=-all
export WINDOWS_LANE_BIN="$lane/bin"
log="$(mktemp)"
start=$(date +%s)
wine "$node_exe" node_modules/vitest/vitest.mjs run --config vitest.windows.config.ts "$@" >"$log" 2>&1 </dev/null &
pid=$!
tail -n +1 --pid="$pid" -f "$log"
wait "$pid"
rc=$?
echo "windows-lane: vitest under Windows node exited $rc after $(( $(date +%s) - start )) s"
rm -f "$log"
# bridge.exe: built here, then driven from Linux through the same Wine (test/package/).
# Only for the whole lane, not when the lane is given one file.
if [ $# -eq 0 ]; then
  start=$(date +%s)
  npm run --silent package:win && npx vitest run --config vitest.package.config.ts
  exe_rc=$?
  echo "windows-lane: bridge.exe tests exited $exe_rc after $(( $(date +%s) - start )) s"
  [ "$rc" -eq 0 ] && rc=$exe_rc
fi
exit "$rc"
