/**
 * Windows: the processes already running just before a script starts. None of them can be
 * a child of the script, yet one may name the script's pid as its parent's: Windows keeps
 * a dead parent's id, and reuses ids. Where the process listing has creation times this
 * list is not needed (a child is never older than its parent); where it has none (Wine)
 * it is what keeps a stop from killing such an unrelated process (windows-descendants.ts).
 */
import type { ProcessRow } from './windows-descendants.js';
import { listWindowsProcesses, type WindowsLister } from './windows-process-list.js';

/** After a listing failed, how long starts go without one (each try may cost seconds). */
export const BASELINE_RETRY_MS = 60_000;

/**
 * What a script start should remember, listed before it spawns: undefined when nothing is
 * needed (not Windows, or a listing with creation times), else the rows; rejects when the
 * listing failed, and for {@link BASELINE_RETRY_MS} after that without trying again.
 * Starts at the same moment (`bridge up` starting every script) share one listing. A
 * listing misses what starts between its snapshot and the spawn; that matters only if
 * such a process names a parent that exited and whose pid the script is then given, all
 * within that second.
 */
export function baselineTaker(lister: WindowsLister, platform: NodeJS.Platform, now: () => number = Date.now): () => Promise<readonly ProcessRow[] | undefined> {
  let inFlight: Promise<ProcessRow[]> | null = null;
  let failed: { at: number; error: unknown } | null = null;
  return async () => {
    if (platform !== 'win32' || lister.dated()) return undefined;
    if (failed && now() - failed.at < BASELINE_RETRY_MS) throw failed.error;
    inFlight ??= lister().then(
      (rows) => {
        inFlight = null;
        failed = null;
        return rows;
      },
      (error: unknown) => {
        inFlight = null;
        failed = { at: now(), error };
        throw error;
      },
    );
    return inFlight;
  };
}

/** The bridge's own: the real Windows lister on Windows, nothing elsewhere. */
export const processesBeforeSpawn = baselineTaker(listWindowsProcesses, process.platform);
