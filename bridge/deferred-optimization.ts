/**
 * Keeps V8's compilers (TurboFan, the optimizing one, and Sparkplug, the baseline one)
 * idle while `bridge broker` loads, and lets Sparkplug work once the broker listens and
 * TurboFan once it is under load; `bridge tail` holds both until it follows its file
 * (idle RSS 56.3 -> 51.0 MB), `bridge run` and `bridge up` until their scripts are
 * started (a joined `bridge run`'s idle RSS 58.7-59.1 -> 53.5-53.8 MB: one process per
 * supervised script).
 *
 * Starting the broker takes on the order of a hundred module loads (its own files and
 * Node's built-ins). Node's loader runs the same URL and path functions for each, and V8
 * judges those functions hot and compiles them: the compilers' own machine code is paged
 * in from the node binary, and their working memory grows. Measured on Node 20, an idle
 * broker's RSS: 55.6 MB, 50.9 MB with TurboFan held off while it loads (110 trivial
 * modules against 90 show the same 4.5 MB step: TurboFan's first compile), and 0.3-0.4
 * MB less again with Sparkplug held off too (186-201 baseline compiles by the first
 * answer, 31 with it held: those are Node's own start-up, before this module runs, and a
 * bare listener pays for them too). The loader's functions run in the
 * interpreter for the few milliseconds they are needed. Nothing of the broker's own runs
 * hot before it listens, so nothing is lost: from then on V8 compiles what the traffic
 * makes hot, as it always would. (On Node 22 and later V8 also has Maglev, a middle tier
 * this leaves running; the figures are Node 20's.)
 *
 * The broker lets Sparkplug in once it listens, and TurboFan only under load (see
 * {@link resumeOptimizationUnderLoad}): under a desktop's light traffic TurboFan's
 * compiles cost more than they save. Relaying 2,000 messages a second (the peer bench's
 * latency run, 10,000 messages), a broker that optimized what the traffic made hot
 * compiled 122 functions over the first 3 s, about 94 ms of CPU on V8's worker threads,
 * and peaked at 55.4-55.8 MB; with TurboFan held, 50.0-50.1 MB. On two cores those
 * compiles took the CPU that the broker's and its clients' main threads were woken for:
 * system-wide scheduler traces counted 72 wake-ups of the two delayed by more than 0.2
 * ms in those 3 s, none after, and 3 beside a minimal relay; the run's p99 latency was
 * 1.0-1.3 ms, 0.57-0.75 held. Baseline code costs more CPU per message, which at that
 * rate is a few percent of a core; any load that makes it matter makes the process busy.
 *
 * The flags can be flipped in a running process (V8 reads them at each decision to
 * compile); a function that turned hot meanwhile is compiled at its next hot spell.
 * Someone who chose their own compiler flags (`--no-opt` or `--noopt`, `--jitless`,
 * `--max-opt`, `--always-turbofan`, `--no-sparkplug`, `--maglev`..., on the command line,
 * or `--jitless` in NODE_OPTIONS, the only one of them Node admits there) keeps them.
 */
import v8 from 'node:v8';
import { whenBusy } from './busy-watch.js';
import { userChoseV8Flag } from './young-generation.js';

/**
 * One of V8's flags that choose the compilers, as one argument: with either separator,
 * V8's `--noopt` spelling, and a value (`--max-opt=2`); not `--sparkplug-filter=...`.
 */
const COMPILER_FLAG = /^--(?:no[-_]?)?(?:(?:always[-_])?(?:opt|turbofan|sparkplug)|maglev|jitless|max[-_]opt)(?:=|$)/;

/**
 * Commands that load a hundred modules or more and then sit idle for long spells; once
 * started, the broker calls {@link resumeOptimizationUnderLoad}, the others
 * {@link resumeOptimization} (a broker that `run` or `up` hosts gets TurboFan then too, as
 * it always had).
 */
const DEFERRING_COMMANDS: ReadonlySet<string> = new Set(['broker', 'tail', 'run', 'up']);

/**
 * If the command never reports that it started (a broker's start that hangs on a locked
 * persistence directory, a tail waiting for its broker), both compilers are let back in
 * after this long anyway, TurboFan without waiting for load.
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
  return !userChoseV8Flag(COMPILER_FLAG, execArgv, nodeOptions);
}

/**
 * Keep TurboFan and Sparkplug idle from now on, where `defersOptimization` says so, until
 * {@link resumeOptimization} or {@link resumeOptimizationUnderLoad}.
 */
export function deferOptimization(): void {
  if (fallback || !defersOptimization(process.argv.slice(2), process.execArgv, process.env.NODE_OPTIONS)) return;
  v8.setFlagsFromString('--no-turbofan');
  v8.setFlagsFromString('--no-sparkplug');
  fallback = setTimeout(resumeOptimization, LONGEST_DEFERRAL_MS);
  fallback.unref();
}

/**
 * The process has loaded what it needs (or failed to): let V8 compile again. Idempotent.
 * Both flags are V8's defaults on the platforms Node ships for (x64 and arm64), and
 * `deferOptimization` only ran when the user had set neither, so turning them on restores
 * what was.
 */
export function resumeOptimization(): void {
  if (!endDeferral()) return;
  v8.setFlagsFromString('--turbofan');
  v8.setFlagsFromString('--sparkplug');
}

/** Why TurboFan was let in under load: the CPU share measured, or the broker's first bulk read. */
export type LoadSign = { kind: 'cpu'; share: number } | { kind: 'bulk_read' };

/** While the broker waits for load to let TurboFan in: stops that wait. */
let stopWaitingForLoad: (() => void) | null = null;
/** The broker's report of TurboFan let in (its debug line). */
let reportOptimizing: (sign: LoadSign) => void = () => undefined;
/**
 * A sign of load that came while the start-up deferral was still on: the broker takes
 * connections before its start has finished (a status page still to listen), and the
 * bulk read is reported only once.
 */
let earlySign: LoadSign | null = null;

/**
 * The broker has loaded and listens: let Sparkplug compile again now, and TurboFan once
 * the process is busy ({@link whenBusy}: a quarter of a core in two quarter-second samples
 * in a row) or {@link optimizeForLoad} says so. Idempotent, and a no-op where nothing was
 * deferred.
 * @param onOptimizing called when TurboFan is let back in, with what showed the load
 */
export function resumeOptimizationUnderLoad(onOptimizing: (sign: LoadSign) => void = () => undefined): void {
  if (!endDeferral()) return;
  v8.setFlagsFromString('--sparkplug');
  reportOptimizing = onOptimizing;
  stopWaitingForLoad = whenBusy((share) => optimizeForLoad({ kind: 'cpu', share }));
  if (earlySign !== null) optimizeForLoad(earlySign);
}

/**
 * The broker is under load (its first bulk read, or the busy watch): let TurboFan in now,
 * if {@link resumeOptimizationUnderLoad} left it waiting for that. Idempotent.
 */
export function optimizeForLoad(sign: LoadSign): void {
  if (fallback) earlySign ??= sign;
  if (!stopWaitingForLoad) return;
  stopWaitingForLoad();
  stopWaitingForLoad = null;
  v8.setFlagsFromString('--turbofan');
  reportOptimizing(sign);
}

/** Ends the start-up deferral: false when there was none (or it already ended). */
function endDeferral(): boolean {
  if (!fallback) return false;
  clearTimeout(fallback);
  fallback = null;
  return true;
}
