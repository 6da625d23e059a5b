#!/usr/bin/env node
/**
 * The `bridge` command's entry point. It only sets how V8 sizes the heap
 * (young-generation.ts) and when it optimizes (deferred-optimization.ts), then loads
 * plain-entry.ts, which runs the command: imported statically, the program's modules
 * would all be parsed before these settings ran.
 */
import { deferOptimization } from './deferred-optimization.js';
import { holdYoungGeneration } from './young-generation.js';

holdYoungGeneration();
deferOptimization();
// Not a top-level await: bridge.exe runs this as CommonJS (tools/package-win.mjs).
// plain-entry.ts alone knows which command lines are read without commander.
const run = import('./plain-entry.js').then((entry) => entry.runPlainCommand(process.argv));
run.catch((err: unknown) => {
  process.stderr.write(`bridge: could not start: ${(err as Error).stack ?? String(err)}\n`);
  process.exitCode = 1;
});
