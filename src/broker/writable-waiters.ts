/**
 * Senders waiting for a connection's outbound queue to take frames straight to the socket
 * again (OutboundQueue.whenWritable): a reconnect's catch-up, which gives its messages
 * only as fast as the client reads them.
 */
export class WritableWaiters {
  private waiting: (() => void)[] = [];
  private scheduled = false;

  /** Wait for the next {@link wakeIf} that finds the queue writable. */
  add(resume: () => void): void {
    this.waiting.push(resume);
  }

  /**
   * Resume the waiting senders, in a later turn, if `writable()` holds then as now. A
   * later turn, not inside the flush that made room: the reads waiting meanwhile (acks
   * among them) are handled first, and the flush scheduler is not re-entered.
   */
  wakeIf(writable: () => boolean): void {
    if (this.waiting.length === 0 || this.scheduled || !writable()) return;
    this.scheduled = true;
    setImmediate(() => {
      this.scheduled = false;
      if (!writable()) return;
      const waiting = this.waiting;
      this.waiting = [];
      for (const resume of waiting) resume();
    });
  }

  /** Forget the waiting senders (the connection is cut off). */
  clear(): void {
    this.waiting = [];
  }
}
