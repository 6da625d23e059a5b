/**
 * Coalesces socket writes: every connection that got frames during one event-loop turn
 * is flushed once, at the end of the turn, with a single `socket.write`. Each write costs
 * about 2 µs of CPU, so one write per frame caps a Node broker at a fraction of what
 * batching allows (docs/performance.md).
 */
export interface Flushable {
  /** Set by the scheduler while the flushable is in the current batch. */
  flushPending: boolean;
  flush(): void;
}

export class FlushScheduler {
  private dirty: Flushable[] = [];
  private scheduled = false;
  private readonly run = (): void => this.flushAll();

  /** Flush `target` at the end of the current turn. */
  mark(target: Flushable): void {
    if (target.flushPending) return;
    target.flushPending = true;
    this.dirty.push(target);
    if (!this.scheduled) {
      this.scheduled = true;
      process.nextTick(this.run);
    }
  }

  private flushAll(): void {
    this.scheduled = false;
    const batch = this.dirty;
    this.dirty = [];
    for (const target of batch) {
      target.flushPending = false;
      target.flush();
    }
  }
}
