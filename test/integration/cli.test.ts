import { describe, expect, it } from 'vitest';
import { startBroker } from '../helpers/broker-fixture.js';
import { runCli, useCliProcesses, waitOutput } from '../helpers/cli.js';
import { ON_WINDOWS, POSIX_SIGNALS, stopCli } from '../helpers/platform.js';
import { freePort as deadPort } from '../helpers/ports.js';
import { RawClient } from '../helpers/raw-client.js';
import { useBrokerPerTest } from '../helpers/test-bed.js';


// Under Wine each CLI start costs 1-5 s, and the Windows lane shares CI's 25 minutes: the
// tests marked PLATFORM_NEUTRAL check help and error wording that is the same JavaScript on
// every platform, and run on Linux only. Those about processes, signals, stdin, ports and
// what a client prints run on both.
const PLATFORM_NEUTRAL = ON_WINDOWS;

describe('bridge CLI without a broker', () => {
  it('--help lists every command and exits 0', async () => {
    const res = await runCli(['--help']);
    expect(res.code).toBe(0);
    for (const cmd of ['broker', 'pub', 'sub', 'request', 'status']) expect(res.stdout).toContain(cmd);
  });

  it.skipIf(PLATFORM_NEUTRAL)('--help works on every command', async () => {
    for (const cmd of ['broker', 'pub', 'sub', 'request', 'status']) {
      const res = await runCli([cmd, '--help']);
      expect(res.code, cmd).toBe(0);
      expect(res.stdout, cmd).toContain('--port');
    }
  });

  it('exits 1 with how to start a broker when none is reachable', async () => {
    const port = await deadPort();
    const commands = [['status'], ['pub', 'a.b', '1'], ['request', 'status'], ['sub', '#']];
    for (const args of PLATFORM_NEUTRAL ? commands.slice(0, 1) : commands) {
      const res = await runCli([...args, '--port', String(port), '--host', '127.0.0.1']);
      expect(res.code, args.join(' ')).toBe(1);
      expect(res.stderr).toContain(`127.0.0.1:${port}`);
      expect(res.stderr).toContain('npx bridge broker');
    }
  });

  // A script command needs a bridge running the scripts, not a bare broker: `bridge up`
  // hosts the broker and runs them.
  it('the script commands say to start `npx bridge up` when no broker is reachable', async () => {
    const port = await deadPort();
    const commands = [['ps'], ['logs', 'cad'], ['start', 'cad'], ['stop', 'cad'], ['restart', 'cad']];
    for (const args of PLATFORM_NEUTRAL ? commands.slice(0, 1) : commands) {
      const res = await runCli([...args, '--port', String(port), '--host', '127.0.0.1']);
      expect(res.code, args.join(' ')).toBe(1);
      expect(res.stderr, args.join(' ')).toContain(`127.0.0.1:${port}`);
      expect(res.stderr, args.join(' ')).toContain(`\`npx bridge up\` (add --port ${port} if needed)`);
      expect(res.stderr, args.join(' ')).not.toContain('npx bridge broker');
    }
  });

  it.skipIf(PLATFORM_NEUTRAL)('exits 1 on a usage error', async () => {
    const res = await runCli(['pub']);
    expect(res.code).toBe(1);
    expect(res.stderr).toMatch(/missing required argument/);
    expect((await runCli(['pub', 'a', '--qos', '2'])).code).toBe(1);
    expect((await runCli(['frobnicate'])).code).toBe(1);
  });

  it.skipIf(PLATFORM_NEUTRAL)('broker: an invalid option or config file exits 1 naming the problem', async () => {
    const bad = await runCli(['broker', '--max-connections', 'many']);
    expect(bad.code).toBe(1);
    expect(bad.stderr).toMatch(/max_connections must be a number, got "many"/);
    const missing = await runCli(['broker', '--config', '/nonexistent/bridge.json']);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toMatch(/cannot read config file \/nonexistent\/bridge.json/);
    const env = await runCli(['broker'], { BROKER_PORT: 'eighty' });
    expect(env.code).toBe(1);
    expect(env.stderr).toMatch(/BROKER_PORT/);
  });
});

