/**
 * `bridge run --watch` and `bridge up --watch` as real processes with the fake
 * interpreter, against a real broker: a save restarts the script, a save with a syntax
 * error reports the load failure and the bridge waits for the next save. Every wait is on
 * a published event or on the bridge's own output.
 */
import { appendFileSync, cpSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { beforeEach, describe, expect, it } from 'vitest';
import { runCli, useCliProcesses, waitOutput } from '../helpers/cli.js';
import { stopCli } from '../helpers/platform.js';
import type { StartedBroker } from '../helpers/broker-fixture.js';
import type { Frame, RawClient } from '../helpers/raw-client.js';
import { brokerWithWatcher, useTestBed } from '../helpers/test-bed.js';
import { FAKE_AHK, ROOT, writeBridgeConfig } from '../helpers/script-fixtures.js';

const WAIT_MS = 15_000;

const bed = useTestBed();
let b: StartedBroker;
let sub: RawClient;

beforeEach(async () => {
  ({ broker: b, watcher: sub } = await brokerWithWatcher(bed, { clientId: 'watch-test', patterns: ['scripts.#'] }));
});
// Registered after the test bed so its hook runs first: the processes stop before the bed removes their folders.
const procs = useCliProcesses();

/** A copy of fixtures/includes to edit. */
function includeTree(): string {
  const dir = bed.tempDir('cli-watch-');
  cpSync(path.join(ROOT, 'fixtures/includes'), dir, { recursive: true });
  return dir;
}

const delivery = (topic: string, pred: (m: Frame) => boolean = () => true): Promise<Frame> => sub.waitDelivery(topic, pred, WAIT_MS);
const pidOf = (m: Frame): number => m.payload.pid as number;

describe('--watch', () => {
  it('is offered by bridge run and bridge up', async () => {
    for (const cmd of ['run', 'up']) {
      const res = await runCli([cmd, '--help']);
      expect(res.code).toBe(0);
      expect(res.stdout).toMatch(/--watch\s+restart (the|a) script when it or a file it #Includes\s+is\s+saved/);
    }
  });

  it('bridge run: a save restarts the script; a syntax error is reported and the next save starts it again', async () => {
    const dir = includeTree();
    const main = path.join(dir, 'main.ahk');
    const original = readFileSync(main, 'utf8');
    const p = procs.start(['run', main, '--key', 'w', '--ahk', FAKE_AHK, '--host', '127.0.0.1', '--port', String(b.port), '--watch']);
    const first = await delivery('scripts.w.started');
    await waitOutput(p.child, p.stderr, (s) => /watching for changes key=w files=5/.test(s), WAIT_MS);
    // Edit only once the interpreter has read the file (Bridge.ahk's @ready): an edit while
    // it starts is a different story (it may read the new text and fail on its own).
    await sub.waitDeliveries(1, 'scripts.w.ready', WAIT_MS);

    appendFileSync(main, '; edited\n');
    expect((await delivery('scripts.w.stopped')).payload).toMatchObject({ reason: 'stopped', exit_code: 0 });
    await delivery('scripts.w.started', (m) => pidOf(m) !== pidOf(first));
    expect(p.stderr()).toMatch(/INFO +watch: file changed; restarting key=w file=\S*main\.ahk/);
    await sub.waitDeliveries(2, 'scripts.w.ready', WAIT_MS);

    writeFileSync(main, `${original};@fake syntax-error 5 Missing "}"\n`);
    const error = await delivery('scripts.w.error');
    expect(error.payload).toMatchObject({ file: main, line: 5, message: 'Missing "}"' });
    await delivery('scripts.w.stopped', (m) => m.payload.reason === 'load_failure');
    // A script that failed to load is not restarted by the policy, and bridge run stays.
    expect(p.child.exitCode).toBeNull();

    writeFileSync(main, original);
    const pids = sub.deliveries('scripts.w.started').map(pidOf);
    const fixed = await delivery('scripts.w.started', (m) => !pids.includes(pidOf(m)));
    expect(fixed.payload.script).toBe(main);
    // A restart stopped each running script; the one that failed to load had nothing to stop.
    expect(sub.deliveries('scripts.w.stopped').map((m: Frame) => m.payload.reason)).toEqual(['stopped', 'stopped', 'load_failure']);

    const res = await stopCli(p);
    expect(res.stderr).not.toMatch(/(ERROR|WARNING) +watch:/);
  });

  it('bridge up: watches every script in the config and the files each includes', async () => {
    const dir = includeTree();
    writeFileSync(path.join(dir, 'solo.ahk'), ';@fake bridge\n');
    const config = writeBridgeConfig(dir, {
      broker: { host: '127.0.0.1', port: b.port },
      interpreter: FAKE_AHK,
      scripts: [
        { key: 'tree', path: 'main.ahk' },
        { key: 'solo', path: 'solo.ahk' },
      ],
    });
    const p = procs.start(['up', '--config', config, '--watch']);
    const tree1 = await delivery('scripts.tree.started');
    const solo1 = await delivery('scripts.solo.started');
    await waitOutput(p.child, p.stderr, (s) => /watching for changes key=tree files=5/.test(s) && /watching for changes key=solo files=1/.test(s), WAIT_MS);

    // A file included by a library file that main.ahk includes with <Tools>.
    appendFileSync(path.join(dir, 'Lib', 'parts', 'format.ahk'), '; edited\n');
    await delivery('scripts.tree.stopped', (m) => m.payload.reason === 'stopped');
    await delivery('scripts.tree.started', (m) => pidOf(m) !== pidOf(tree1));

    appendFileSync(path.join(dir, 'solo.ahk'), '; edited\n');
    await delivery('scripts.solo.started', (m) => pidOf(m) !== pidOf(solo1));
    // Each save restarted its own script only.
    expect(sub.deliveries('scripts.tree.started')).toHaveLength(2);
    expect(sub.deliveries('scripts.solo.started')).toHaveLength(2);
    expect(p.stderr()).toMatch(/file changed; restarting key=tree file=\S*format\.ahk/);

    await stopCli(p);
  });
});
