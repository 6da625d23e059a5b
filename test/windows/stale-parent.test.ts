/**
 * Windows lane only: a stop never kills a process that merely names the script's pid as
 * its parent's. Windows keeps a dead parent's id and reuses ids: under Wine, services.exe
 * names a starter that exited long ago; on Windows, Explorer names userinit.exe. When a
 * script is given such an id, those processes look like its children. The stand-in
 * interpreter (interp-stub.exe) starts a real child; a bystander process, started by the
 * test, is shown to the script with that parent id (the listing seam of ScriptProcess),
 * which Wine cannot be made to do on demand.
 */
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { ScriptProcess } from '../../bridge/supervisor/script-process.js';
import type { ProcessRow } from '../../bridge/supervisor/windows-descendants.js';
import { listWindowsProcesses } from '../../bridge/supervisor/windows-process-list.js';
import { Logger } from '../../src/log/logger.js';
import { isGone, waitGone } from '../helpers/processes.js';

const BIN = process.env.WINDOWS_LANE_BIN;
const STUB = BIN ? path.join(BIN, 'interp-stub.exe') : '';
const HAVE_STUB = process.platform === 'win32' && STUB !== '' && existsSync(STUB);
// The bystander's faked row has no creation time, as every row under Wine; where the
// listing has them (Windows), the time rule alone keeps it, which the unit tests cover.
const UNDATED = HAVE_STUB && (await listWindowsProcesses().then(() => !listWindowsProcesses.dated()));
const SCRIPT = fileURLToPath(new URL('../../fixtures/scripts/hello.ahk', import.meta.url));

const leftovers: number[] = [];
afterEach(() => {
  for (const pid of leftovers.splice(0)) {
    try {
      process.kill(pid);
    } catch {
      // Already gone, which is what the test wanted for most of them.
    }
  }
});

/** A process of the test's own that sleeps: the bystander. */
function bystander(): number {
  const child = spawn(STUB, ['--sleeper'], { stdio: 'ignore', windowsHide: true });
  leftovers.push(child.pid!);
  return child.pid!;
}

/**
 * Starts the stub with a child, under a listing that shows `other` as a child of the
 * script too; `before` is what the bridge listed before the spawn (the bystander was
 * running then), or null when that listing failed. Stops it and returns the pids.
 */
async function stopWithBystander(before: 'listed' | 'empty' | null): Promise<{ child: number; other: number; debug: string[] }> {
  const other = bystander();
  const debug: string[] = [];
  const log = new Logger({ level: 'debug', format: 'json', component: 'bridge', sink: { write: (l) => debug.push(l) } });
  let scriptPid = -1;
  const existedBefore: ProcessRow[] = [];
  const proc = new ScriptProcess({
    file: STUB,
    args: [SCRIPT, '--child'],
    encoding: 'utf-8',
    log,
    existedBefore: before === null ? null : existedBefore,
    listProcesses: async () => (await listWindowsProcesses()).map((r) => (r.pid === other ? { pid: other, ppid: scriptPid } : r)),
  });
  scriptPid = proc.pid!;
  if (before === 'listed') existedBefore.push({ pid: other, ppid: scriptPid });
  const child = await new Promise<number>((resolve) => {
    proc.on('stdout', (line) => {
      const m = /^@pub child \{"pid":(\d+)\}/.exec(line.text);
      if (m) resolve(Number(m[1]));
    });
  });
  leftovers.push(child);
  const exit = await proc.stop(5_000);
  expect(exit.forced).toBe(false);
  return { child, other, debug };
}

describe.runIf(UNDATED)('a stop and a process that names the script as its parent', () => {
  it('stops the child the script started, and not a process that was running before the script', async () => {
    const { child, other } = await stopWithBystander('listed');
    expect(await waitGone(child, 15_000)).toBe(true);
    // A kill by pid does not wait for the end: give it time to show.
    expect(await waitGone(other, 3_000)).toBe(false);
  });

  it('without that listing the same parent link is followed: what the listing prevents', async () => {
    const { child, other, debug } = await stopWithBystander('empty');
    expect(await waitGone(child, 15_000), debug.join('')).toBe(true);
    expect(await waitGone(other, 15_000), debug.join('')).toBe(true);
  });

  it('when the earlier listing failed and there are no creation times, nothing is stopped', async () => {
    const { child, other, debug } = await stopWithBystander(null);
    expect(debug.some((l) => l.includes('cannot tell the processes a script started from older ones'))).toBe(true);
    expect(await waitGone(child, 3_000)).toBe(false);
    expect(isGone(other)).toBe(false);
  });
});
