/**
 * Stopping a script together with every process it started.
 *
 * POSIX: the script is spawned `detached: true`, which makes it the leader of a new
 * process group; its children (and theirs) stay in that group unless they leave on
 * purpose, so one `kill(-pgid, signal)` reaches the whole tree, even after the script
 * itself has died and its children were re-parented. This is dependable where walking
 * `ps --ppid` (what tree-kill does on Linux) races with exiting and re-parented processes.
 *
 * Windows: there are no signals to send. `taskkill /pid N /T /F` (via tree-kill) walks
 * the parent-pid links and calls TerminateProcess on each: always forceful, no OnExit
 * runs, exit code 1. The graceful stop is the `exit` command on the script's stdin; this
 * is the fallback after the grace period. /T finds children only through a living parent,
 * so kill the tree while the script still runs.
 */

/** What killTree uses to reach processes; tests pass stubs. */
export interface KillDeps {
  platform: NodeJS.Platform;
  /** Signal the process group whose id is `pid`: `process.kill(-pid, signal)`. */
  killProcessGroup(pid: number, signal: NodeJS.Signals): void;
  /** The tree-kill package: `taskkill /pid N /T /F` on Windows. */
  treeKill(pid: number, signal: string, cb: (err?: Error) => void): void;
  /** Kill one process: `process.kill(pid)`, TerminateProcess on Windows. */
  killProcess(pid: number, signal: NodeJS.Signals): void;
}

/**
 * taskkill could not stop the tree (access denied; Wine refuses `/T`). The process
 * itself was terminated when `rootKilled` says so, so a stop still ends, but processes
 * it started may survive.
 */
export class TreeKillError extends Error {
  constructor(
    message: string,
    readonly rootKilled: boolean,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = 'TreeKillError';
  }
}

/**
 * A `treeKill` that loads its implementation on its first call: tree-kill is used only
 * when Windows stops a tree, and loaded up front this CommonJS package cost every `bridge
 * run` memory (serial-tasks.ts says how much). A load that fails fails that call, like a
 * failed taskkill, and the next call tries again.
 */
export function loadedOnFirstCall(load: () => Promise<KillDeps['treeKill']>): KillDeps['treeKill'] {
  let loaded: Promise<KillDeps['treeKill']> | null = null;
  return (pid, signal, cb) => {
    const loading = (loaded ??= load());
    loading.then(
      (treeKill) => treeKill(pid, signal, cb),
      (err: unknown) => {
        if (loaded === loading) loaded = null;
        cb(new Error(`could not load tree-kill: ${err instanceof Error ? err.message : String(err)}`, { cause: err }));
      },
    );
  };
}

/** The real ones. */
export const realKillDeps: KillDeps = {
  platform: process.platform,
  killProcessGroup: (pid, signal) => {
    process.kill(-pid, signal);
  },
  treeKill: loadedOnFirstCall(() => import('tree-kill').then((m) => m.default)),
  killProcess: (pid, signal) => {
    process.kill(pid, signal);
  },
};

/**
 * End `pid` alone (TerminateProcess on Windows), not what it started; a process already
 * gone counts as success. For processes a listing already found: `taskkill /T` walks
 * parent ids itself, and a stale one would take an unrelated process along.
 * @throws the kill's error (access denied) other than ESRCH
 */
export function terminateOnly(pid: number, deps: KillDeps = realKillDeps): void {
  if (!Number.isInteger(pid) || pid <= 1) throw new RangeError(`terminateOnly: refusing to kill pid ${pid}`);
  try {
    deps.killProcess(pid, 'SIGKILL');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ESRCH') throw err;
  }
}

/** taskkill's exit code for "process not found": already gone, which is what we wanted. */
const TASKKILL_NOT_FOUND = 128;

/**
 * Send `signal` to `pid` and all its descendants. Resolves once the signal was delivered
 * (POSIX) or taskkill has finished (Windows); a tree that is already gone counts as
 * success. Wait for the child's `exit` event to know it has ended.
 *
 * On POSIX the process must have been spawned with {@link spawnOptionsForTree}, so that
 * `pid` is also its process group id.
 * @throws RangeError (as a rejection) for a pid that is not an integer above 1: `-0` and
 *   `-1` would signal our own group or every process we may signal.
 */
export function killTree(pid: number, signal: NodeJS.Signals, deps: KillDeps = realKillDeps): Promise<void> {
  if (!Number.isInteger(pid) || pid <= 1) return Promise.reject(new RangeError(`killTree: refusing to kill pid ${pid}`));
  if (deps.platform === 'win32') {
    return new Promise((resolve, reject) => {
      // `signal` is ignored by taskkill /F: Windows has no graceful equivalent.
      deps.treeKill(pid, signal, (err) => {
        if (!err || (err as Error & { code?: unknown }).code === TASKKILL_NOT_FOUND) {
          resolve();
          return;
        }
        // A stop must always end: terminate the process itself, and say what may survive.
        try {
          deps.killProcess(pid, 'SIGKILL');
          reject(new TreeKillError(`taskkill /T failed (${err.message.trim()}); terminated pid ${pid} itself, processes it started may survive`, true, { cause: err }));
        } catch (killErr) {
          if ((killErr as NodeJS.ErrnoException).code === 'ESRCH') resolve();
          else reject(new TreeKillError(`taskkill /T failed (${err.message.trim()}) and pid ${pid} could not be terminated: ${(killErr as Error).message}`, false, { cause: err }));
        }
      });
    });
  }
  try {
    deps.killProcessGroup(pid, signal);
    return Promise.resolve();
  } catch (err) {
    // ESRCH: no process left in the group.
    if ((err as NodeJS.ErrnoException).code === 'ESRCH') return Promise.resolve();
    return Promise.reject(err as Error);
  }
}

/**
 * Spawn options that make {@link killTree} work. POSIX: `detached` puts the script in its
 * own process group (side effect: a terminal's Ctrl+C no longer reaches it, so the
 * bridge must stop it; Bridge.ahk scripts also end on stdin EOF when the bridge dies).
 * Windows: not detached, so the script stays in Node's job object and dies with Node,
 * and no console window is created (`windowsHide`).
 */
export function spawnOptionsForTree(platform: NodeJS.Platform): { detached: boolean; windowsHide: boolean } {
  return platform === 'win32' ? { detached: false, windowsHide: true } : { detached: true, windowsHide: true };
}
