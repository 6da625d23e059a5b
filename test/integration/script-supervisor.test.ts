/**
 * ScriptSupervisor and ScriptProcess in-process, on a manual clock, with real child
 * processes: restart backoff, reply and ready timeouts and the stop grace are checked to
 * the millisecond, without waiting for any of them.
 */
import { EventEmitter } from 'node:events';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { silentLogger } from '../../src/log/logger.js';
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
}

/** A supervisor whose n-th launch runs the scripted child with `runs[n]` (the last one repeats). */
function supervise(runs: string[][], spec: Partial<ScriptSpec> = {}) {
  const clock = new ManualClock();
  const events: Published[] = [];
  const published = new EventEmitter();
  let launches = 0;
  const supervisor = new ScriptSupervisor(
    { key: 'k', path: 'k.ahk', args: [], restart: BACKOFF, encoding: 'utf-8', stopGrace: 5, ...spec },
    {
      publish: (topic, payload) => {
        events.push({ topic, payload: payload as Record<string, unknown> });
        published.emit('event');
      },
      command: () => Promise.resolve({ file: process.execPath, args: [CHILD, ...(runs[Math.min(launches++, runs.length - 1)] ?? [])] }),
      log: silentLogger(),
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
});
