/**
 * `--upstream` on the commands that can host a broker, through the built CLI: misuse
 * exits 1 with one message before anything starts; an upstream that is not there leaves
 * the broker working locally, with the federation row in `bridge status` saying so.
 * Federation itself is tested against real servers in federation-nats/-mqtt.test.ts.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { runCli, useCliProcesses, waitOutput } from '../helpers/cli.js';
import { freePort } from '../helpers/ports.js';
import { FAKE_AHK, scriptFixture } from '../helpers/script-fixtures.js';
import { useTestBed } from '../helpers/test-bed.js';

const bed = useTestBed();
// After useTestBed: bridges stop before the broker.
const procs = useCliProcesses();

describe('bridge broker --upstream', () => {
  it('refuses what is not an upstream URL, naming the schemes', async () => {
    const p = await freePort();
    const cases: [string, RegExp][] = [
      ['nats-host:4222', /^bridge: --upstream: federation upstream "nats-host:4222" has scheme "nats-host"; use nats:\/\/ \(or tls:\/\/\) or mqtt:\/\/ \(or mqtts:\/\/\)\n$/],
      ['http://nats-host:4222', /^bridge: --upstream: federation upstream "http:\/\/nats-host:4222" has scheme "http"; use nats:\/\//],
      ['not a url', /^bridge: --upstream: federation upstream "not a url" is not a URL; use nats:\/\/host:4222 or mqtt:\/\/host:1883\n$/],
    ];
    for (const [url, message] of cases) {
      const res = await runCli(['broker', '--port', String(p), '--upstream', url]);
      expect(res.code, url).toBe(1);
      expect(res.stderr, url).toMatch(message);
    }
  });

  it('a TLS file that cannot be read stops the start, naming the file, for either engine', async () => {
    const dir = bed.tempDir('fed-tls-');
    const missing = join(dir, 'no-such-ca.pem');
    const cases: [string, string, string][] = [
      // [upstream, which file, its path]: a typo'd path, and a folder given for a file
      [`tls://127.0.0.1:${await freePort()}`, 'ca', missing],
      [`mqtts://127.0.0.1:${await freePort()}`, 'ca', missing],
      [`nats://127.0.0.1:${await freePort()}`, 'cert', dir],
      [`mqtt://127.0.0.1:${await freePort()}`, 'key', dir],
    ];
    for (const [upstream, kind, file] of cases) {
      const config = join(dir, 'broker.json');
      writeFileSync(config, JSON.stringify({ federation: { upstream, tls: { [kind]: file } } }));
      const port = await freePort();
      const res = await runCli(['broker', '--port', String(port), '--config', config]);
      const code = file === dir ? 'EISDIR' : 'ENOENT';
      expect(res.code, upstream).toBe(1);
      expect(res.stderr, upstream).toBe(`bridge: federation tls ${kind} "${file}" cannot be read (${code}); give the path of a PEM file\n`);
    }
  });

  it('an upstream that is not there: local traffic works, WARNING once, and status shows the row', async () => {
    const [p, nats] = [await freePort(), await freePort()];
    const broker = procs.start(['broker', '--port', String(p), '--upstream', `nats://user:secret@127.0.0.1:${nats}`]);
    await waitOutput(broker.child, broker.stderr, (s) => s.includes('broker listening'));
    const sub = procs.start(['sub', 'jobs.#', '--port', String(p), '-C', '1']);
    await waitOutput(sub.child, sub.stderr, (s) => s.includes('listening on'));
    const pub = await runCli(['pub', 'jobs.activated', '{"job":1}', '--port', String(p)]);
    expect(pub.code, pub.stderr).toBe(0);
    expect((await sub.done).stdout).toBe('jobs.activated {"job":1}\n');
    // The adapter retries quietly; after 5 s the operator is told.
    const log = await waitOutput(broker.child, broker.stderr, (s) => s.includes('federation down'), 15_000);
    expect(log).toMatch(new RegExp(`WARNING +broker: federation down: local traffic goes on; QoS 1 exports wait for the upstream upstream=nats://127\\.0\\.0\\.1:${nats} reason="no answer from the upstream within 5 s; still trying"`));
    const status = await runCli(['status', '--port', String(p)]);
    expect(status.code).toBe(0);
    expect(status.stdout).toMatch(new RegExp(`^federation nats nats://127\\.0\\.0\\.1:${nats}: down since `, 'm'));
    expect(status.stdout + broker.stderr()).not.toContain('secret');
  });

  it('bridge run --upstream that joins a broker another process hosts says it does not federate', async () => {
    const b = await bed.broker();
    const run = procs.start(['run', scriptFixture('ticker'), '--key', 'tick', '--ahk', FAKE_AHK, '--host', '127.0.0.1', '--port', String(b.port), '--upstream', 'nats://127.0.0.1:4222']);
    const log = await waitOutput(run.child, run.stderr, (s) => s.includes('--upstream is not used here'));
    expect(log).toMatch(/WARNING +bridge: federation is set up by the process hosting the broker; this bridge joined one, so --upstream is not used here \(it will be if this bridge takes the broker over\)/);
  });
});
