/**
 * Keeps V8's young generation at its starting size in `bridge` processes (a broker above
 * all), or, for `bridge tail`, within a budget.
 *
 * V8 doubles the young generation whenever a scavenge finds many survivors, up to 16 MB
 * per semi-space, and gives it back only after a long quiet spell. A broker under load
 * always has survivors (the messages queued for a subscriber), so it grew to 32 MB of
 * young generation and held it: measured with the peer bench's lossless 1->1 run, peak
 * RSS 118 MB, of which 32 MB was that space. Held at its starting size the same run
 * peaks at 60-80 MB at about the same CPU time per delivery, and the slowest QoS 1
 * answers come sooner (each scavenge is shorter). An idle broker holds 1.5 MB less.
 *
 * `bridge tail` is held too, until it reads a backlog of lines it parses as text; then it
 * is given a budget (see {@link growYoungGenerationUpTo}): it has a thousand such lines
 * in flight at once, which a young generation held at its start promotes to the old one
 * (held, it took about twice the CPU per line), while at V8's full size it peaked at
 * 90 MB. Lines read from their bytes allocate half as much and need no more room.
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
/** The growth factor set last (V8's default is 2; a held process sets 1). */
let growthFactor = 2;

/** Hold this process's young generation at its size now, where `holdsYoungGeneration` says so. */
export function holdYoungGeneration(): void {
  if (held || !holdsYoungGeneration(process.execArgv, process.env.NODE_OPTIONS)) return;
  held = true;
  setGrowthFactor(1);
}

function setGrowthFactor(factor: number): void {
  growthFactor = factor;
  v8.setFlagsFromString(`--semi-space-growth-factor=${factor}`);
}

const SEMI_SPACE_ROUNDING = 256 * 1024;

/**
 * The capacity of one semi-space now, in bytes. Not `space_size`: that is the memory
 * committed, which counts the second semi-space only while it is committed (not at start,
 * nor after V8 shrinks the space), and a factor computed from it would overshoot 2x.
 */
function semiSpaceBytes(): number {
  for (const space of v8.getHeapSpaceStatistics()) {
    if (space.space_name !== 'new_space') continue;
    const capacity = space.space_used_size + space.space_available_size;
    return Math.ceil(capacity / SEMI_SPACE_ROUNDING) * SEMI_SPACE_ROUNDING;
  }
  return 0;
}

/** The budget of {@link growYoungGenerationUpTo}: one semi-space's largest size in bytes; 0 until given. */
let budget = 0;

/**
 * From now on let the young generation grow as V8 judges, but only up to `semiSpaceMB`
 * per semi-space (V8's own limit is 16 MB): for a process whose objects in flight outlive
 * a scavenge of the starting 1 MB, but not one of a few MB. Measured with `bridge tail`
 * reading a 200,000-line backlog (the queue-backlog bench): V8's default peaked at 90 MB,
 * held at the start 76 MB at a third more CPU per line; with 2.6 KB allocated per line a
 * budget of 4 MB did best (71-72 MB at 7-8 µs per line, as fast as the default), and
 * with 1.8 KB one of 2 MB (63-65 MB at the same CPU; see `TAIL_SEMI_SPACE_MB`).
 *
 * V8 has no run-time setting for the limit, only for the growth factor, which it reads
 * at each growth; so after each garbage collection the factor is set to what takes the
 * space at most to the budget in one growth (1 once it is there). Node reports a
 * collection a turn or two after it, so a second growth in between would pass the
 * budget; growth takes a scavenge that finds many survivors, and two so close together
 * were not seen (the test holds the space within the budget over a backlog). Does
 * nothing where the young generation is not held (the user sized it).
 * @param semiSpaceMB the largest semi-space, in MB
 */
export function growYoungGenerationUpTo(semiSpaceMB: number): void {
  if (!held || budget > 0) return;
  budget = semiSpaceMB * 1024 * 1024;
  fitGrowthToBudget();
  // V8 may also shrink the space after a quiet spell; the next collection sees it.
  // perf_hooks on first need: most bridge processes never get here.
  const { PerformanceObserver } = process.getBuiltinModule('node:perf_hooks');
  new PerformanceObserver(fitGrowthToBudget).observe({ entryTypes: ['gc'] });
}

function fitGrowthToBudget(): void {
  const size = semiSpaceBytes();
  const factor = size > 0 ? Math.max(1, Math.floor(budget / size)) : 1;
  if (factor !== growthFactor) setGrowthFactor(factor);
}
