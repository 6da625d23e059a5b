/**
 * One script's start, stop and restart run one after another: a stop that arrives while
 * a start is spawning waits for the spawn to finish, then stops what it started.
 *
 * A dozen lines in place of p-queue, which with its own dependencies loaded a CommonJS
 * module (eventemitter3) into every `bridge run`, one process per script: without it a
 * supervising process loads no CommonJS at all on Linux and macOS, and is 0.6 MB smaller.
 */

const settle = (): void => undefined;

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
    // The outcome is the caller's, through `result`; the chain only needs to know when it
    // has settled, so its copy of a failure is handled here (it would otherwise be reported
    // as unhandled even though the caller handles `result`).
    const settled: Promise<void> = result.then(settle, settle).then(() => {
      if (this.last === settled) this.last = null;
    });
    this.last = settled;
    return result;
  }
}
