/**
 * Requests waiting for their reply, by correlation key, each with its own timeout.
 *
 * The one implementation behind the client's pending calls, the broker's pending
 * requests and the bridge's pending script commands: every entry is settled exactly
 * once (reply, timeout, or failure), and its timer goes with it.
 */
import { systemClock, type Clock, type ClockTimer } from './clock.js';

/** How an entry is settled: a promise's functions, or a caller's own (see `openSettling`). */
export interface Settle {
  resolve(value: unknown): void;
  reject(error: Error): void;
}

interface Entry<M> {
  readonly meta: M;
  readonly settle: Settle;
  timer: ClockTimer | undefined;
}

export interface PendingRepliesOptions<M> {
  /** Time source for the timeouts (tests pass a manual one). */
  clock?: Clock;
  /** Whether timers keep the process alive (default true: a caller is waiting on them). */
  refTimers?: boolean;
  /** The error a timed-out entry is rejected with. */
  timeoutError(meta: M, timeoutMs: number): Error;
}

export class PendingReplies<K, M> {
  private readonly entries = new Map<K, Entry<M>>();
  private readonly clock: Clock;

  constructor(private readonly opts: PendingRepliesOptions<M>) {
    this.clock = opts.clock ?? systemClock;
  }

  /** Entries still waiting. */
  get size(): number {
    return this.entries.size;
  }

  /** The metadata of a waiting entry. */
  meta(key: K): M | undefined {
    return this.entries.get(key)?.meta;
  }

  /**
   * Wait for the reply to `key`.
   * @param timeoutMs reject with the timeout error after this long; 0 waits forever
   * @throws RangeError when `key` is already waiting (a caller bug: keys are never reused)
   */
  open(key: K, meta: M, timeoutMs: number): Promise<unknown> {
    let settle!: Settle; // the executor runs at once
    const reply = new Promise<unknown>((resolve, reject) => (settle = { resolve, reject }));
    // Outside the executor, so a taken key throws here rather than rejecting the promise.
    this.openSettling(key, meta, timeoutMs, settle);
    return reply;
  }

  /**
   * Like `open`, but `settle` is called in the same turn as `resolve`/`reject`/the timeout,
   * with no promise in between: a broker answers a requester in the turn the reply
   * arrives, ahead of what else that turn writes.
   * @throws RangeError when `key` is already waiting
   */
  openSettling(key: K, meta: M, timeoutMs: number, settle: Settle): void {
    if (this.entries.has(key)) throw new RangeError(`a reply for ${String(key)} is already awaited`);
    const entry: Entry<M> = { meta, settle, timer: undefined };
    if (timeoutMs > 0) {
      entry.timer = this.clock.setTimeout(() => {
        if (this.entries.get(key) !== entry) return;
        this.entries.delete(key);
        entry.settle.reject(this.opts.timeoutError(meta, timeoutMs));
      }, timeoutMs);
      if (this.opts.refTimers === false) entry.timer.unref();
    }
    this.entries.set(key, entry);
  }

  /** Settle `key` with a value. False when nothing waits for it (timed out, or not ours). */
  resolve(key: K, value: unknown): boolean {
    const entry = this.take(key);
    entry?.settle.resolve(value);
    return entry !== undefined;
  }

  /** Settle `key` with an error. False when nothing waits for it. */
  reject(key: K, error: Error): boolean {
    const entry = this.take(key);
    entry?.settle.reject(error);
    return entry !== undefined;
  }

  /** Reject every entry whose metadata matches (all when no filter); returns how many. */
  rejectWhere(makeError: (meta: M) => Error, matches: (meta: M) => boolean = () => true): number {
    let count = 0;
    for (const [key, entry] of [...this.entries]) {
      if (!matches(entry.meta)) continue;
      this.take(key);
      entry.settle.reject(makeError(entry.meta));
      count++;
    }
    return count;
  }

  private take(key: K): Entry<M> | undefined {
    const entry = this.entries.get(key);
    if (!entry) return undefined;
    this.entries.delete(key);
    if (entry.timer) this.clock.clearTimeout(entry.timer);
    return entry;
  }
}
