/**
 * Keeps V8's old generation near what is alive in it while `bridge tail` reads a backlog.
 *
 * A line's objects that outlive two scavenges (those of the batches in flight, their
 * answers) are promoted to the old generation, and most are garbage soon after. V8
 * collects that generation when it reaches a limit sized for heaps of hundreds of
 * megabytes, so a tail's old space only grew over a backlog: about 2.5 MB over 200,000
 * lines, most of it dead. One full collection each time the old space has grown by a
 * megabyte since the lowest reading after the last one takes that back: two or three
 * over such a backlog, 6-8 ms each; the tail then peaked at 59.0-60.0 MB instead of
 * 60.1-60.7 (docs/performance-history.md, "Tail RSS"). An idle tail reads nothing and collects
 * nothing; a live set that really grows costs one collection per megabyte of growth.
 */
import v8 from 'node:v8';
import { runtimeFullCollection, type FullCollection } from '../src/runtime/full-collection.js';

/** Old-space growth, in bytes, that makes a full collection worth its pause. */
export const PROMOTED_GARBAGE_STEP_BYTES = 1024 * 1024;

/** The bytes in use in V8's old space. */
function oldSpaceUsed(): number {
  for (const space of v8.getHeapSpaceStatistics()) if (space.space_name === 'old_space') return space.space_used_size;
  return 0;
}

/** Runs a full collection when the old space has grown by a step; see the module's comment. */
export class PromotedGarbageCollector {
  private lowest: number;
  private collections = 0;

  /**
   * @param collect the full collection (V8's `gc()`, exposed at run time; null where unavailable)
   * @param used the old space's bytes in use now
   * @param stepBytes the growth since the lowest reading that triggers a collection
   */
  constructor(
    private readonly collect: () => FullCollection = runtimeFullCollection,
    private readonly used: () => number = oldSpaceUsed,
    private readonly stepBytes = PROMOTED_GARBAGE_STEP_BYTES,
  ) {
    this.lowest = used();
  }

  /** Full collections run so far. */
  get count(): number {
    return this.collections;
  }

  /**
   * Lines were published (a batch was answered): collect if the old space grew by a step.
   * @returns the old space's bytes in use before and after, when it collected
   */
  afterBatch(): { before: number; after: number } | null {
    const before = this.used();
    if (before < this.lowest) this.lowest = before;
    if (before < this.lowest + this.stepBytes) return null;
    const gc = this.collect();
    if (!gc) return null;
    gc();
    this.collections += 1;
    this.lowest = this.used();
    return { before, after: this.lowest };
  }
}
