#!/usr/bin/env node
/**
 * The `bridge` command's entry point. It only sets how V8 sizes the heap
 * (young-generation.ts) and when it optimizes (deferred-optimization.ts), then loads the
 * program (program.ts, or plain-entry.ts for `bridge broker`, `bridge tail` and `bridge run`):
 * imported statically, the program's modules would all be parsed before these settings
 * ran.
 */
import { deferOptimization } from './deferred-optimization.js';
import { holdYoungGeneration } from './young-generation.js';

holdYoungGeneration();
deferOptimization();
// Not a top-level await: bridge.exe runs this as CommonJS (tools/package-win.mjs).
// `bridge broker`, `bridge tail` and `bridge run` are read without commander when they
// can be (plain-entry.ts).
const run =
  process.argv[2] === 'broker' || process.argv[2] === 'tail' || process.argv[2] === 'run'
    ? import('./plain-entry.js').then((entry) => entry.runPlainCommand(process.argv))
    : import('./program.js').then((program) => program.runProgram(process.argv));
run.catch((err: unknown) => {
  process.stderr.write(`bridge: could not start: ${(err as Error).stack ?? String(err)}\n`);
  process.exitCode = 1;
});
