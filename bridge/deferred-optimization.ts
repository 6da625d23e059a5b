/**
 * Keeps V8's optimizing compiler (TurboFan) idle while `bridge broker` loads, and lets it
 * work once the broker listens.
 *
 * Starting the broker loads a hundred-odd modules (about 140 when this was written, 90
 * after the savings beside it). Node's loader runs the same URL and path functions for
 * each, and at about a hundred loads V8 judges those functions hot and optimizes them:
 * the compiler's own machine code is paged in from the node binary, and its working
 * memory grows. Measured on Node 20: an idle broker at 55.6 MB of RSS, 50.8 MB when the
 * loader's functions are left to the interpreter, which runs them for the few
 * milliseconds they are needed; 110 trivial modules against 90 show the same 4.5 MB step.
 * Nothing of the broker's own runs hot before it listens, so nothing is lost: from then
 * on V8 optimizes what the traffic makes hot, as it always would. (On Node 22 and later
 * V8 also has Maglev, a middle tier this flag leaves running; the figures are Node 20's.)
 *
 * The flag can be flipped in a running process (V8 reads it at each decision to
 * optimize); a function that turned hot meanwhile is optimized at its next hot spell.
 * Someone who chose their own compiler flags (`--no-opt`, `--jitless`, `--max-opt`,
 * `--always-turbofan`, `--maglev`..., on the command line or in NODE_OPTIONS) keeps
 * them: nothing here turns TurboFan on.
 */
import v8 from 'node:v8';

/** V8 flags that choose the compilers, with either separator. */
const COMPILER_FLAG = /--(?:no[-_])?(?:(?:always[-_])?(?:opt|turbofan)|maglev|jitless|max[-_]opt)\b/;

/** Commands that load a broker and then sit idle for long spells. */
const DEFERRING_COMMANDS: ReadonlySet<string> = new Set(['broker']);

/**
 * If the broker never reports that it listens (a start that hangs on a locked
 * persistence directory, say), the compiler is let back in after this long anyway.
 */
const LONGEST_DEFERRAL_MS = 30_000;

let fallback: NodeJS.Timeout | null = null;

/**
 * Whether a `bridge` process started with these arguments defers optimization while it
 * loads: only for the commands above, and not when the user chose compiler flags.
 * @param argv the process's arguments after the script (`process.argv.slice(2)`)
 * @param execArgv Node's own flags for this process (`process.execArgv`)
 * @param nodeOptions the NODE_OPTIONS environment variable
 */
export function defersOptimization(argv: readonly string[], execArgv: readonly string[], nodeOptions: string | undefined): boolean {
  const command = argv[0];
  if (command === undefined || !DEFERRING_COMMANDS.has(command)) return false;
  return !execArgv.some((arg) => COMPILER_FLAG.test(arg)) && !COMPILER_FLAG.test(nodeOptions ?? '');
}

/** Keep TurboFan idle from now on, where `defersOptimization` says so, until {@link resumeOptimization}. */
export function deferOptimization(): void {
  if (fallback || !defersOptimization(process.argv.slice(2), process.execArgv, process.env.NODE_OPTIONS)) return;
  v8.setFlagsFromString('--no-turbofan');
  fallback = setTimeout(resumeOptimization, LONGEST_DEFERRAL_MS);
  fallback.unref();
}

/** The process has loaded what it needs (or failed to): let V8 optimize again. Idempotent. */
export function resumeOptimization(): void {
  if (!fallback) return;
  clearTimeout(fallback);
  fallback = null;
  v8.setFlagsFromString('--turbofan');
}
