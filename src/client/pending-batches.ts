/**
 * Batches of calls awaiting their responses. A batch takes a run of consecutive ids and
 * waits with one entry, one timer and one promise for all of them, where single calls
 * would need one of each per call: a client that publishes hundreds of messages at once
 * (a queue file's backlog) spends most of its time on those otherwise.
 */
import type { Clock, ClockTimer } from '../protocol/clock.js';
import type { RpcError } from '../protocol/errors.js';

/** The response to one call of a batch. */
export type BatchAnswer = { ok: true; result: unknown } | { ok: false; error: RpcError };

interface OpenBatch {
  readonly first: number;
  readonly method: string;
  readonly answers: (BatchAnswer | undefined)[];
  left: number;
  timer: ClockTimer | undefined;
  resolve(answers: BatchAnswer[]): void;
  reject(error: Error): void;
}

/** Open batches, oldest (lowest ids) first; ids are never reused. */
export class PendingBatches {
  private readonly open: OpenBatch[] = [];

  constructor(
    private readonly clock: Clock,
    private readonly timeoutError: (method: string, timeoutMs: number) => Error,
  ) {}

  /** Batches still waiting. */
  get size(): number {
    return this.open.length;
  }

  /**
   * Wait for the responses to ids `first` .. `first + count - 1`, which must be higher
   * than those of every batch opened before. Resolves with them in id order once all
   * are in; rejects with the timeout error when any is missing after `timeoutMs` (0
   * waits forever).
   */
  wait(first: number, count: number, method: string, timeoutMs: number): Promise<BatchAnswer[]> {
    return new Promise<BatchAnswer[]>((resolve, reject) => {
      const batch: OpenBatch = { first, method, answers: new Array<BatchAnswer | undefined>(count), left: count, timer: undefined, resolve, reject };
      if (timeoutMs > 0) {
        batch.timer = this.clock.setTimeout(() => {
          if (this.remove(batch)) batch.reject(this.timeoutError(method, timeoutMs));
        }, timeoutMs);
      }
      this.open.push(batch);
    });
  }

  /**
   * Record the response to `id`. False when no open batch has that id waiting (its batch
   * timed out or failed, the id answered twice, or it is not a batch's).
   */
  answer(id: number, answer: BatchAnswer): boolean {
    // A broker's id of 5.5 would otherwise land between two calls of a batch.
    if (!Number.isInteger(id)) return false;
    const batch = this.find(id);
    if (batch === undefined || batch.answers[id - batch.first] !== undefined) return false;
    batch.answers[id - batch.first] = answer;
    if (--batch.left === 0) {
      this.remove(batch);
      batch.resolve(batch.answers as BatchAnswer[]);
    }
    return true;
  }

  /** Reject every open batch; `makeError` gets each batch's method for its message. */
  rejectAll(makeError: (method: string) => Error): void {
    for (const batch of this.open.splice(0)) {
      if (batch.timer) this.clock.clearTimeout(batch.timer);
      batch.reject(makeError(batch.method));
    }
  }

  /** The open batch holding `id`, by binary search over first ids. */
  private find(id: number): OpenBatch | undefined {
    let lo = 0;
    let hi = this.open.length - 1;
    while (lo <= hi) {
      const mid = (lo + hi) >>> 1;
      const batch = this.open[mid]!;
      if (id < batch.first) hi = mid - 1;
      else if (id >= batch.first + batch.answers.length) lo = mid + 1;
      else return batch;
    }
    return undefined;
  }

  private remove(batch: OpenBatch): boolean {
    const at = this.open.indexOf(batch);
    if (at < 0) return false;
    this.open.splice(at, 1);
    if (batch.timer) this.clock.clearTimeout(batch.timer);
    return true;
  }
}
