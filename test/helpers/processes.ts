import { readFileSync } from 'node:fs';

/**
 * True when `pid` has ended. A zombie counts as ended: PID 1 in this sandbox does not
 * reap orphans, so `kill(pid, 0)` alone still succeeds on dead processes.
 */
export function isGone(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ESRCH') return true;
    throw err;
  }
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2).startsWith('Z');
  } catch {
    return process.platform === 'linux'; // no /proc entry on Linux: gone; elsewhere kill(0) said alive
  }
}

/** The OS gives no event for another process's death: poll, bounded. Resolves to isGone(pid). */
export async function waitGone(pid: number, timeoutMs = 5000): Promise<boolean> {
  const until = Date.now() + timeoutMs;
  while (!isGone(pid) && Date.now() < until) await new Promise((r) => setTimeout(r, 20));
  return isGone(pid);
}

/** Like waitGone, but fails naming the pid when the process is still there. */
export async function assertGone(pid: number, timeoutMs = 5000): Promise<void> {
  if (!(await waitGone(pid, timeoutMs))) throw new Error(`process ${pid} still alive after ${timeoutMs} ms`);
}

/**
 * Space actions out in time (appends 10 ms apart, as a slow writer makes them). Never
 * used to wait for an outcome: tests wait on events.
 */
export const pace = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));
