/**
 * Preload (`node --import <this file's URL>`) that writes, when the process exits, the
 * largest size V8's young generation (its `new_space`) reached, in bytes, into the file
 * named by the HEAP_RECORD environment variable. Sampled often while the process runs,
 * since V8 may shrink the space again after a quiet spell. Used by
 * cli-young-generation.test.ts; the exit must be a clean one.
 */
import { writeFileSync } from 'node:fs';
import v8 from 'node:v8';

const file = process.env.HEAP_RECORD;
if (!file) throw new Error('heap-recorder.mjs: set HEAP_RECORD to the file to record into');

let largest = 0;
const sample = () => {
  const space = v8.getHeapSpaceStatistics().find((s) => s.space_name === 'new_space');
  if (space && space.space_size > largest) largest = space.space_size;
};
setInterval(sample, 10).unref();
process.on('exit', () => {
  sample();
  writeFileSync(file, JSON.stringify({ newSpaceBytes: largest }));
});
