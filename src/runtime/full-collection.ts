/**
 * V8's full garbage collection, reached at run time: the broker runs one after it dropped
 * megabytes of output (src/broker/memory-release.ts), `bridge tail` when a backlog has
 * promoted a megabyte of garbage (bridge/old-generation.ts).
 */
import v8 from 'node:v8';

/** A full garbage collection, or null where the runtime does not offer one. */
export type FullCollection = (() => void) | null;

let runtimeCollection: FullCollection | undefined;

/**
 * V8's `gc()`, exposed at run time (the same flag `node --expose-gc` sets). `node:vm` is
 * fetched on this first need rather than imported: most processes never need it, and
 * every module an idle broker or tail loads costs it memory.
 */
export function runtimeFullCollection(): FullCollection {
  if (runtimeCollection === undefined) {
    try {
      v8.setFlagsFromString('--expose-gc');
      const gc: unknown = process.getBuiltinModule('node:vm').runInNewContext('gc');
      runtimeCollection = typeof gc === 'function' ? (gc as () => void) : null;
    } catch {
      runtimeCollection = null;
    }
  }
  return runtimeCollection;
}
