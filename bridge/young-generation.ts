/**
 * Keeps V8's young generation at its starting size in `bridge` processes.
 *
 * V8 doubles the young generation whenever a scavenge finds many survivors, up to 16 MB
 * per semi-space, and gives it back only after a long quiet spell. A broker under load
 * always has survivors (the messages queued for a subscriber), so it grew to 32 MB of
 * young generation and held it: measured with the peer bench's lossless 1->1 run, peak
 * RSS 118 MB, of which 32 MB was that space. Held at its starting size the same run
 * peaks at 60-80 MB at about the same CPU time per delivery, and the slowest QoS 1
 * answers come sooner (each scavenge is shorter). An idle broker holds 1.5 MB less.
 *
 * `bridge tail` is held too. It used to grow to a budget of 2 MB per semi-space reading a
 * backlog, for the thousand lines it has in flight at once; since it reads the common
 * line from its bytes it allocates about half as much per line, and a 200,000-line
 * backlog peaked at 57.4-58.3 MB held against 60.5-61.6 with that budget, at about
 * 0.2 µs more CPU per line.
 *
 * The growth factor, unlike `--max-semi-space-size`, can be set once the process runs
 * (V8 reads it at each growth), so it needs no command-line flag, which neither
 * `npx bridge`, a Windows npm shim nor `bridge.exe` could carry. The CLI's entry applies
 * it before it loads the rest: an ES module's imports are all parsed before any of them
 * runs, and parsing them alone grew the space once. Someone who sizes the young
 * generation themselves (`node --max-semi-space-size=…`, or in NODE_OPTIONS) keeps their
 * setting.
 */
import v8 from 'node:v8';

/**
 * V8 flags that size the young generation, with either separator. NODE_OPTIONS admits
 * only `--max-semi-space-size` of them; the others can come on the command line.
 */
const YOUNG_GENERATION_FLAG = /--(?:max|min)[-_]semi[-_]space[-_]size|--semi[-_]space[-_]growth[-_]factor/;

/**
 * True when the user already chose a V8 setting that a `bridge` process would otherwise
 * choose for itself at start (here, and the compilers in deferred-optimization.ts; kept
 * in this module because each module the CLI loads before those settings run makes V8
 * compile more of the loader): one of Node's own flags for this process, or a word of
 * NODE_OPTIONS, matches `flag` (each tested as one argument, so an anchored pattern sees
 * a whole flag).
 * @param flag the V8 flags in question
 * @param execArgv Node's own flags for this process (`process.execArgv`)
 * @param nodeOptions the NODE_OPTIONS environment variable
 */
export function userChoseV8Flag(flag: RegExp, execArgv: readonly string[], nodeOptions: string | undefined): boolean {
  const matches = (arg: string): boolean => flag.test(arg);
  return execArgv.some(matches) || (nodeOptions !== undefined && nodeOptions.split(/\s+/).some(matches));
}

/**
 * Whether a `bridge` process started with these flags holds its young generation: every
 * command does, unless the user sized it (on the command line or in NODE_OPTIONS).
 * @param execArgv Node's own flags for this process (`process.execArgv`)
 * @param nodeOptions the NODE_OPTIONS environment variable
 */
export function holdsYoungGeneration(execArgv: readonly string[], nodeOptions: string | undefined): boolean {
  return !userChoseV8Flag(YOUNG_GENERATION_FLAG, execArgv, nodeOptions);
}

/** Whether this process holds its young generation (set once, at start). */
let held = false;

/** Hold this process's young generation at its size now, where `holdsYoungGeneration` says so. */
export function holdYoungGeneration(): void {
  if (held || !holdsYoungGeneration(process.execArgv, process.env.NODE_OPTIONS)) return;
  held = true;
  v8.setFlagsFromString('--semi-space-growth-factor=1');
}