describe('bridge broker', () => {
  // Stopped after each test if still running, also when the test fails first.
  const cli = useCliProcesses();
  it.runIf(POSIX_SIGNALS).each([
    ['SIGTERM', 'terminated'],
    ['SIGINT', 'interrupted'],
  ] as const)('serves clients, publishes shutdown on %s and exits 0', async (signal, reason) => {
    const port = await deadPort();
    const proc = cli.start(['broker', '--host', '127.0.0.1', '--log-level', 'info'], { BROKER_PORT: String(port) });
    await waitOutput(proc.child, proc.stderr, (s) => s.includes('broker listening'));
    expect(proc.stderr()).toContain(`port=${port}`);
    const c = await RawClient.connected(port, 'watcher');
    await c.call('subscribe', { patterns: ['system.broker.*'] });
    expect((await c.waitDelivery('system.broker.ready')).payload).toMatchObject({ host: '127.0.0.1', port });
    proc.child.kill(signal);
    const shutdown = await c.waitDelivery('system.broker.shutdown');
    expect(shutdown.payload).toEqual({ reason });
    await c.waitClosed();
    const res = await proc.done;
    expect(res.code).toBe(0);
  });

  it.runIf(ON_WINDOWS)('Windows: terminating the broker process (what a signal does there) closes every client at once', async () => {
    const port = await deadPort();
    const proc = cli.start(['broker', '--host', '127.0.0.1', '--log-level', 'info'], { BROKER_PORT: String(port) });
    await waitOutput(proc.child, proc.stderr, (s) => s.includes('broker listening'));
    const c = await RawClient.connected(port, 'watcher');
    await c.call('subscribe', { patterns: ['system.broker.*'] });
    proc.child.kill('SIGTERM');
    await c.waitClosed();
    // TerminateProcess: no handler ran, so no shutdown event and no clean exit code.
    expect(c.deliveries('system.broker.shutdown')).toEqual([]);
    expect((await proc.done).code).not.toBe(0);
  });

  it('--stop-on-stdin-close: stops cleanly when its parent closes stdin (on every platform)', async () => {
    const port = await deadPort();
    const proc = cli.start(['broker', '--host', '127.0.0.1', '--port', String(port), '--stop-on-stdin-close']);
    await waitOutput(proc.child, proc.stderr, (s) => s.includes('broker listening'));
    const c = await RawClient.connected(port, 'watcher');
    await c.call('subscribe', { patterns: ['system.broker.*'] });
    proc.child.stdin.write('anything written to stdin is ignored\n');
    await c.call('ping');
    expect(c.deliveries('system.broker.shutdown')).toEqual([]);
    proc.child.stdin.end();
    expect((await c.waitDelivery('system.broker.shutdown')).payload).toEqual({ reason: 'parent_exited' });
    expect((await proc.done).code).toBe(0);
  });

  it('without --stop-on-stdin-close, a closed stdin does not stop the broker', async () => {
    const port = await deadPort();
    const proc = cli.start(['broker', '--host', '127.0.0.1', '--port', String(port)]);
    await waitOutput(proc.child, proc.stderr, (s) => s.includes('broker listening'));
    proc.child.stdin.end();
    const c = await RawClient.connected(port, 'watcher');
    expect((await c.call('ping')).result).toMatchObject({ pong: true });
    c.close();
    await stopCli(proc);
  });

  // The client commands take -H/-p, and so do mosquitto's users: `bridge broker -p N` must
  // listen there, both when the line is read without commander and when commander reads it.
  it.each([
    ['read without commander', (port: number) => ['-H', '127.0.0.1', '-p', String(port)]],
    ['read by commander', (port: number) => ['-H127.0.0.1', `-p${port}`]],
  ])('takes -H and -p for --host and --port (%s)', async (_how, flags) => {
    const port = await deadPort();
    const proc = cli.start(['broker', ...flags(port), '--log-level', 'info']);
    await waitOutput(proc.child, proc.stderr, (s) => s.includes('broker listening'));
    const c = await RawClient.connected(port, 'watcher');
    expect((await c.call('ping')).result).toMatchObject({ pong: true });
    c.close();
    await stopCli(proc);
  });

  // The broker's refusal names the protocol's "token" param; a CLI user needs the flags.
  it('a client without the token, or with a wrong one, is told --token, BROKER_TOKEN and --client-id', async () => {
    const port = await deadPort();
    const proc = cli.start(['broker', '--host', '127.0.0.1', '--port', String(port), '--token', 's3cret', '--log-level', 'info']);
    await waitOutput(proc.child, proc.stderr, (s) => s.includes('broker listening'));
    const address = ['--host', '127.0.0.1', '--port', String(port)];
    const none = await runCli(['status', ...address]);
    expect(none.code).toBe(1);
    expect(none.stderr).toContain('accepts only clients with credentials');
    expect(none.stderr).toContain('This broker requires credentials: pass its token with --token <token> or BROKER_TOKEN.');
    expect(none.stderr).toContain('-i/--client-id <id>');
    const wrong = await runCli(['pub', 'a.b', '1', ...address], { BROKER_TOKEN: 'guess' });
    expect(wrong.code).toBe(1);
    expect(wrong.stderr).toContain('authentication failed: wrong token');
    expect(wrong.stderr).toContain('The broker refused the token: check --token <token> or BROKER_TOKEN.');
    const right = await runCli(['status', ...address, '--token', 's3cret']);
    expect(right.code, right.stderr).toBe(0);
    await stopCli(proc);
  });

  it('a busy port is a clear error', async () => {
    const b = await startBroker();
    try {
      const res = await runCli(['broker', '--host', '127.0.0.1', '--port', String(b.port)]);
      expect(res.code).toBe(1);
      expect(res.stderr).toMatch(/port \d+ is in use/);
      // With --stop-on-stdin-close and stdin left open (a parent waiting on it), it still exits.
      const held = cli.start(['broker', '--host', '127.0.0.1', '--port', String(b.port), '--stop-on-stdin-close']);
      const heldRes = await held.done;
      expect(heldRes.code).toBe(1);
      expect(heldRes.stderr).toMatch(/port \d+ is in use/);
    } finally {
      await b.stop();
    }
  });
});

