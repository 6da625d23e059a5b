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
# vitest under Windows node, its output followed here; the exit code is vitest's.
lane_vitest() {
  wine "$node_exe" node_modules/vitest/vitest.mjs run --config vitest.windows.config.ts "$@" >"$log" 2>&1 </dev/null &
  local pid=$!
  tail -n +1 --pid="$pid" -f "$log"
  wait "$pid"
}
lane_vitest "$@"
rc=$?
echo "windows-lane: vitest under Windows node exited $rc after $(( $(date +%s) - start )) s"
# Wine now and then fails to create a worker's process (spawn UNKNOWN): vitest never runs
# that file and exits 1 with everything else passed. Such files, and only when nothing else
# failed, are run once more; a file that started and failed is not.
if [ "$rc" -ne 0 ] && unstarted="$(node "$here/unstarted-files.mjs" "$log" "$root")"; then
  mapfile -t again <<<"$unstarted"
  echo "windows-lane: Wine did not start the worker of ${again[*]}; running it once more"
  start=$(date +%s)
  lane_vitest "${again[@]}"
  rc=$?
  echo "windows-lane: vitest under Windows node exited $rc after $(( $(date +%s) - start )) s (files not started before)"
fi
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
