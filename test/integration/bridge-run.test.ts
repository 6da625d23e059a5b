/**
 * `bridge run` as a real process, driving the fake AutoHotkey interpreter, against a real
 * broker and a subscribing client. Every wait is on a published event or a process exit.
 */
import { existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { beforeEach, describe, expect, it } from 'vitest';
import { useCliProcesses, waitOutput, type StartedCli } from '../helpers/cli.js';
import { ON_WINDOWS, POSIX_SIGNALS } from '../helpers/platform.js';
import { isGone, waitGone } from '../helpers/processes.js';
import type { StartedBroker } from '../helpers/broker-fixture.js';
import type { Frame, RawClient } from '../helpers/raw-client.js';
import { brokerWithWatcher, useTestBed } from '../helpers/test-bed.js';
import { FAKE_AHK, scriptFixture } from '../helpers/script-fixtures.js';

const bed = useTestBed();
let b: StartedBroker;
let watcher: RawClient;

beforeEach(async () => {
  ({ broker: b, watcher } = await brokerWithWatcher(bed, { patterns: ['scripts.#', 'jobs.#'] }));
});
// After useTestBed: the bridges stop (SIGTERM first, so they stop their scripts) before the broker.
const procs = useCliProcesses();

/** Start `bridge run` against the test broker with the fake interpreter. */
function run(name: string, key: string, extra: string[] = [], env: NodeJS.ProcessEnv = {}) {
  return procs.start(['run', scriptFixture(name), '--key', key, '--ahk', FAKE_AHK, '--host', '127.0.0.1', '--port', String(b.port), '--log-level', 'debug', ...extra], env);
}

const event = (topic: string, pred: (p: Frame) => boolean = () => true, timeoutMs = 10_000): Promise<Frame> =>
  watcher.waitDelivery(topic, (m) => pred(m), timeoutMs);

/**
 * Stop `bridge run` the way its users do: Ctrl+C or SIGTERM on POSIX; on Windows, where a
 * signal from another process is TerminateProcess, a stop request through the broker.
 */
async function stopBridge(p: StartedCli, key: string, signal: NodeJS.Signals): Promise<void> {
  if (!ON_WINDOWS) {
    p.child.kill(signal);
    return;
  }
  const res = await watcher.call('request', { topic: `scripts.${key}.stop`, timeout: 30 }, 35_000);
  expect(res.result, JSON.stringify(res.error)).toMatchObject({ key, running: false });
}

describe('bridge run: lifecycle events', () => {
  it('publishes started with pid, script, args and a timestamp, and stopped with reason clean_exit', async () => {
    const p = run('hello', 'hello', ['--', 'one', 'two']);
    const started = await event('scripts.hello.started');
    expect(started.payload).toEqual({ pid: expect.any(Number), script: scriptFixture('hello'), args: ['one', 'two'], timestamp: expect.stringMatching(/\+00:00$/), seq: 1 });
    const stopped = await event('scripts.hello.stopped');
    expect(stopped.payload).toEqual({ exit_code: 0, signal: null, reason: 'clean_exit', duration_ms: expect.any(Number), timestamp: expect.any(String), seq: 3 });
    expect((await event('scripts.hello.output')).payload).toEqual({ line: 'hello from AutoHotkey', seq: 2 });
    expect((await p.done).code).toBe(0);
  });

  it('starts the interpreter with /force and /ErrorStdOut=UTF-8 before the script', async () => {
    const p = run('switches', 'sw');
    expect((await event('scripts.sw.output')).payload).toEqual({ line: 'started with the right switches', seq: 2 });
    expect((await event('scripts.sw.stopped')).payload.reason).toBe('clean_exit');
    expect((await p.done).code).toBe(0);
  });

  it('--restart always restarts after a clean exit too', async () => {
    run('hello', 'again', ['--restart', 'always', '--config', restartConfig()]);
    const restarting = await event('scripts.again.restarting');
    expect(restarting.payload).toMatchObject({ attempt: 1, after: 'clean_exit' });
    await event('scripts.again.started', () => watcher.deliveries('scripts.again.started').length >= 2);
  });

  it('a crash is reported with its exit code, and bridge run exits with it', async () => {
    const p = run('crash', 'crash', ['--restart', 'never']);
    const stopped = await event('scripts.crash.stopped');
    expect(stopped.payload).toMatchObject({ exit_code: 3, reason: 'crash' });
    expect((await p.done).code).toBe(3);
  });

  it('a load failure publishes scripts.<key>.error with file, line and message, and is not restarted', async () => {
    const p = run('syntax-error', 'broken', ['--restart', 'always']);
    const err = await event('scripts.broken.error');
    expect(err.payload).toMatchObject({ file: scriptFixture('syntax-error'), line: 5, message: 'Missing "}"' });
    const stopped = await event('scripts.broken.stopped');
    expect(stopped.payload).toMatchObject({ exit_code: 2, reason: 'load_failure' });
    expect((await p.done).code).toBe(2);
    expect(watcher.deliveries('scripts.broken.restarting')).toEqual([]);
  });

  it('exit 0 after a runtime error is a crash (AutoHotkey exit codes lie)', async () => {
    run('runtime-error', 'rt', ['--restart', 'never']);
    const stderr = await event('scripts.rt.stderr');
    expect(stderr.payload.line).toMatch(/^@runtime-error /);
    expect((await event('scripts.rt.stopped')).payload).toMatchObject({ exit_code: 0, reason: 'crash' });
  });

  it('restarts on failure with backoff, publishes each restart, and gives up at the cap', async () => {
    const p = run('crash', 'flaky', ['--restart', 'on-failure', '--config', restartConfig()]);
    const first = await event('scripts.flaky.restarting', (m) => m.payload.attempt === 1);
    const second = await event('scripts.flaky.restarting', (m) => m.payload.attempt === 2);
    expect(first.payload).toMatchObject({ attempt: 1, delay_ms: 50, after: 'crash' });
    expect(second.payload).toMatchObject({ attempt: 2, delay_ms: 100 });
    const limit = await event('scripts.flaky.restart_limit');
    expect(limit.payload.why).toMatch(/restart limit/);
    expect(watcher.deliveries('scripts.flaky.started')).toHaveLength(3);
    // Each restart really waited its published delay: a start follows its `restarting`
    // event by at least delay_ms (the started timestamp is taken at spawn).
    const started = watcher.deliveries('scripts.flaky.started').map((m: Frame) => Date.parse(m.payload.timestamp));
    for (const [i, r] of [first, second].entries()) {
      expect(started[i + 1]! - Date.parse(r.payload.timestamp), `restart ${i + 1}`).toBeGreaterThanOrEqual(r.payload.delay_ms - 1);
    }
    expect((await p.done).code).toBe(3);
  });
});

/** A config with fast restart timings, so the restart test takes well under a second. */
function restartConfig(): string {
  const file = fileURLToPath(new URL(`../../fixtures/configs/fast-restart.json`, import.meta.url));
  if (!existsSync(file)) throw new Error(`missing fixture ${file}`);
  return file;
}

describe('bridge run: output and input', () => {
  it('turns @pub lines into publishes (relative and absolute) and decodes ANSI output', async () => {
    run('ansi', 'saw', ['--encoding', 'cp1252']);
    // The first event of a fresh bridge and script, like every other first wait here: under
    // Wine the two processes' start-up alone can take most of 5 s.
    const lines = await watcher.waitDeliveries(2, 'scripts.saw.output', 10_000);
    expect(lines.map((m: Frame) => m.payload.line)).toEqual(['Café Müller', 'Preis: 5 € – „geprüft“']);
    expect((await event('scripts.saw.saw.status')).payload).toEqual({ operator: 'Zoë' });
  });

  it('survives garbage bytes on stdout and keeps the lines after it', async () => {
    run('garbage', 'junk');
    const alive = await event('scripts.junk.output', (m) => m.payload.line === 'still alive');
    expect(alive.sender).toBe('bridge.junk');
    expect((await event('scripts.junk.stopped')).payload.reason).toBe('clean_exit');
  });

  it('a line too long for one message is cut to fit and marked, and a cut protocol line is reported, not acted on', async () => {
    // The broker's default max_message_size is 1 MiB. A 1.5 MiB line is cut to 1 MiB
    // characters, whose event was still larger than that; 300 K control characters are
    // 1.8 MB as JSON. Both used to be refused and lost.
    const dir = bed.tempDir('bridge-run-long-');
    const script = join(dir, 'long.ahk');
    const long = 'L'.repeat(1_500_000);
    const controls = '\u0001'.repeat(300_000);
    writeFileSync(
      script,
      [';@fake print ' + long, ';@fake stderr ' + long, ';@fake print ' + controls, `;@fake print @pub cut {"s":"${'q'.repeat(1_100_000)}"}`, ';@fake print after', ''].join('\n'),
    );
    procs.start(['run', script, '--key', 'long', '--ahk', FAKE_AHK, '--host', '127.0.0.1', '--port', String(b.port), '--log-level', 'warning']);
    const outputs = await watcher.waitDeliveries(4, 'scripts.long.output', 20_000);
    const stderr = await event('scripts.long.stderr');
    // In order, none missing (seq 1 is the started event).
    expect(outputs.map((m: Frame) => m.payload.seq)).toEqual([2, 4, 5, 6]);
    expect(stderr.payload.seq).toBe(3);
    const [first, second, cut, after] = outputs.map((m: Frame) => m.payload);
    for (const [what, p, char] of [['a long line', first, 'L'], ['a long stderr line', stderr.payload, 'L'], ['control characters', second, '\u0001']] as const) {
      expect(p.truncated, what).toBe(true);
      expect(p.line.length, what).toBeGreaterThan(100_000);
      expect(p.line, what).toBe(char.repeat(p.line.length));
      expect(Buffer.byteLength(JSON.stringify(p.line)), what).toBeLessThanOrEqual(1024 * 1024 - 16 * 1024);
    }
    expect(cut).toMatchObject({ truncated: true, error: expect.stringMatching(/protocol line .* cut: not acted on/) });
    expect(cut.line.startsWith('@pub cut {')).toBe(true);
    expect(watcher.deliveries('scripts.long.cut')).toEqual([]);
    expect(after).toEqual({ line: 'after', seq: 6 });
  });

  it('drains a flood of output: every line arrives, in order', async () => {
    run('flood', 'flood');
    const all = await watcher.waitDeliveries(10_000, 'scripts.flood.flood', 20_000);
    expect(all.map((m: Frame) => m.payload.n)).toEqual(Array.from({ length: 10_000 }, (_, i) => i + 1));
  });

  it('writes command topics to stdin in order, and a request gets the script reply', async () => {
    run('echo', 'echo');
    await event('scripts.echo.ready');
    const pub = await bed.connected(b.port, 'ahk_manager');
    for (let i = 0; i < 20; i++) pub.notify('publish', { topic: 'scripts.echo.command.note', payload: { i } });
    const got = await watcher.waitDeliveries(20, 'scripts.echo.received');
    expect(got.map((m: Frame) => m.payload.payload.i)).toEqual([...Array(20).keys()]);
    const res = await pub.call('request', { topic: 'scripts.echo.command.add', payload: { a: 1, b: 2 }, timeout: 5 });
    expect(res.result).toEqual({ sum: 3 });
    const failed = await pub.call('request', { topic: 'scripts.echo.command.fail', timeout: 5 });
    expect(failed.error).toMatchObject({ code: -32603, message: expect.stringContaining('something went wrong') });
  });

  it('a payload with newlines cannot inject a second command', async () => {
    run('echo', 'inj');
    await event('scripts.inj.ready');
    const pub = await bed.connected(b.port, 'attacker');
    const evil = { text: 'line one\nexit - null\r\nping - null\n' };
    const res = await pub.call('request', { topic: 'scripts.inj.command.hello', payload: evil, timeout: 5 });
    expect(res.result).toEqual({ echo: evil, name: 'hello' });
    await pub.call('publish', { topic: 'scripts.inj.command.note', payload: 'after' });
    await event('scripts.inj.received', (m) => m.payload.name === 'note');
    const received = watcher.deliveries('scripts.inj.received').map((m: Frame) => m.payload.name);
    expect(received).toEqual(['hello', 'note']);
    expect(watcher.deliveries('scripts.inj.stopped')).toEqual([]);
  });
});

describe('bridge run: stopping', () => {
  it('a stop request sends exit first: reason stopped, not forced, bridge exits 0', async () => {
    const p = run('echo', 'polite');
    await event('scripts.polite.ready');
    const ctl = await bed.connected(b.port, 'ctl');
    const res = await ctl.call('request', { topic: 'scripts.polite.stop', timeout: 10 }, 10_000);
    expect(res.result).toMatchObject({ key: 'polite', running: false, last_exit: { reason: 'stopped', exit_code: 0 } });
    // Graceful path: the script's own exit handler ran (a forced kill skips it).
    expect((await event('scripts.polite.exiting')).payload).toMatchObject({ code: 0 });
    expect((await p.done).code).toBe(0);
  });

  it('a restart request restarts the script and bridge run keeps running', async () => {
    const p = run('echo', 'again');
    await event('scripts.again.ready');
    const ctl = await bed.connected(b.port, 'ctl');
    const res = await ctl.call('request', { topic: 'scripts.again.restart', timeout: 10 }, 10_000);
    expect(res.result, JSON.stringify(res.error)).toMatchObject({ key: 'again', running: true, state: 'running' });
    expect((await event('scripts.again.stopped')).payload).toMatchObject({ reason: 'stopped' });
    // Answered by the same bridge after the restart: it did not exit with the old script.
    const status = await ctl.call('request', { topic: 'scripts.status', payload: { script_id: 'again' }, timeout: 10 }, 10_000);
    expect(status.result).toMatchObject({ key: 'again', running: true, restarts: 0 });
    expect(p.child.exitCode).toBeNull();
    await stopBridge(p, 'again', 'SIGTERM');
    expect((await p.done).code).toBe(0);
  });

  it('a stop request during the restart backoff ends bridge run without another start', async () => {
    const p = run('crash', 'backoff', ['--restart', 'on-failure']);
    await event('scripts.backoff.restarting'); // the default first delay is 1 s
    const ctl = await bed.connected(b.port, 'ctl');
    const res = await ctl.call('request', { topic: 'scripts.backoff.stop', timeout: 5 });
    expect(res.result).toMatchObject({ running: false, state: 'stopped', last_exit: { reason: 'crash', exit_code: 3 } });
    expect((await p.done).code).toBe(3);
    expect(watcher.deliveries('scripts.backoff.started')).toHaveLength(1);
  });

  it('a stop (SIGTERM; a stop request on Windows) kills a script that ignores exit after the grace period', async () => {
    const p = run('hang', 'stuck', ['--stop-grace', '0.3']);
    await event('scripts.stuck.ready');
    await stopBridge(p, 'stuck', 'SIGTERM');
    const stopped = await event('scripts.stuck.stopped');
    expect(stopped.payload).toMatchObject({ reason: 'stopped' });
    expect(stopped.payload.duration_ms).toBeGreaterThanOrEqual(300);
    await p.done;
  });

  it.runIf(POSIX_SIGNALS)('a script that ignores exit and SIGTERM is killed with SIGKILL', async () => {
    const p = run('stubborn', 'mule', ['--stop-grace', '0.2']);
    await event('scripts.mule.ready');
    const pid = (await event('scripts.mule.started')).payload.pid as number;
    p.child.kill('SIGTERM');
    const ignored = await event('scripts.mule.signal.ignored');
    expect(ignored.payload.signal).toBe('SIGTERM');
    const stopped = await event('scripts.mule.stopped');
    expect(stopped.payload).toMatchObject({ reason: 'stopped', exit_code: null, signal: 'SIGKILL' });
    await p.done;
    expect(await waitGone(pid)).toBe(true);
  });

  it('no grandchild survives a stop', async () => {
    const p = run('grandchild', 'gc');
    const gc = await event('scripts.gc.grandchild');
    const pid = gc.payload.pid as number;
    expect(isGone(pid)).toBe(false);
    await stopBridge(p, 'gc', 'SIGINT');
    await event('scripts.gc.stopped');
    await p.done;
    expect(await waitGone(pid)).toBe(true);
  });
});

describe('bridge run: broker', () => {
  it('hosts the broker when none runs, and says so', async () => {
    const { freePort } = await import('../helpers/ports.js');
    const port = await freePort();
    const p = procs.start(['run', scriptFixture('ticker'), '--key', 'tick', '--ahk', FAKE_AHK, '--host', '127.0.0.1', '--port', String(port)]);
    await waitOutput(p.child, p.stderr, (s) => s.includes('hosting it in this process'));
    const c = await bed.connected(port, 'late');
    // The first tick proves the bridge has finished subscribing to its control topics.
    await c.call('subscribe', { patterns: ['scripts.tick.tick'] });
    await c.waitDelivery('scripts.tick.tick');
    const status = await c.call('request', { topic: 'scripts.status', payload: { script_id: 'tick' }, timeout: 5 });
    expect(status.result).toMatchObject({ key: 'tick', running: true, restarts: 0, last_exit: null });
  });

  it('joins a running broker and says so', async () => {
    const p = run('ticker', 'joiner');
    await event('scripts.joiner.tick');
    expect(p.stderr()).toContain('joined the broker already running');
  });

  it('a bridge that joined survives the hosting bridge exit and hosts the broker itself', async () => {
    const { freePort } = await import('../helpers/ports.js');
    const port = await freePort();
    const host = procs.start(['run', scriptFixture('ticker'), '--key', 'a', '--ahk', FAKE_AHK, '--host', '127.0.0.1', '--port', String(port)]);
    await waitOutput(host.child, host.stderr, (s) => s.includes('hosting it in this process'));
    const joiner = procs.start(['run', scriptFixture('ticker'), '--key', 'b', '--ahk', FAKE_AHK, '--host', '127.0.0.1', '--port', String(port)]);
    await waitOutput(joiner.child, joiner.stderr, (s) => s.includes('joined the broker already running'));
    host.child.kill('SIGTERM');
    await host.done;
    await waitOutput(joiner.child, joiner.stderr, (s) => s.includes('hosting it in this process'));
    const c = await bed.connected(port, 'after');
    await c.call('subscribe', { patterns: ['scripts.b.tick'] });
    expect((await c.waitDelivery('scripts.b.tick', () => true, 10_000)).payload).toEqual({ alive: true });
    expect(joiner.stderr()).not.toContain('unexpected error');
  });
});

describe('bridge run: interpreter', () => {
  it('without an interpreter path on Linux, exits 1 before joining the broker, saying how to set one', async () => {
    const p = procs.start(['run', scriptFixture('hello'), '--key', 'noahk', '--host', '127.0.0.1', '--port', String(b.port)], { AHK_PATH: '' });
    const res = await p.done;
    expect(res.code).toBe(1);
    expect(res.stderr).toMatch(/^bridge: [^\n]*--ahk <path>, the AHK_PATH environment variable[^\n]*\n$/);
    expect(watcher.deliveries('scripts.noahk.started')).toEqual([]);
    expect(watcher.deliveries('scripts.noahk.error')).toEqual([]);
  });

  it('takes the interpreter from AHK_PATH', async () => {
    const p = procs.start(['run', scriptFixture('hello'), '--key', 'envahk', '--host', '127.0.0.1', '--port', String(b.port)], { AHK_PATH: FAKE_AHK });
    expect((await event('scripts.envahk.stopped')).payload.reason).toBe('clean_exit');
    expect((await p.done).code).toBe(0);
  });
});



describe('bridge run: commands the script is not meant to get', () => {
  it('an exit command from a broker client is refused and does nothing to the script', async () => {
    run('echo', 'ex');
    await event('scripts.ex.ready');
    // As a publish (fire and forget), as a request, and by name on the bare command topic.
    watcher.notify('publish', { topic: 'scripts.ex.command.exit', payload: null });
    const byTopic = await watcher.call('request', { topic: 'scripts.ex.command.exit', payload: null, timeout: 5 });
    expect(byTopic.error).toMatchObject({ code: -32602, message: expect.stringContaining('"exit" is reserved') });
    const byName = await watcher.call('request', { topic: 'scripts.ex.command', payload: { name: 'exit' }, timeout: 5 });
    expect(byName.error).toMatchObject({ code: -32602, data: { name: 'exit' } });
    // Still the same process, still answering.
    const hello = await watcher.call('request', { topic: 'scripts.ex.command.hello', payload: 1, timeout: 5 });
    expect(hello.result).toEqual({ echo: 1, name: 'hello' });
    const status = await watcher.call('request', { topic: 'scripts.status', payload: { script_id: 'ex' }, timeout: 5 });
    expect(status.result).toMatchObject({ running: true, restarts: 0, last_exit: null });
    expect(watcher.deliveries('scripts.ex.stopped')).toEqual([]);
    expect(watcher.deliveries('scripts.ex.received').map((d: Frame) => d.payload.name)).toEqual(['hello']);
  });
});

describe('bridge run: commands wait for @ready', () => {
  it('holds commands sent before the script is ready, then delivers them in order', async () => {
    run('slow-ready', 'slow');
    await event('scripts.slow.started');
    // Sent at once: without the hold, the script would have no handler for them yet.
    watcher.notify('publish', { topic: 'scripts.slow.command.hello', payload: 'first' });
    const reply = await watcher.call('request', { topic: 'scripts.slow.command.hello', payload: 'second', timeout: 10 }, 10_000);
    expect(reply.result).toEqual({ echo: 'second', name: 'hello' });
    const order = watcher.frames.filter((f: Frame) => f.method === 'message' && ['scripts.slow.ready', 'scripts.slow.received'].includes(f.params.topic));
    expect(order.map((f: Frame) => [f.params.topic, f.params.payload.payload ?? null])).toEqual([
      ['scripts.slow.ready', null],
      ['scripts.slow.received', 'first'],
      ['scripts.slow.received', 'second'],
    ]);
  });

  it('refuses commands with a clear error once a script has not said @ready within --ready-timeout', async () => {
    const p = run('never-ready', 'mute', ['--ready-timeout', '0.5']);
    await event('scripts.mute.started');
    const early = watcher.call('request', { topic: 'scripts.mute.command.hello', payload: 1, timeout: 10 }, 10_000);
    const res = await early;
    expect(res.error.message).toMatch(/script mute has not reported ready within 0\.5 s: commands are sent once it prints "@ready"/);
    const later = await watcher.call('request', { topic: 'scripts.mute.command.hello', payload: 2, timeout: 10 }, 10_000);
    expect(later.error.message).toMatch(/has not reported ready/);
    await waitOutput(p.child, p.stderr, (s) => /WARNING .*script has not reported ready; commands are refused until it does key=mute/.test(s));
  });
});
