/**
 * ScriptSupervisor and ScriptProcess in-process, on a manual clock, with real child
 * processes: restart backoff, reply and ready timeouts and the stop grace are checked to
 * the millisecond, without waiting for any of them.
 */
import { EventEmitter } from 'node:events';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { Logger, silentLogger } from '../../src/log/logger.js';
import { startupSettled, STARTUP_SETTLE_MS } from '../../bridge/startup-settle.js';
import { InterpreterNotFoundError } from '../../bridge/supervisor/interpreter.js';
import { CommandNotSentError } from '../../bridge/supervisor/ready-gate.js';
import type { RestartOptions } from '../../bridge/supervisor/restart-policy.js';
import { ScriptSupervisor, type ScriptSpec } from '../../bridge/supervisor/script-supervisor.js';
import { ManualClock } from '../helpers/manual-clock.js';
import { isGone } from '../helpers/processes.js';

const CHILD = fileURLToPath(new URL('../helpers/scripted-child.mjs', import.meta.url));

const BACKOFF: RestartOptions = { mode: 'on-failure', initialDelayMs: 1000, maxDelayMs: 4000, maxRestarts: 10, windowMs: 60_000, stableAfterMs: 10_000 };

interface Published {
  topic: string;
  payload: Record<string, unknown>;
  /** The supervisor's state when it published this. */
  state: string;
}

/**
 * A supervisor whose n-th launch runs the scripted child with `runs[n]` (the last one
 * repeats); a run of `null` finds no interpreter.
 */
function supervise(runs: (string[] | null)[], spec: Partial<ScriptSpec> = {}, log: Logger = silentLogger()) {
  const clock = new ManualClock();
  const events: Published[] = [];
  const published = new EventEmitter();
  let launches = 0;
  const supervisor = new ScriptSupervisor(
    { key: 'k', path: 'k.ahk', args: [], restart: BACKOFF, encoding: 'utf-8', stopGrace: 5, ...spec },
    {
      publish: (topic, payload) => {
        events.push({ topic, payload: payload as Record<string, unknown>, state: supervisor.state });
        published.emit('event');
      },
      command: () => {
        const run = runs[Math.min(launches++, runs.length - 1)];
        if (run === null) return Promise.reject(new InterpreterNotFoundError('AutoHotkey interpreter from --ahk not found: /gone/AutoHotkey64.exe'));
        return Promise.resolve({ file: process.execPath, args: [CHILD, ...(run ?? [])] });
      },
      log,
      clock,
    },
  );
  cleanups.push(() => supervisor.stop());
  const of = (suffix: string): Published[] => events.filter((e) => e.topic === `scripts.k.${suffix}`);
  /** Resolves once `count` events `scripts.k.<suffix>` were published. */
  const until = (suffix: string, count: number): Promise<Published[]> =>
    new Promise((resolve) => {
      const check = (): void => {
        if (of(suffix).length < count) return;
        published.off('event', check);
        resolve(of(suffix));
      };
      published.on('event', check);
      check();
    });
  return { clock, supervisor, of, until };
}

const cleanups: (() => Promise<unknown>)[] = [];
afterEach(async () => {
  for (const fn of cleanups.splice(0)) await fn();
});

/** What a promise settled with so far. */
function observe(p: Promise<unknown>): () => unknown {
  let state: unknown = 'pending';
  p.then(
    (value) => (state = { value }),
    (error: unknown) => (state = { error }),
  );
  return () => state;
}

