/**
 * Group commit: appends wait here until the single writer takes them, in order, and
 * resolve only after their write (and fsync, by policy) finished.
 *
 * - `always`: one write and one fsync per append, one after another.
 * - `batch`: the first append of a group starts a `batchWindowMs` timer; every append
 *   until it fires shares one write and one fsync. Appends that arrive while a group is
 *   being written form the next group, which goes as soon as the writer is free (they
 *   have waited for the writer already).
 * - `never`: like batch without the timer: whatever is queued when the writer is free
 *   goes in one write, and no fsync is made (the writer's business, not this queue's).
 *
 * A barrier runs a task between two appends: every append queued before it has been
 * written, none queued after it has. Compaction rotates segments and captures the state
 * in a barrier, so the snapshot holds exactly the records of the segments it replaces.
 */
import type { Clock, ClockTimer } from '../../protocol/clock.js';
import type { JournalRecord } from './records.js';

/** How appends reach the disk; see the module comment. */
export type FsyncPolicy = 'always' | 'batch' | 'never';

/** One queued append: its framed bytes, its record, and how to settle its caller. */
export interface QueuedAppend {
  kind: 'append';
  buf: Buffer;
  record: JournalRecord;
  resolve(): void;
  reject(err: unknown): void;
}

interface Barrier {
  kind: 'barrier';
  run(): Promise<void>;
}

export interface CommitQueueOptions {
  policy: FsyncPolicy;
  batchWindowMs: number;
  /** A group larger than this is written without waiting for its timer, and split. */
  maxBatchBytes: number;
  clock: Clock;
  /**
   * Write a group and settle every append in it. A rejection settles them all with that
   * error (a safety net: the journal settles them itself).
   */
  flush(group: QueuedAppend[]): Promise<void>;
}

export class CommitQueue {
  private readonly items: (QueuedAppend | Barrier)[] = [];
  private queuedBytes = 0;
  private running = false;
  private timer: ClockTimer | null = null;

  constructor(private readonly opts: CommitQueueOptions) {}

  /** Appends waiting for the writer (not counting a group being written). */
  get waiting(): number {
    return this.items.length;
  }

  /** Queue framed bytes; resolves once they are durable under the policy. */
  push(buf: Buffer, record: JournalRecord): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      this.items.push({ kind: 'append', buf, record, resolve, reject });
      this.queuedBytes += buf.length;
      this.schedule(this.queuedBytes >= this.opts.maxBatchBytes);
    });
  }

  /**
   * Run `task` after every earlier append was written and before any later one. Pending
   * appends are written at once rather than at the end of their batch window.
   */
  barrier<T>(task: () => Promise<T>): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      this.items.push({ kind: 'barrier', run: () => task().then(resolve, reject) });
      this.schedule(true);
    });
  }

  private schedule(now: boolean): void {
    if (this.running) return; // the loop takes everything queued before it stops
    if (!now && this.opts.policy === 'batch' && this.opts.batchWindowMs > 0) {
      this.timer ??= this.opts.clock.setTimeout(() => {
        this.timer = null;
        this.start();
      }, this.opts.batchWindowMs);
      return;
    }
    this.start();
  }

  private start(): void {
    if (this.timer) this.opts.clock.clearTimeout(this.timer);
    this.timer = null;
    if (this.running) return;
    this.running = true;
    // Start on a microtask: appends made in the same synchronous burst join the group.
    queueMicrotask(() => {
      this.loop().catch((err: unknown) => {
        // loop() settles every item itself; reaching here is a bug, and it must be loud.
        queueMicrotask(() => {
          throw err;
        });
      });
    });
  }

  private async loop(): Promise<void> {
    try {
      while (this.items.length > 0) {
        const head = this.items[0]!;
        if (head.kind === 'barrier') {
          this.items.shift();
          await head.run();
          continue;
        }
        const group = this.takeGroup();
        await this.opts.flush(group).catch((err: unknown) => {
          for (const a of group) a.reject(err);
        });
      }
    } finally {
      this.running = false;
    }
  }

  /** The appends at the head of the queue that go in one write. */
  private takeGroup(): QueuedAppend[] {
    const group: QueuedAppend[] = [];
    let bytes = 0;
    while (this.items.length > 0) {
      const head = this.items[0]!;
      if (head.kind !== 'append') break;
      if (group.length > 0 && (this.opts.policy === 'always' || bytes + head.buf.length > this.opts.maxBatchBytes)) break;
      this.items.shift();
      group.push(head);
      bytes += head.buf.length;
    }
    this.queuedBytes -= bytes;
    return group;
  }
}
