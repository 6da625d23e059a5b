/**
 * whenBusy (bridge/busy-watch.ts) samples this process's CPU time against wall time, so
 * these tests make the process busy for real, by spinning, or leave it idle, awaiting
 * timers. The process may run other test files too (the Windows lane runs unit tests in
 * one worker), so an idle interval is long and its mark high: a collection on V8's helper
 * threads must not look like load. Spinning takes a whole core, whatever the mark.
 */
import { spawnSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { whenBusy } from '../../bridge/busy-watch.js';

/** Spin the CPU for `ms` at a time, one event-loop turn after another, until `done()`. */
async function spinUntil(done: () => boolean, ms = 10): Promise<void> {
  while (!done()) {
    const until = Date.now() + ms;
    while (Date.now() < until) {
      // busy: this is the load under test
    }
    await new Promise<void>((resolve) => setImmediate(resolve));
  }
}

/** Resolves after `n` sampling intervals of `intervalMs` have ended (each a watch of share 0, which tells at its first). */
async function intervalsElapsed(n: number, intervalMs: number): Promise<void> {
  for (let i = 0; i < n; i++) await new Promise<void>((resolve) => whenBusy(() => resolve(), { intervalMs, share: 0, samples: 1 }));
}

describe('whenBusy', () => {
  it('tells once, with the share measured, when the process used the share of a core over an interval', async () => {
    const shares: number[] = [];
    const stop = whenBusy((share) => shares.push(share), { intervalMs: 100, share: 0.5, samples: 1 });
    await spinUntil(() => shares.length > 0);
    expect(shares[0]).toBeGreaterThanOrEqual(0.5);
    // Still busy for three more intervals: it told once and stopped sampling.
    const until = Date.now() + 300;
    await spinUntil(() => Date.now() >= until);
    expect(shares).toHaveLength(1);
    stop();
  });

  it('tells nothing while the process idles', async () => {
    let told = false;
    const stop = whenBusy(() => (told = true), { intervalMs: 100, share: 0.9 });
    await intervalsElapsed(4, 100);
    expect(told).toBe(false);
    stop();
  });

  it('tells only after the share was reached in as many intervals in a row as asked', async () => {
    // A spell of 150 ms reaches 0.7 in at most two intervals of 100 ms (75 + 75 ms), never
    // three, so a watch that asks for three keeps still. Idle between and after, an
    // interval is far below the mark.
    let toldAfterThree = false;
    const three = whenBusy(() => (toldAfterThree = true), { intervalMs: 100, share: 0.7, samples: 3 });
    // Three such spells, apart: the run starts over each time.
    for (let spell = 0; spell < 3; spell++) {
      const until = Date.now() + 150;
      await spinUntil(() => Date.now() >= until);
      await intervalsElapsed(3, 100);
    }
    expect(toldAfterThree).toBe(false);
    // A watch that asks for one interval tells once the process is busy (spinning until it
    // does: on a loaded machine one spell may not get the share).
    const one: number[] = [];
    const stopOne = whenBusy((share) => one.push(share), { intervalMs: 100, share: 0.5, samples: 1 });
    await spinUntil(() => one.length > 0);
    expect(one[0]).toBeGreaterThanOrEqual(0.5);
    // Busy for longer, a watch that asks for three tells, with the least share of its run.
    let shareOfRun = 0;
    const stopAgain = whenBusy((share) => (shareOfRun = share), { intervalMs: 100, share: 0.5, samples: 3 });
    await spinUntil(() => shareOfRun > 0);
    expect(shareOfRun).toBeGreaterThanOrEqual(0.5);
    for (const stop of [three, stopOne, stopAgain]) stop();
  });

  it('tells nothing once stopped, however busy the process is', async () => {
    let told = false;
    const stop = whenBusy(() => (told = true), { intervalMs: 100, share: 0.5 });
    stop();
    stop(); // idempotent
    const until = Date.now() + 300;
    await spinUntil(() => Date.now() >= until);
    expect(told).toBe(false);
  });

  it('does not keep the process alive', () => {
    // An unref'd timer: a child whose only work is the watch exits at once. The child runs
    // the built module (dist/, which the test run's global setup builds).
    const watch = new URL('../../dist/bridge/busy-watch.js', import.meta.url).href;
    const started = Date.now();
    const child = spawnSync(process.execPath, ['--input-type=module', '-e', `import { whenBusy } from ${JSON.stringify(watch)}; whenBusy(() => {});`], { encoding: 'utf8', timeout: 10_000 });
    expect(child.status, child.stderr).toBe(0);
    expect(Date.now() - started).toBeLessThan(10_000);
  });
});
