/**
 * One script's start, stop and restart run one after another: a stop that arrives while
 * a start is spawning waits for the spawn to finish, then stops what it started.
 *
 * A dozen lines in place of p-queue, whose eventemitter3 was, with tree-kill (now loaded
 * on demand: kill-tree.ts), all the CommonJS a `bridge run` loaded on Linux and macOS:
 * one process per script, 0.6 MB smaller without the two.
 */

/** Tasks run one at a time, in the order they were added. */
export class SerialTasks {
  /** Settles when the last task added so far has settled; null when none is running or waiting. */
  private last: Promise<void> | null = null;

  /**
   * Run `task` once every task added before it has settled (at once when there is none),
   * and settle as it does. A task that fails fails its own caller only: the next still runs.
   */
  run<T>(task: () => Promise<T>): Promise<T> {
    // At once when idle, as a caller that reads the state right after asking expects.
    const result = this.last === null ? new Promise<T>((resolve) => resolve(task())) : this.last.then(task);
    // Idle again in the first reaction to the task's end, so that a caller awaiting
    // `result` finds the queue idle. The outcome is the caller's, through `result`: the
    // chain's copy of a failure is handled here (it would otherwise be reported as
    // unhandled even though the caller handles `result`).
    const idleIfLast = (): void => {
      if (this.last === settled) this.last = null;
    };
    const settled: Promise<void> = result.then(idleIfLast, idleIfLast);
    this.last = settled;
    return result;
  }
}
