/**
 * Windows: the processes already running just before a script starts. None of them can be
 * a child of the script, yet one may name the script's pid as its parent's: Windows keeps
 * a dead parent's id, and reuses ids. Where the process listing has creation times this
 * list is not needed (a child is never older than its parent); where it has none (Wine)
 * it is what keeps a stop from killing such an unrelated process (windows-descendants.ts).
 */
import type { ProcessRow } from './windows-descendants.js';
import { listWindowsProcesses, type WindowsLister } from './windows-process-list.js';

/**
 * What a script start should remember, listed before it spawns: undefined when nothing is
 * needed (not Windows, or a listing with creation times), else the rows. Starts at the same
 * moment (`bridge up` starting every script) share one listing: any listing that ends
 * before a spawn shows every process that is older than the script.
 */
export function baselineTaker(lister: WindowsLister, platform: NodeJS.Platform): () => Promise<readonly ProcessRow[] | undefined> {
  let inFlight: Promise<ProcessRow[]> | null = null;
  return async () => {
    if (platform !== 'win32' || lister.dated()) return undefined;
    inFlight ??= lister().finally(() => {
      inFlight = null;
    });
    return inFlight;
  };
}

/** The bridge's own: the real Windows lister on Windows, nothing elsewhere. */
export const processesBeforeSpawn = baselineTaker(listWindowsProcesses, process.platform);
