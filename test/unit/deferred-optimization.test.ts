/**
 * The order of bridge/deferred-optimization.ts's steps for a broker: held while it
 * loads, Sparkplug once it listens, TurboFan at the first sign of load, even one that came
 * before the broker finished starting. Each case runs in a child process: the module
 * flips V8's flags for the whole process, and this worker runs other tests. The child
 * imports the built module (dist/, which the test run's global setup builds).
 */
import { spawnSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';

const MODULE = new URL('../../dist/bridge/deferred-optimization.js', import.meta.url).href;

/** Run `body` in a child that imports the module as `d`, as `bridge broker` with `nodeFlags`; returns what it printed. */
function inBroker(body: string, nodeFlags: string[] = []): string[] {
  const script = `process.argv.splice(1, Infinity, '[eval]', 'broker'); const d = await import(${JSON.stringify(MODULE)}); ${body}`;
  const child = spawnSync(process.execPath, [...nodeFlags, '--input-type=module', '-e', script], { encoding: 'utf8', timeout: 15_000 });
  expect(child.status, child.stderr).toBe(0);
  return child.stdout.split('\n').filter((line) => line !== '');
}

describe('deferred optimization for a broker', () => {
  it('lets TurboFan in at the first sign of load after it listens, and reports it once', () => {
    const printed = inBroker(`
      d.deferOptimization();
      d.resumeOptimizationUnderLoad((sign) => console.log('optimizing', JSON.stringify(sign)));
      console.log('listening');
      d.optimizeForLoad({ kind: 'bulk_read' });
      d.optimizeForLoad({ kind: 'cpu', share: 0.9 });
    `);
    expect(printed).toEqual(['listening', 'optimizing {"kind":"bulk_read"}']);
  });

  it('keeps a sign of load that came while the broker was still starting, and acts on it once it listens', () => {
    // A client can flood a broker whose start has not finished (a status page still to
    // listen); the bulk read is reported only once, so it must not be lost.
    const printed = inBroker(`
      d.deferOptimization();
      d.optimizeForLoad({ kind: 'bulk_read' });
      console.log('started');
      d.resumeOptimizationUnderLoad((sign) => console.log('optimizing', JSON.stringify(sign)));
    `);
    expect(printed).toEqual(['started', 'optimizing {"kind":"bulk_read"}']);
  });

  it('reports nothing without load, and nothing where the user chose the compilers', () => {
    expect(inBroker(`d.deferOptimization(); d.resumeOptimizationUnderLoad(() => console.log('optimizing'));`)).toEqual([]);
    const chosen = inBroker(`
      d.deferOptimization();
      d.resumeOptimizationUnderLoad(() => console.log('optimizing'));
      d.optimizeForLoad({ kind: 'bulk_read' });
      console.log('done');
    `, ['--turbofan']);
    expect(chosen).toEqual(['done']);
  });
});
