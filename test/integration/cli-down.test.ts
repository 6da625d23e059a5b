/**
 * `bridge down [ID]` stops a running `bridge up` the way Ctrl+C in its console would: its
 * scripts stop, then it leaves (taking the broker with it when it hosts one), and `down`
 * returns once it has. A bridge started hidden at logon has no other clean way to stop.
 * And `up --log-file`: everything it logs, and the one message of a second copy, is in
 * the file, not on stderr.
 */
import { readFileSync, realpathSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { runCli, useCliProcesses, waitOutput } from '../helpers/cli.js';
import { freePort } from '../helpers/ports.js';
import { FAKE_AHK, scriptFixture, writeBridgeConfig } from '../helpers/script-fixtures.js';
import { useTempDirs } from '../helpers/temp-dirs.js';
import { brokerWithWatcher, subscribe, useTestBed } from '../helpers/test-bed.js';

const bed = useTestBed();
// Before useCliProcesses: its processes stop before their folders are removed.
const newTempDir = useTempDirs();
const procs = useCliProcesses();

function tempDir(): string {
  return realpathSync(newTempDir('bridge-down-'));
}

const tickerConfig = (port: number, dir = tempDir()): string =>
  writeBridgeConfig(dir, { broker: { host: '127.0.0.1', port }, interpreter: FAKE_AHK, scripts: [{ key: 'tick', path: scriptFixture('ticker') }] });

/** The message lines of a text log (time and level dropped), for order checks. */
const logMessages = (text: string): string[] => text.split('\n').filter(Boolean).map((l) => l.replace(/^\S+ (\S+)\s+/, '$1 '));

describe('bridge down', () => {
  it('stops a bridge up that hosts the broker: its script stops, it exits 0, down says what it stopped', async () => {
    const dir = tempDir();
    const port = await freePort();
    const config = tickerConfig(port, dir);
    const logFile = path.join(dir, 'logs', 'bridge.log');
    const up = procs.start(['up', '--config', config, '--log-file', logFile]);
    await waitOutput(up.child, up.stdout, (s) => /^tick +running/m.test(s));

    // A second copy (as a second logon start would be): one message, in its log file too.
    const second = await runCli(['up', '--config', config, '--log-file', logFile]);
    const secondMessage =
      `another bridge up runs on this computer as "bridge" (pid ${up.child.pid}): this \`bridge up\` exits and changes nothing; ` +
      'the running one keeps the broker and its scripts. To restart it, `bridge down` first; to run a second bridge beside it, give this one its own --client-id';
    expect(second.code).toBe(1);
    expect(second.stderr).toBe(`bridge: ${secondMessage}\n`);
    expect(up.child.exitCode).toBeNull();

    const down = await runCli(['down', '--host', '127.0.0.1', '--port', String(port)]);
    expect(down.stderr).toBe('');
    expect(down.stdout).toBe(`stopped bridge "bridge" (pid ${up.child.pid}, 1 script)\n`);
    expect(down.code).toBe(0);
    const res = await up.done;
    expect(res.code).toBe(0);
    // Everything it logged went to the file.
    expect(res.stderr).toBe('');
    const lines = logMessages(readFileSync(logFile, 'utf8'));
    const at = (re: RegExp): number => lines.findIndex((l) => re.test(l));
    expect(at(/^INFO bridge: no broker was running: hosting it/)).toBeGreaterThanOrEqual(0);
    expect(at(/^INFO script:tick: script started key=tick/)).toBeGreaterThan(at(/hosting it/));
    expect(lines).toContain(`ERROR bridge: ${secondMessage}`);
    expect(at(/^INFO bridge: stop requested sender=bridge-cli-/)).toBeGreaterThan(at(/^ERROR bridge: another bridge/));
    expect(at(/^INFO script:tick: script stopped key=tick reason=stopped/)).toBeGreaterThan(at(/stop requested/));
    expect(at(/^INFO broker: broker stopped/)).toBeGreaterThan(at(/script stopped key=tick/));

    // The lock went with it: the next start runs.
    const next = procs.start(['up', '--config', config]);
    await waitOutput(next.child, next.stdout, (s) => /^tick +running/m.test(s));
  });

  it('a bridge killed outright leaves no lock behind: the next start runs', async () => {
    const port = await freePort();
    const config = tickerConfig(port);
    const first = procs.start(['up', '--config', config]);
    await waitOutput(first.child, first.stdout, (s) => /^tick +running/m.test(s));
    first.child.kill('SIGKILL');
    await first.done;
    const next = procs.start(['up', '--config', config]);
    await waitOutput(next.child, next.stdout, (s) => /^tick +running/m.test(s));
  });

  it('two copies started at the same moment: one runs the scripts, the other exits naming it', async () => {
    const { broker, watcher } = await brokerWithWatcher(bed, { patterns: ['scripts.tick.started', 'system.client.#'] });
    const config = tickerConfig(broker.port);
    const [a, b] = [procs.start(['up', '--config', config]), procs.start(['up', '--config', config])];
    const loser = await Promise.race([a.done.then(() => a), b.done.then(() => b)]);
    const winner = loser === a ? b : a;
    const res = await loser.done;
    expect(res.code).toBe(1);
    expect(res.stderr).toBe(
      `bridge: another bridge up runs on this computer as "bridge" (pid ${winner.child.pid}): this \`bridge up\` exits and changes nothing; ` +
        'the running one keeps the broker and its scripts. To restart it, `bridge down` first; to run a second bridge beside it, give this one its own --client-id\n',
    );
    await waitOutput(winner.child, winner.stdout, (s) => /^tick +running/m.test(s));
    expect(watcher.deliveries('scripts.tick.started')).toHaveLength(1);
    // The winner connected once and was never taken over.
    const bridgeEvents = watcher.deliveries().filter((p) => (p.payload as { client_id?: string }).client_id === 'bridge');
    expect(bridgeEvents.map((p) => p.topic)).toEqual(['system.client.connected']);
  });

  it('stops a bridge up that joined a broker: the broker stays, and sees the script stop before the bridge leaves', async () => {
    const { broker, watcher } = await brokerWithWatcher(bed, { patterns: ['scripts.tick.#', 'system.client.disconnected'] });
    const up = procs.start(['up', '--config', tickerConfig(broker.port), '--client-id', 'bridge.office']);
    await watcher.waitDelivery('scripts.tick.started');
    const down = await runCli(['down', 'bridge.office', '--host', '127.0.0.1', '--port', String(broker.port)]);
    expect(down.stdout).toBe(`stopped bridge "bridge.office" (pid ${up.child.pid}, 1 script)\n`);
    expect(down.code).toBe(0);
    expect((await up.done).code).toBe(0);
    // down saw it leave; the watcher's copy may still be on its way.
    await watcher.waitDelivery('system.client.disconnected', (p) => (p.payload as { client_id?: string }).client_id === 'bridge.office');
    const order = watcher
      .deliveries()
      .map((p) => p as { topic: string; payload: { client_id?: string } })
      .filter((p) => p.topic === 'scripts.tick.stopped' || p.payload.client_id === 'bridge.office')
      .map((p) => p.topic);
    expect(order).toEqual(['scripts.tick.stopped', 'system.client.disconnected']);
  });

  it('an id no bridge is connected as: exit 1 naming the bridges that are', async () => {
    const { broker, watcher } = await brokerWithWatcher(bed, { patterns: ['scripts.tick.started'] });
    const args = ['--host', '127.0.0.1', '--port', String(broker.port)];
    const none = await runCli(['down', ...args]);
    expect(none.code).toBe(1);
    expect(none.stderr).toBe(`bridge: no bridge is connected to 127.0.0.1:${broker.port} as "bridge"; no bridge is connected\n`);
    procs.start(['up', '--config', tickerConfig(broker.port)]);
    await watcher.waitDelivery('scripts.tick.started');
    const wrong = await runCli(['down', 'brigde', ...args]);
    expect(wrong.code).toBe(1);
    expect(wrong.stderr).toBe(`bridge: no bridge is connected to 127.0.0.1:${broker.port} as "brigde"; connected bridges: bridge\n`);
  });

  it('a bridge run is not stopped by down: exit 1 saying what stops it', async () => {
    const { broker, watcher } = await brokerWithWatcher(bed, { patterns: ['scripts.tick.started'] });
    const run = procs.start(['run', scriptFixture('ticker'), '--key', 'tick', '--ahk', FAKE_AHK, '--host', '127.0.0.1', '--port', String(broker.port)]);
    await watcher.waitDelivery('scripts.tick.started');
    const res = await runCli(['down', 'bridge.tick', '--host', '127.0.0.1', '--port', String(broker.port)]);
    expect(res.code).toBe(1);
    expect(res.stderr).toBe(
      'bridge: "bridge.tick" is connected but does not take stop requests: it is not a `bridge up` of this version ' +
        '(a `bridge run` stops with Ctrl+C in its console; `bridge stop KEY` stops one script)\n',
    );
    expect(run.child.exitCode).toBeNull();
  });

  it('a bridge that does not answer: --timeout bounds the wait for its answer too', async () => {
    const broker = await bed.broker();
    const stuck = await bed.connected(broker.port, 'stuck');
    await subscribe(stuck, 'bridges.shutdown');
    const started = Date.now();
    const res = await runCli(['down', 'stuck', '--timeout', '1', '--host', '127.0.0.1', '--port', String(broker.port)]);
    const tookMs = Date.now() - started;
    expect(res.code).toBe(1);
    expect(res.stderr).toBe('bridge: "stuck" is connected but had not answered when --timeout (1 s) ran out\n');
    // The answer's own bound is 10 s; a CLI process starts in well under a second.
    expect(tookMs).toBeLessThan(6_000);
  });

  it('a --timeout that is not a number of seconds: exit 1 before connecting', async () => {
    const res = await runCli(['down', '--timeout', 'soon', '--port', String(await freePort())]);
    expect(res.code).toBe(1);
    expect(res.stderr).toBe('bridge: invalid --timeout "soon": use seconds, more than 0 and at most 600\n');
  });
});
