/**
 * Gives memory back after the broker threw away a large amount of output, such as the
 * answers owed to a client that never read them.
 *
 * Those answers were allocated over seconds, so V8 promoted their Buffers to the old
 * generation, and their bytes live outside its heap, where they do not count toward the
 * next collection. An idle broker then holds them until some unrelated major collection,
 * minutes later (measured: 55 MB of dead Buffers still held after 7 s idle). One full
 * collection, at most every few seconds and only after megabytes were dropped, releases
 * them at a cost of a few milliseconds.
 */
import type { Logger } from '../log/logger.js';
import { runtimeFullCollection, type FullCollection } from '../runtime/full-collection.js';

/** Discarded bytes that make a collection worth its pause. */
const MIN_BYTES = 4 * 1024 * 1024;
/** Collections are at least this far apart, whatever an attacker does. */
const MIN_INTERVAL_MS = 5000;

export class MemoryReleaser {
  private pendingBytes = 0;
  private lastRun = -Infinity;
  private timer: NodeJS.Timeout | null = null;

  constructor(
    private readonly log: Logger,
    private readonly collect: () => FullCollection = runtimeFullCollection,
    private readonly now: () => number = Date.now,
  ) {}

  /** `bytes` of output were dropped; collect soon if enough has piled up. */
  discarded(bytes: number): void {
    this.pendingBytes += bytes;
    if (this.pendingBytes < MIN_BYTES || this.timer) return;
    const wait = Math.max(0, this.lastRun + MIN_INTERVAL_MS - this.now());
    // Later, not now: the caller is in the middle of closing a connection, and the
    // dropped Buffers are only unreachable once that is done.
    this.timer = setTimeout(() => this.run(), wait);
    this.timer.unref();
  }

  private run(): void {
    this.timer = null;
    const gc = this.collect();
    if (!gc) return;
    const bytes = this.pendingBytes;
    this.pendingBytes = 0;
    this.lastRun = this.now();
    gc();
    this.log.debug('collected garbage after dropping unsent output', { bytes, ms: this.now() - this.lastRun });
  }

  /** Cancel a pending collection (broker stopped). */
  stop(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
  }
}
