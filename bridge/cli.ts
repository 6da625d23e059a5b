#!/usr/bin/env node
/**
 * The `bridge` command's entry point. It only sets how V8 sizes the heap
 * (young-generation.ts), then loads the program (program.ts): imported statically, the
 * program's modules would all be parsed before this setting ran.
 */
import { holdYoungGeneration } from './young-generation.js';

holdYoungGeneration();
// Not a top-level await: bridge.exe runs this as CommonJS (tools/package-win.mjs).
import('./program.js').catch((err: unknown) => {
  process.stderr.write(`bridge: could not start: ${(err as Error).stack ?? String(err)}\n`);
  process.exitCode = 1;
});
