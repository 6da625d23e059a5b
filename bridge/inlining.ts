/**
 * `bridge tail` lets TurboFan inline only small functions (up to 100 bytes of bytecode
 * instead of V8's 460) into the hot functions it optimizes.
 *
 * Inlining large callees makes each optimized function's graph, and the memory TurboFan
 * compiles it in, several times larger; that memory is malloc'd on V8's worker threads
 * and stays with the process after the compile. Reading a 200,000-line backlog on Node
 * 20 (six runs each, interleaved), the tail peaked at 59.9-61.3 MB with this limit against
 * 61.1-62.3 MB with V8's, at 5.5 against 5.8 µs per line; without any inlining 60.2-60.7
 * MB but at about a tenth more CPU per line (the small helpers it calls per line, no
 * longer inlined). The flag is read at each compile, so it can be set once the process
 * runs; someone who chose an inlining flag themselves (on the command line, `node
 * --max-inlined-bytecode-size=...`) keeps their choice.
 */
import v8 from 'node:v8';
import { userChoseV8Flag } from './young-generation.js';

/** V8's flags that decide or size inlining, with either separator; not `--trace-turbo-inlining`. */
const INLINING_FLAG = /^--(?:(?:no[-_]?)?turbo[-_]inlining|max[-_]inlined[-_][\w-]+|min[-_]inlining[-_]frequency)(?:=|$)/;

/** The largest function, in bytes of bytecode, TurboFan inlines into another in a tail. */
export const TAIL_MAX_INLINED_BYTECODE = 100;

/**
 * Whether a process started with these flags limits inlining once {@link limitInlining}
 * runs: unless the user chose an inlining flag.
 * @param execArgv Node's own flags for this process (`process.execArgv`)
 * @param nodeOptions the NODE_OPTIONS environment variable
 */
export function limitsInlining(execArgv: readonly string[], nodeOptions: string | undefined): boolean {
  return !userChoseV8Flag(INLINING_FLAG, execArgv, nodeOptions);
}

/** From now on TurboFan inlines only small functions, where {@link limitsInlining} says so. */
export function limitInlining(): void {
  if (limitsInlining(process.execArgv, process.env.NODE_OPTIONS)) v8.setFlagsFromString(`--max-inlined-bytecode-size=${TAIL_MAX_INLINED_BYTECODE}`);
}