describe('ScriptSupervisor restart backoff, on its clock', () => {
  it('waits the whole delay before every restart, doubling up to the cap, not only before the first', async () => {
    const { clock, supervisor, of, until } = supervise([['--exit-now', '1']]);
    await supervisor.start();
    for (const [i, delay] of [1000, 2000, 4000, 4000].entries()) {
      await until('restarting', i + 1);
      expect(clock.pending()).toEqual([delay]); // the restart, and nothing else
      expect(of('restarting')[i]?.payload).toMatchObject({ attempt: i + 1, delay_ms: delay, after: 'crash' });
      clock.advance(delay - 1);
      expect(of('started')).toHaveLength(i + 1); // not a millisecond early
      expect(supervisor.state).toBe('waiting_restart');
      clock.advance(1);
      await until('started', i + 2);
    }
    expect(supervisor.status().restarts).toBe(4);
  });

  it('starts the backoff over after a run that lasted stableAfterMs', async () => {
    const { clock, supervisor, of, until } = supervise([['--exit-now', '1'], ['--exit-now', '1'], ['--ready']]);
    await supervisor.start();
    await until('restarting', 1);
    clock.advance(1000);
    await until('restarting', 2);
    clock.advance(2000);
    await until('ready', 1);
    clock.advance(10_000); // a healthy run
    await supervisor.command('crash', null, false);
    await until('restarting', 3);
    expect(clock.pending()).toEqual([1000]);
    expect(of('restarting').map((e) => e.payload.delay_ms)).toEqual([1000, 2000, 1000]);
    expect(of('stopped')[2]?.payload).toMatchObject({ reason: 'crash', duration_ms: 10_000 });
  });

  it('an ExitApp after a runtime error the script lived through is a clean exit; an exit AutoHotkey blames on an error is a crash', async () => {
    for (const [reason, expected] of [['Exit', 'clean_exit'], ['Menu', 'clean_exit'], ['Error', 'crash']] as const) {
      const { supervisor, of, until } = supervise([['--ready']]);
      await supervisor.start();
      await until('ready', 1);
      await supervisor.command('survive-then-exit', reason, false);
      await until('stopped', 1);
      expect(of('stopped')[0]?.payload, reason).toMatchObject({ reason: expected });
      expect(of('exiting')[0]?.payload).toEqual({ code: 0, reason });
      // on-failure: only the crash is restarted.
      expect(of('restarting'), reason).toHaveLength(expected === 'crash' ? 1 : 0);
      await supervisor.stop();
    }
  });

  it('stopping while a restart is pending cancels it', async () => {
    const { clock, supervisor, of, until } = supervise([['--exit-now', '1']]);
    await supervisor.start();
    await until('restarting', 1);
    await supervisor.stop();
    expect(clock.pending()).toEqual([]);
    clock.advance(60_000);
    expect(of('started')).toHaveLength(1);
    expect(supervisor.state).toBe('stopped');
  });
});

describe('ScriptSupervisor restart on request', () => {
  it('does not settle: the exit a restart causes is not the end of the key (bridge run exits on settled)', async () => {
    const { supervisor, of, until } = supervise([['--ready']]);
    const settled: unknown[] = [];
    supervisor.on('settled', (exit) => settled.push(exit));
    await supervisor.start();
    const status = await supervisor.restart();
    expect(status).toMatchObject({ state: 'running', running: true });
    await until('started', 2);
    expect(of('stopped').map((e) => e.payload.reason)).toEqual(['stopped']);
    expect(settled).toEqual([]);
    await supervisor.stop();
    expect(settled).toHaveLength(1);
  });
});

describe('ScriptSupervisor commands, on its clock', () => {
  it('answers with the script\'s @reply, and fails a request exactly when its timeout runs out', async () => {
    const { clock, supervisor, until } = supervise([['--ready']]);
    await supervisor.start();
    await until('ready', 1);
    await expect(supervisor.command('echo', { n: 1 }, true, 5000)).resolves.toEqual({ n: 1 });

    const silent = observe(supervisor.command('silent', null, true, 5000));
    await clock.timerIn(5000);
    clock.advance(4999);
    await Promise.resolve();
    expect(silent()).toBe('pending');
    clock.advance(1);
    await expect.poll(silent).toMatchObject({ error: { message: 'script k did not reply to silent within 5s' } });
  });

  it('fails a waiting request at once when the script exits before replying', async () => {
    const { supervisor, until } = supervise([['--ready'], ['--exit-now', '0']]);
    await supervisor.start();
    await until('ready', 1);
    const reply = supervisor.command('silent', null, true, 60_000);
    await supervisor.command('crash', null, false);
    await expect(reply).rejects.toThrow('script k exited before replying');
  });

  it('holds commands until @ready, and refuses them once the ready timeout ran out', async () => {
    const { clock, supervisor } = supervise([[]], { readyTimeout: 3 });
    await supervisor.start();
    const held = observe(supervisor.command('echo', 1, true));
    await clock.timerIn(3000);
    clock.advance(2999);
    await Promise.resolve();
    expect(held()).toBe('pending');
    clock.advance(1);
    await expect.poll(held).toMatchObject({ error: expect.any(CommandNotSentError) as unknown });
    await expect(supervisor.command('echo', 2, false)).rejects.toThrow(/has not reported ready within 3 s/);
  });
});

