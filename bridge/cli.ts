#!/usr/bin/env node
/**
 * The `bridge` command's entry point. It only sets how V8 sizes the heap
 * (young-generation.ts) and when it optimizes (deferred-optimization.ts), then loads the
 * program (program.ts): imported statically, the program's modules would all be parsed
 * before these settings ran.
 */
import { deferOptimization } from './deferred-optimization.js';
import { holdYoungGeneration } from './young-generation.js';

holdYoungGeneration();
deferOptimization();
// Not a top-level await: bridge.exe runs this as CommonJS (tools/package-win.mjs).
import('./program.js').catch((err: unknown) => {
  process.stderr.write(`bridge: could not start: ${(err as Error).stack ?? String(err)}\n`);
  process.exitCode = 1;
});
