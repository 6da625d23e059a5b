/**
 * `bridge up` and `bridge demo` as real processes with the fake interpreter.
 */
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { runCli, useCliProcesses, waitOutput } from '../helpers/cli.js';
import { freePort } from '../helpers/ports.js';
import { useTestBed } from '../helpers/test-bed.js';
import { stopCli } from '../helpers/platform.js';
import { FAKE_AHK, ROOT, scriptFixture, writeBridgeConfig } from '../helpers/script-fixtures.js';
import { useTempDirs } from '../helpers/temp-dirs.js';

const bed = useTestBed();
// Before useCliProcesses: its processes stop before their folders are removed.
const tempDir = useTempDirs();
const procs = useCliProcesses();

/** A config in a temp folder, pointing at the fixture scripts. */
function writeConfig(port: number, extra: Record<string, unknown> = {}): string {
  return writeBridgeConfig(tempDir('bridge-up-'), {
    broker: { host: '127.0.0.1', port },
    interpreter: FAKE_AHK,
    script_folders: [path.join(ROOT, 'fixtures/scripts')],
    scripts: [
      { key: 'echo', path: scriptFixture('echo') },
      { key: 'tick', path: scriptFixture('ticker'), restart: 'always' },
    ],
    ...extra,
  });
}

describe('bridge up', () => {
  it('starts every script under one hosted broker and prints a colourless summary when not a TTY', async () => {
    const port = await freePort();
    const p = procs.start(['up', '--config', writeConfig(port)]);
    const out = await waitOutput(p.child, p.stdout, (s) => s.includes('tick'));
    expect(out).toMatch(/hosting the broker on 127\.0\.0\.1:\d+, 2 scripts/);
    expect(out).toMatch(/^KEY\s+STATE\s+PID\s+RESTARTS\s+LAST EXIT\s+POLICY\s+SCRIPT$/m);
    expect(out).toMatch(/^echo\s+running\s+\d+\s+0\s+-\s+on-failure\s+\S+echo\.ahk$/m);
    expect(out).toMatch(/^tick\s+running\s+\d+\s+0\s+-\s+always\s+\S+ticker\.ahk$/m);
    expect(out).not.toContain('\u001b[');

    const c = await bed.connected(port, 'ahk_manager');
    const list = await c.call('request', { topic: 'scripts.list', timeout: 5 });
    expect(list.result.scripts.map((s: { key: string; running: boolean }) => [s.key, s.running])).toEqual([
      ['echo', true],
      ['tick', true],
    ]);
    const status = await c.call('request', { topic: 'scripts.status', payload: { script_id: 'echo' }, timeout: 5 });
    expect(status.result).toMatchObject({ running: true, pid: expect.any(Number), started_at: expect.any(String), restarts: 0, last_exit: null });
    const unknown = await c.call('request', { topic: 'scripts.status', payload: { script_id: 'nope' }, timeout: 5 });
    expect(unknown.result).toEqual({ script_id: 'nope', running: false, known: false });

    const before = status.result.pid;
    const restarted = await c.call('request', { topic: 'scripts.echo.restart', timeout: 10 }, 10_000);
    expect(restarted.result).toMatchObject({ key: 'echo', running: true, last_exit: { reason: 'stopped' } });
    expect(restarted.result.pid).not.toBe(before);

    const stopped = await c.call('request', { topic: 'scripts.tick.stop', timeout: 10 }, 10_000);
    expect(stopped.result).toMatchObject({ key: 'tick', running: false, state: 'stopped' });
    const started = await c.call('request', { topic: 'scripts.tick.start', timeout: 10 }, 10_000);
    expect(started.result).toMatchObject({ key: 'tick', running: true, state: 'running', pid: expect.any(Number) });

    await stopCli(p, 'SIGTERM');
  });

  it('under per-client permissions only the script manager drives scripts; the bridge authenticates with BROKER_TOKEN', async () => {
    const port = await freePort();
    const clients = [
      { id: 'bridge', secret: 'bridge-secret' },
      { id: 'ahk_manager', secret: 'manager-secret' },
      { id: 'job_manager', secret: 'jobs-secret', publish: ['jobs.#'], request: ['scripts.list', 'scripts.status'] },
    ];
    const file = writeConfig(port, { broker: { host: '127.0.0.1', port, clients } });
    const p = procs.start(['up', '--config', file], { BROKER_TOKEN: 'bridge-secret' });
    await waitOutput(p.child, p.stdout, (s) => s.includes('tick'));
    const jobs = await bed.connected(port, 'job_manager', { token: 'jobs-secret' });
    const list = await jobs.call('request', { topic: 'scripts.list', timeout: 5 });
    expect(list.result.scripts).toHaveLength(2);
    for (const topic of ['scripts.echo.stop', 'scripts.echo.command.ping', 'scripts.run']) {
      const res = await jobs.call('request', { topic, timeout: 5 });
      expect(res.error, topic).toMatchObject({ code: -32004, data: { rule: 'request.allow', identity: 'job_manager' } });
    }
    const manager = await bed.connected(port, 'ahk_manager', { token: 'manager-secret' });
    const stopped = await manager.call('request', { topic: 'scripts.echo.stop', timeout: 10 }, 10_000);
    expect(stopped.result).toMatchObject({ key: 'echo', running: false, state: 'stopped' });
    const status = (await manager.call('status')).result;
    expect(status.clients.find((c: { client_id: string }) => c.client_id === 'bridge')).toMatchObject({ identity: 'bridge', connected: true });
    await stopCli(p, 'SIGTERM');
  });

  it('scripts.run starts a script from a configured folder and refuses one outside it', async () => {
    const port = await freePort();
    const p = procs.start(['up', '--config', writeConfig(port)]);
    await waitOutput(p.child, p.stdout, (s) => s.includes('tick'));
    const c = await bed.connected(port, 'ahk_manager');
    await c.call('subscribe', { patterns: ['scripts.hello2.#'] });
    const ok = await c.call('request', { topic: 'scripts.run', payload: { script_path: path.join(ROOT, 'fixtures/scripts/hello.ahk'), program_key: 'hello2' }, timeout: 5 });
    expect(ok.result).toMatchObject({ key: 'hello2', script: path.join(ROOT, 'fixtures/scripts/hello.ahk') });
    expect((await c.waitDelivery('scripts.hello2.output')).payload).toEqual({ line: 'hello from AutoHotkey', seq: 2 });

    const outside = await c.call('request', { topic: 'scripts.run', payload: { script_path: path.join(ROOT, 'scripts/cad_hotkeys.ahk'), program_key: 'cad' }, timeout: 5 });
    expect(outside.error).toMatchObject({ code: -32602, message: expect.stringMatching(/not allowed/), data: { reason: 'outside_script_folders' } });
    const traversal = await c.call('request', {
      topic: 'scripts.run',
      payload: { script_path: path.join(ROOT, 'fixtures/scripts/../../scripts/cad_hotkeys.ahk'), program_key: 'cad' },
      timeout: 5,
    });
    expect(traversal.error.message).toMatch(/not allowed/);
    const missing = path.join(ROOT, 'fixtures/scripts/no-such-script.ahk');
    const typo = await c.call('request', { topic: 'scripts.run', payload: { script_path: missing, program_key: 'typo' }, timeout: 5 });
    expect(typo.error).toMatchObject({ code: -32602, message: `Invalid params: script not found: ${missing}`, data: { reason: 'not_found' } });
    const missingOutside = await c.call('request', { topic: 'scripts.run', payload: { script_path: path.join(ROOT, 'scripts/no-such-script.ahk'), program_key: 'typo' }, timeout: 5 });
    expect(missingOutside.error.data).toMatchObject({ reason: 'outside_script_folders' }); // existence is not revealed outside
    const taken = await c.call('request', { topic: 'scripts.run', payload: { script_path: path.join(ROOT, 'fixtures/scripts/crash.ahk'), program_key: 'echo' }, timeout: 5 });
    expect(taken.error).toMatchObject({ code: -32602, message: expect.stringMatching(/already runs/) });
    const badKey = await c.call('request', { topic: 'scripts.run', payload: { script_path: path.join(ROOT, 'fixtures/scripts/hello.ahk'), program_key: 'a.b' }, timeout: 5 });
    expect(badKey.error).toMatchObject({ code: -32602, message: expect.stringMatching(/program_key/) });
  });

  it('scripts.run answers once the start has settled: a script that fails to load is not answered as running', async () => {
    const port = await freePort();
    const p = procs.start(['up', '--config', writeConfig(port)]);
    await waitOutput(p.child, p.stdout, (s) => s.includes('tick'));
    const c = await bed.connected(port, 'ahk_manager');
    const run = (file: string, key: string) =>
      c.call('request', { topic: 'scripts.run', payload: { script_path: path.join(ROOT, 'fixtures/scripts', file), program_key: key }, timeout: 10 });
    const broken = await run('syntax-error.ahk', 'broken');
    expect(broken.result).toMatchObject({ key: 'broken', running: false, state: 'failed', last_exit: { exit_code: 2, reason: 'load_failure' } });
    // A script that prints a line and ends: answered as ended cleanly, not as running.
    const hello = await run('hello.ahk', 'hello4');
    expect(hello.result).toMatchObject({ running: false, state: 'stopped', last_exit: { exit_code: 0, reason: 'clean_exit' } });
    // Answered at its @ready, 800 ms after its start: running, its handlers in place.
    const slow = await run('slow-ready.ahk', 'slow');
    expect(slow.result).toMatchObject({ key: 'slow', running: true, state: 'running' });
    const command = await c.call('request', { topic: 'scripts.slow.command.hello', payload: 1, timeout: 5 });
    expect(command.result).toEqual({ echo: 1, name: 'hello' });
    // Run again while it runs: the same process, answered at once.
    const again = await run('slow-ready.ahk', 'slow');
    expect(again.result).toMatchObject({ running: true, pid: slow.result.pid });
  });

  it('a config with only script_folders hosts scripts.run; one with nothing to do is refused', async () => {
    const port = await freePort();
    const empty = await runCli(['up', '--config', writeConfig(port, { scripts: [], script_folders: [] })]);
    expect(empty.code).toBe(1);
    expect(empty.stderr).toMatch(/lists no scripts, no queues and no script_folders/);

    const p = procs.start(['up', '--config', writeConfig(port, { scripts: [] }), '--stop-on-stdin-close']);
    await waitOutput(p.child, p.stdout, (s) => s.includes('0 scripts'));
    const c = await bed.connected(port, 'ahk_manager');
    await c.call('subscribe', { patterns: ['scripts.tick3.#'] });
    expect((await c.call('request', { topic: 'scripts.list', timeout: 5 })).result).toEqual({ scripts: [] });
    const ok = await c.call('request', { topic: 'scripts.run', payload: { script_path: path.join(ROOT, 'fixtures/scripts/ticker.ahk'), program_key: 'tick3' }, timeout: 5 });
    expect(ok.result).toMatchObject({ key: 'tick3', running: true });
    // Its parent goes away: its end of our stdout and stderr closes (writes fail with
    // EPIPE), and so does stdin. Every script is still stopped, then the bridge exits.
    p.child.stdout.destroy();
    p.child.stderr.destroy();
    p.child.stdin.end();
    expect((await c.waitDelivery('scripts.tick3.stopped')).payload).toMatchObject({ reason: 'stopped' });
    expect((await p.done).code).toBe(0);
  });

  it('a broker that stops while the bridge stops its scripts: no WARNING, no takeover; the bridge finishes and exits 0', async () => {
    // A program that owns both (the Python AHKBridge) stops them together: the bridge
    // warned "lost the broker" and "connection lost", and began to host a broker of its own.
    const b = await bed.broker();
    const file = writeConfig(b.port, { scripts: [{ key: 'frozen', path: scriptFixture('hang'), stop_grace: 3 }] });
    const p = procs.start(['up', '--config', file, '--stop-on-stdin-close']);
    await waitOutput(p.child, p.stdout, (s) => s.includes('1 script'));
    await waitOutput(p.child, p.stderr, (s) => s.includes('frozen') && s.includes('ready'));
    p.child.stdin.end();
    // Stopping: the frozen script holds the bridge for its stop grace (3 s).
    await waitOutput(p.child, p.stderr, (s) => /INFO +bridge: stopping/.test(s));
    await b.stop();
    const done = await p.done;
    expect(done.code).toBe(0);
    expect(done.stderr).toMatch(/connection lost while winding down/);
    // The frozen script's own (its stderr, its kill) are what they were; none of the bridge's.
    expect(done.stderr.split('\n').filter((l) => /\bWARNING\b/.test(l) && !l.includes(' script:frozen: '))).toEqual([]);
    expect(done.stderr).not.toMatch(/hosting it in this process/);
  });

  it('rejects a config with an unknown key or a duplicate script key, exit 1', async () => {
    const port = await freePort();
    const typo = await runCli(['up', '--config', writeConfig(port, { scirpts: [] })]);
    expect(typo.code).toBe(1);
    expect(typo.stderr).toMatch(/unknown key "scirpts"/);
    const dup = await runCli([
      'up',
      '--config',
      writeConfig(port, { scripts: [{ key: 'a', path: 'x.ahk' }, { key: 'a', path: 'y.ahk' }] }),
    ]);
    expect(dup.code).toBe(1);
    expect(dup.stderr).toMatch(/two scripts use the key "a"/);
    const noWindow = await runCli(['up', '--config', writeConfig(port, { restart: { mode: 'always', initial_delay: 0, window: 0 } })]);
    expect(noWindow.code).toBe(1);
    expect(noWindow.stderr).toMatch(/^bridge: \S+bridge\.config\.json: restart: restart\.window must be at least 1 second/);
    const missing = await runCli(['up', '--config', path.join(tmpdir(), 'does-not-exist.json')]);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toBe(`bridge: config file not found: ${path.join(tmpdir(), 'does-not-exist.json')}; check the path given with --config, or create one with \`bridge init\`\n`);
  });
});