describe('ScriptProcess stop grace, on its clock', () => {
  it('gives a script that ignores exit its whole grace, then kills it (forced)', async () => {
    const { clock, supervisor, of, until } = supervise([['--ready', '--ignore-exit']], { stopGrace: 5 });
    const { pid } = await supervisor.start();
    await until('ready', 1);
    const stopped = supervisor.stop();
    await clock.timerIn(5000);
    clock.advance(4999);
    expect(isGone(pid!)).toBe(false);
    expect(of('stopped')).toHaveLength(0);
    clock.advance(1);
    await stopped;
    expect(of('stopped')[0]?.payload).toMatchObject({ reason: 'stopped' });
    expect(isGone(pid!)).toBe(true);
  });

  it('a script that honours exit stops without force and without the grace passing', async () => {
    const { clock, supervisor, until, of } = supervise([['--ready']], { stopGrace: 5 });
    const started = clock.now();
    await supervisor.start();
    await until('ready', 1);
    await supervisor.stop();
    expect(clock.now()).toBe(started);
    expect(of('stopped')[0]?.payload).toMatchObject({ reason: 'stopped', exit_code: 0, duration_ms: 0 });
  });

  it('a script stopped on request is "stopped" by the time its stopped event goes out', async () => {
    // bridge ps --watch asks for the states on that event and prints what it hears.
    const { supervisor, until, of } = supervise([['--ready']], { stopGrace: 5 });
    await supervisor.start();
    await until('ready', 1);
    await supervisor.stop();
    expect(of('stopped').map((e) => e.state)).toEqual(['stopped']);
  });
});

/** A logger that keeps its lines, parsed, for asserting levels. */
function capturingLogger(): { log: Logger; lines: { level: string; msg: string; [k: string]: unknown }[] } {
  const lines: { level: string; msg: string }[] = [];
  const log = new Logger({ level: 'debug', format: 'json', sink: { write: (line) => lines.push(JSON.parse(line) as { level: string; msg: string }) } });
  return { log, lines };
}

describe('ScriptSupervisor: a script that cannot be started', () => {
  it('logs one ERROR, reports start_failure (not load_failure) and does not restart', async () => {
    const { log, lines } = capturingLogger();
    const { clock, supervisor, of } = supervise([null], { restart: { ...BACKOFF, mode: 'always' } }, log);
    const settled = new Promise((resolve) => supervisor.once('settled', resolve));
    const status = await supervisor.start();
    expect(status).toMatchObject({ state: 'failed', running: false, last_exit: { reason: 'start_failure', exit_code: null } });
    expect(await settled).toMatchObject({ reason: 'start_failure' });
    expect(lines.filter((l) => l.level === 'error')).toEqual([
      expect.objectContaining({ msg: 'script could not be started', key: 'k', script: 'k.ahk', error: expect.stringContaining('not found') }),
    ]);
    expect(lines.filter((l) => l.level === 'warning')).toEqual([]);
    expect(lines.find((l) => l.msg === 'not restarting')).toMatchObject({ level: 'info' });
    expect(of('error').map((e) => e.payload)).toEqual([{ message: expect.stringContaining('not found'), file: 'k.ahk', line: null, timestamp: expect.any(String) }]);
    expect(of('stopped').map((e) => e.payload.reason)).toEqual(['start_failure']);
    expect(of('restarting')).toEqual([]);
    expect(of('restart_limit')).toEqual([]);
    expect(clock.pending()).toEqual([]);
  });

  it('a restart after a crash whose interpreter has gone away is a start_failure, and the last', async () => {
    const { log, lines } = capturingLogger();
    const { clock, supervisor, of, until } = supervise([['--exit-now', '1'], null], {}, log);
    await supervisor.start();
    await until('restarting', 1);
    clock.advance(1000);
    await until('stopped', 2);
    expect(of('stopped').map((e) => e.payload.reason)).toEqual(['crash', 'start_failure']);
    expect(supervisor.state).toBe('failed');
    expect(lines.filter((l) => l.level === 'error').map((l) => l.msg)).toEqual(['script could not be started']);
    expect(clock.pending()).toEqual([]);
  });
});

