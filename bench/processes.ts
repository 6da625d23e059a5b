/**
 * The processes this bench started (broker, workers, peer comparison), by PID, so that an
 * interrupted or crashing run can stop exactly those and nothing else.
 */
import type { ChildProcess } from 'node:child_process';

/** pid -> whether it leads its own process group (then the whole group is signalled). */
const started = new Map<number, boolean>();

/** Remember `child` until it exits. */
export function track(child: ChildProcess, groupLeader = false): void {
  const pid = child.pid;
  if (pid === undefined) return;
  started.set(pid, groupLeader);
  child.once('exit', () => started.delete(pid));
}

/** Signal one process we started (its group if it leads one); false if it is gone. */
export function signal(pid: number, sig: NodeJS.Signals): boolean {
  if (!started.has(pid)) return false;
  try {
    process.kill(started.get(pid) ? -pid : pid, sig);
    return true;
  } catch {
    return false;
  }
}

/** SIGKILL everything still running that we started. Synchronous: usable in an 'exit' handler. */
export function killAllStarted(): void {
  for (const pid of [...started.keys()]) signal(pid, 'SIGKILL');
}

/** Wait for `child` to exit, up to `ms`; true if it did. */
export function waitExit(child: ChildProcess, ms: number): Promise<boolean> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve(true);
  return new Promise((resolve) => {
    const timer = setTimeout(() => resolve(false), ms);
    child.once('exit', () => {
      clearTimeout(timer);
      resolve(true);
    });
  });
}

/** Ask `child` to stop with SIGTERM, then SIGKILL after `graceMs`. */
export async function terminate(child: ChildProcess, graceMs: number): Promise<void> {
  if (child.pid === undefined || (await waitExit(child, 0))) return;
  signal(child.pid, 'SIGTERM');
  if (await waitExit(child, graceMs)) return;
  signal(child.pid, 'SIGKILL');
  await waitExit(child, 2000);
}