describe('bridge client commands', () => {
  const broker = useBrokerPerTest();
  const cli = useCliProcesses();

  it('sub prints "topic payload" lines; pub sends JSON, and text with --string', async () => {
    const sub = cli.start(['sub', 'jobs.*', 'notes.#', '--count', '3', ...broker.cliArgs]);
    // It says on stderr once its subscription exists.
    await waitOutput(sub.child, sub.stderr, (s) => s.includes('bridge sub: listening on jobs.*, notes.#'));
    const watcher = await RawClient.connected(broker.current.port, 'w');
    expect((await watcher.call('status')).result.subscription_count).toBe(2);
    const pub1 = await runCli(['pub', 'jobs.activated', '{"job_id":"12345"}', ...broker.cliArgs]);
    expect(pub1.code).toBe(0);
    expect(pub1.stdout).toMatch(/published jobs.activated to 1 subscriber/);
    expect((await runCli(['pub', 'notes.x.y', '--string', 'hello world', ...broker.cliArgs])).code).toBe(0);
    expect((await runCli(['pub', 'ignored.topic', '1', ...broker.cliArgs])).stdout).toMatch(/to 0 subscribers/);
    expect((await runCli(['pub', 'jobs.count', '42', '--json', ...broker.cliArgs])).stdout).toMatch(/"delivered":1/);
    const res = await sub.done;
    expect(res.code).toBe(0);
    expect(res.stdout.trim().split('\n')).toEqual(['jobs.activated {"job_id":"12345"}', 'notes.x.y "hello world"', 'jobs.count 42']);
    watcher.close();
  });

  it('sub --json prints the delivery with sender and message id; pub flags reach the broker', async () => {
    const pub = await RawClient.connected(broker.current.port, 'ds_pas');
    await pub.call('publish', { topic: 'cfg.mode', payload: { mode: 'cut' }, retain: true, qos: 1 });
    const res = await runCli(['sub', 'cfg.*', '--json', '--count', '1', ...broker.cliArgs]);
    expect(res.code).toBe(0);
    const line = JSON.parse(res.stdout.trim());
    expect(line).toMatchObject({ topic: 'cfg.mode', payload: { mode: 'cut' }, sender: 'ds_pas', qos: 1, retained: true, message_id: expect.any(String) });
    expect((await runCli(['pub', 'cfg.mode', '""', '--retain', ...broker.cliArgs])).code).toBe(0);
    expect(broker.current.broker.status().retained_count).toBe(1); // only system.broker.ready remains
    pub.close();
  });

  it('request prints the reply as JSON; errors exit 1 with the code', async () => {
    const svc = await RawClient.connected(broker.current.port, 'svc');
    await svc.call('subscribe', { patterns: ['scripts.status'] });
    svc.socket.on('data', () => {
      const d = svc.deliveries('scripts.status').at(-1);
      if (d && !d.answered) {
        d.answered = true;
        svc.notify('reply', { reply_to: d.reply_to, result: { running: true, script_id: d.payload.script_id } });
      }
    });
    const res = await runCli(['request', 'scripts.status', '{"script_id":"saw1"}', ...broker.cliArgs]);
    expect(res.code).toBe(0);
    expect(JSON.parse(res.stdout)).toEqual({ running: true, script_id: 'saw1' });
    const none = await runCli(['request', 'nobody.listens', ...broker.cliArgs]);
    expect(none.code).toBe(1);
    expect(none.stderr).toMatch(/-32005/);
    const bad = await runCli(['request', 'x', '--timeout', '500', ...broker.cliArgs]);
    expect(bad.code).toBe(1);
    svc.close();
  });

  it('status prints a summary and the clients; --json prints the raw status', async () => {
    const c = await RawClient.connected(broker.current.port, 'cad_hotkeys', { client_type: 'ahk' });
    const text = await runCli(['status', ...broker.cliArgs]);
    expect(text.code).toBe(0);
    expect(text.stdout).toMatch(/broker \S+ on 127\.0\.0\.1:\d+/);
    expect(text.stdout).toMatch(/cad_hotkeys\s+ahk\s+anonymous\s+online/);
    const json = await runCli(['status', '--json', ...broker.cliArgs]);
    expect(json.code, json.stderr).toBe(0);
    expect(JSON.parse(json.stdout)).toMatchObject({ client_count: 2, port: broker.current.port });
    c.close();
  });

  it.skipIf(PLATFORM_NEUTRAL)('honours BROKER_HOST and BROKER_PORT', async () => {
    const res = await runCli(['status', '--json'], { BROKER_HOST: '127.0.0.1', BROKER_PORT: String(broker.current.port) });
    expect(res.code).toBe(0);
    expect(JSON.parse(res.stdout).port).toBe(broker.current.port);
  });
});
