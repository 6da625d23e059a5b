/**
 * Coalesces socket writes: every connection that got frames while one socket read was
 * handled, or during one event-loop turn otherwise, is flushed once, with a single
 * `socket.write`. Each write costs about 2 µs of CPU, so one write per frame caps a Node
 * broker at a fraction of what batching allows (docs/performance.md).
 *
 * A read's frames are flushed when its handling returns (`hold`/`release`), not from a
 * `process.nextTick`: that came to the same moment, Node runs the tick queue right after
 * the read's callback, but cost a tick object per read, which was a fifteenth of what a
 * request and its reply allocate.
 */
export interface Flushable {
  /** Set by the scheduler while the flushable is in the current batch. */
  flushPending: boolean;
  flush(): void;
}

export class FlushScheduler {
  private dirty: Flushable[] = [];
  /** The batch being flushed: the two arrays take turns, instead of a new one per turn. */
  private flushing: Flushable[] = [];
  private scheduled = false;
  /** Reads being handled: their marks are flushed by the last {@link release}. */
  private holds = 0;
  private readonly run = (): void => this.flushAll();

  /** Flush `target` when the read being handled is done, or else at the end of the current turn. */
  mark(target: Flushable): void {
    if (target.flushPending) return;
    target.flushPending = true;
    this.dirty.push(target);
    if (!this.scheduled && this.holds === 0) {
      this.scheduled = true;
      process.nextTick(this.run);
    }
  }

  /** A socket's read is being handled: what it marks waits for {@link release}. */
  hold(): void {
    this.holds++;
  }

  /** The read is handled: flush what was marked, unless another hold is still open. */
  release(): void {
    if (--this.holds === 0 && this.dirty.length > 0) this.flushAll();
  }

  /** Flush every marked target now. */
  flushAll(): void {
    this.scheduled = false;
    const batch = this.dirty;
    this.dirty = this.flushing;
    this.flushing = batch;
    let i = 0;
    try {
      for (; i < batch.length; i++) {
        const target = batch[i]!;
        target.flushPending = false;
        target.flush();
      }
    } finally {
      // A flush that threw leaves the rest of the batch for the next turn, not stranded.
      for (let rest = i + 1; rest < batch.length; rest++) {
        batch[rest]!.flushPending = false;
        this.mark(batch[rest]!);
      }
      batch.length = 0;
    }
  }
}