describe('bridge demo', () => {
  it('runs the whole flow with the stand-in interpreter and exits 0', async () => {
    const port = await freePort();
    const res = await runCli(['demo', '--host', '127.0.0.1', '--port', String(port), '--events', '1']);
    expect(res.code).toBe(0);
    const out = res.stdout;
    expect(out).toContain('hosting on 127.0.0.1');
    expect(out).toContain('the stand-in used by our tests');
    expect(out).toMatch(/event {4}scripts\.cad\.started \{"pid":\d+/);
    expect(out).toContain('reply    "pong"');
    expect(out).toContain('reply    {"job":"A-100","loaded":true}');
    expect(out).toContain('event    scripts.cad.hotkey.pressed {"key":"F1","simulated":true}');
    expect(out).toMatch(/scripts\.cad\.stopped \{"exit_code":0,"signal":null,"reason":"stopped"/);
    expect(res.stderr).not.toMatch(/WARNING|ERROR/);
    // Without AutoHotkey, what it suggests next fails unless given the stand-in too.
    const standIn = path.join('fixtures', 'fake-ahk', 'AutoHotkey.mjs');
    expect(out).toContain(`Next: \`npx bridge up --ahk ${standIn}\``);
    expect(out).toContain(`\`npx bridge run <file.ahk> --key <name> --ahk ${standIn}\``);
  });

  it('joins a broker whose bridge runs cad already (npx bridge up in another terminal): the demo runs as cad_demo, exit 0', async () => {
    const port = await freePort();
    const up = procs.start(['up', '--config', writeConfig(port, { scripts: [{ key: 'cad', path: path.join(ROOT, 'scripts/cad_hotkeys.ahk') }] })]);
    await waitOutput(up.child, up.stdout, (s) => /^cad\s/m.test(s));
    const res = await runCli(['demo', '--host', '127.0.0.1', '--port', String(port), '--events', '1']);
    expect(res.code, res.stderr).toBe(0);
    expect(res.stdout).toContain('joined on 127.0.0.1');
    expect(res.stdout).toContain('as key "cad_demo"');
    expect(res.stdout).toContain('reply    "pong"');
    expect(res.stdout).toContain('event    scripts.cad_demo.hotkey.pressed {"key":"F1","simulated":true}');
    // Only its own script's events: not those of the cad the other bridge runs.
    expect(res.stdout).not.toMatch(/scripts\.cad\./);
    expect(res.stderr).not.toMatch(/WARNING|ERROR|unexpected/);
    await stopCli(up, 'SIGTERM');
  });
});
