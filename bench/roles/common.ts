/** What every worker role shares: talking to the orchestrator and reading its own CPU time. */
import type { Command, WorkerEvent } from '../ipc.js';

/** Send an event to the orchestrator (no-op when the channel is gone: we are exiting). */
export function emit(ev: WorkerEvent): void {
  if (process.connected) process.send?.(ev);
}

/** Report a failure to the orchestrator, which stops the run and prints it. */
export function reportFailure(err: unknown): void {
  emit({ ev: 'error', message: err instanceof Error ? err.message : String(err) });
}

/** CPU milliseconds used by this process so far. */
export function cpuMs(): number {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1000;
}

/** A started role: takes commands until `close()`. */
export interface Role {
  onCommand(cmd: Command): void;
  close(): void;
}