describe('ScriptSupervisor log levels an operator acts on', () => {
  it('giving up at the restart limit is a WARNING; not restarting after a clean exit is INFO', async () => {
    const crashing = capturingLogger();
    const { clock, supervisor, until } = supervise([['--exit-now', '1']], { restart: { ...BACKOFF, maxRestarts: 1 } }, crashing.log);
    await supervisor.start();
    await until('restarting', 1);
    clock.advance(1000);
    await until('restart_limit', 1);
    expect(crashing.lines.filter((l) => l.msg === 'not restarting')).toEqual([
      expect.objectContaining({ level: 'warning', why: expect.stringContaining('restart limit reached') }),
    ]);

    const clean = capturingLogger();
    const second = supervise([['--exit-now', '0']], {}, clean.log);
    await second.supervisor.start();
    await second.until('stopped', 1);
    expect(clean.lines.filter((l) => l.msg === 'not restarting')).toEqual([expect.objectContaining({ level: 'info' })]);
    expect(second.of('restart_limit')).toEqual([]);
  });

  it('a script given up at the restart limit is failed, also under `always` after clean exits; a plain clean exit is stopped', async () => {
    const { clock, supervisor, until } = supervise([['--exit-now', '0']], { restart: { ...BACKOFF, mode: 'always', maxRestarts: 1 } });
    await supervisor.start();
    await until('restarting', 1);
    clock.advance(1000);
    const [limit] = await until('restart_limit', 1);
    expect(limit?.payload).toMatchObject({ why: expect.stringContaining('restart limit reached') });
    expect(supervisor.status()).toMatchObject({ state: 'failed', running: false, last_exit: { reason: 'clean_exit', exit_code: 0 } });

    const second = supervise([['--exit-now', '0']], { restart: { ...BACKOFF, mode: 'on-failure' } });
    await second.supervisor.start();
    await second.until('stopped', 1);
    expect(second.supervisor.status()).toMatchObject({ state: 'stopped', last_exit: { reason: 'clean_exit' } });
  });

  it('stderr lines are WARNINGs up to 50 in 10 s, the rest at debug; every line is published', async () => {
    const { log, lines } = capturingLogger();
    const { supervisor, until } = supervise([['--stderr', '120', '--ready']], {}, log);
    await supervisor.start();
    const published = await until('stderr', 120);
    expect(published.map((e) => e.payload.line)).toEqual(Array.from({ length: 120 }, (_, i) => `error line ${i + 1}`));
    const logged = lines.filter((l) => l.msg === 'script stderr');
    expect(logged.filter((l) => l.level === 'warning')).toHaveLength(50);
    expect(logged.filter((l) => l.level === 'debug')).toHaveLength(70);
    expect(logged.slice(0, 50).map((l) => l.line)).toEqual(Array.from({ length: 50 }, (_, i) => `error line ${i + 1}`));
  });

  it('a stop on request does not warn; a script that ignores exit is killed with a WARNING', async () => {
    const polite = capturingLogger();
    const a = supervise([['--ready']], { stopGrace: 5 }, polite.log);
    await a.supervisor.start();
    await a.until('ready', 1);
    await a.supervisor.stop();
    expect(polite.lines.filter((l) => l.level === 'warning' || l.level === 'error')).toEqual([]);

    const stubborn = capturingLogger();
    const b = supervise([['--ready', '--ignore-exit']], { stopGrace: 5 }, stubborn.log);
    await b.supervisor.start();
    await b.until('ready', 1);
    const stopped = b.supervisor.stop();
    await b.clock.timerIn(5000);
    b.clock.advance(5000);
    await stopped;
    expect(stubborn.lines.find((l) => l.msg === 'script ignored exit; killing its process tree')).toMatchObject({ level: 'warning', grace_ms: 5000 });
  });
});

/** Once the settle timer is set: still pending 1 ms before the period ends, settled at its end. */
async function settlesExactlyAfterThePeriod(clock: ManualClock, settled: () => unknown): Promise<void> {
  await clock.timerIn(STARTUP_SETTLE_MS);
  clock.advance(STARTUP_SETTLE_MS - 1);
  await Promise.resolve();
  expect(settled()).toBe('pending');
  clock.advance(1);
  await expect.poll(settled).toEqual({ value: undefined });
}

describe('bridge up start-up settle, on the supervisors\' clock', () => {
  it('is over as soon as every script said @ready or ended, without waiting the period', async () => {
    const ready = supervise([['--ready']]);
    const failed = supervise([null]);
    const settled = observe(startupSettled([ready.supervisor, failed.supervisor], ready.clock));
    await Promise.all([ready.supervisor.start(), failed.supervisor.start()]);
    await expect.poll(settled).toEqual({ value: undefined });
    expect(ready.clock.now() - Date.UTC(2026, 0, 1)).toBe(0);
    expect(ready.supervisor.state).toBe('running');
    expect(failed.supervisor.state).toBe('failed');
  });

  it(`waits for a script that never says @ready exactly the settle period (${STARTUP_SETTLE_MS} ms), no longer`, async () => {
    const { clock, supervisor } = supervise([[]]);
    const settled = observe(startupSettled([supervisor], clock));
    await supervisor.start();
    await settlesExactlyAfterThePeriod(clock, settled);
    expect(supervisor.state).toBe('running');
  });

  it('counts the period from `from` when given (a start request: from the spawn, not from before the process listing)', async () => {
    const { clock, supervisor } = supervise([[]]);
    let spawned!: () => void;
    const settled = observe(startupSettled([supervisor], clock, STARTUP_SETTLE_MS, new Promise<void>((resolve) => (spawned = resolve))));
    await supervisor.start();
    clock.advance(5000); // time before the spawn does not count
    await Promise.resolve();
    expect(settled()).toBe('pending');
    expect(clock.pending()).not.toContain(STARTUP_SETTLE_MS);
    spawned();
    await settlesExactlyAfterThePeriod(clock, settled);
  });
});
