/**
 * The script-management commands (`ps`, `logs`, `start|stop|restart`, `init`) as real
 * processes: a real broker, real `bridge up` and `bridge run` children with the fake
 * interpreter, and the built CLI. Every wait is on an event or on output.
 */
import { mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { beforeEach, describe, expect, it } from 'vitest';
import { loadBridgeConfig } from '../../bridge/bridge-config.js';
import { runCli, useCliProcesses, waitOutput, type CliResult, type StartedCli } from '../helpers/cli.js';
import { stopCli } from '../helpers/platform.js';
import { freePort } from '../helpers/ports.js';
import type { StartedBroker } from '../helpers/broker-fixture.js';
import type { Frame, RawClient } from '../helpers/raw-client.js';
import { brokerWithWatcher, useTestBed } from '../helpers/test-bed.js';
import { FAKE_AHK, scriptFixture, writeBridgeConfig } from '../helpers/script-fixtures.js';

const bed = useTestBed();
let b: StartedBroker;
let watcher: RawClient;

beforeEach(async () => {
  // Also a `scripts.#` subscriber that never answers requests, as a `bridge sub` would be.
  ({ broker: b, watcher } = await brokerWithWatcher(bed, { patterns: ['scripts.#'] }));
});
// A bridge stopped gracefully stops its scripts; killed, it would leave behind those that
// do not watch their stdin (babble). After useTestBed, so they stop before the broker.
const procs = useCliProcesses();

const at = (): string[] => ['--host', '127.0.0.1', '--port', String(b.port)];
/** `bridge <args>` against the test broker, to completion. */
const cli = (...args: string[]): Promise<CliResult> => runCli([...args, ...at()]);
/** A long-running `bridge <args>` against the test broker. */
function start(args: string[], env: NodeJS.ProcessEnv = {}): StartedCli {
  return procs.start([...args, ...at()], env);
}

const started = (key: string): Promise<Frame> => watcher.waitDelivery(`scripts.${key}.started`, () => true, 15_000);

/** `bridge up` with these scripts ({key: fixture name}), once all have started. */
async function up(scripts: Record<string, string>, extra: Record<string, unknown> = {}): Promise<StartedCli> {
  const entries = Object.entries(scripts).map(([key, name]) => ({ key, path: scriptFixture(name) }));
  const file = writeBridgeConfig(bed.tempDir('cli-scripts-'), { interpreter: FAKE_AHK, scripts: entries, ...extra });
  const waits = Object.keys(scripts).map(started);
  const p = start(['up', '--config', file, '--log-level', 'info']);
  await Promise.all(waits);
  return p;
}

/** `bridge run` of a fixture, once it has started. */
async function run(name: string, key: string, extra: string[] = []): Promise<StartedCli> {
  const wait = started(key);
  const p = start(['run', scriptFixture(name), '--key', key, '--ahk', FAKE_AHK, ...extra]);
  await wait;
  return p;
}

interface PsRow {
  key: string;
  state: string;
  pid: number | null;
  running: boolean;
  bridge: string;
  restarts: number;
  last_exit: { reason: string; exit_code: number | null } | null;
}

async function psJson(): Promise<PsRow[]> {
  const res = await cli('ps', '--json');
  expect(res.code, res.stderr).toBe(0);
  return JSON.parse(res.stdout) as PsRow[];
}

describe('bridge ps', () => {
  it('lists the scripts of every bridge on the broker, each with the bridge that has it', async () => {
    await up({ echo: 'echo', chatty: 'chatty' });
    await run('ticker', 'tick');
    const res = await cli('ps');
    expect(res.code, res.stderr).toBe(0);
    expect(res.stderr).toBe('');
    const lines = res.stdout.trimEnd().split('\n');
    expect(lines[0]).toMatch(/^KEY\s+STATE\s+PID\s+UPTIME\s+RESTARTS\s+LAST EXIT\s+SCRIPT\s+BRIDGE$/);
    expect(lines.slice(1)).toEqual([
      expect.stringMatching(/^chatty\s+running\s+\d+\s+\d+s\s+0\s+-\s+\S*chatty\.ahk\s+bridge$/),
      expect.stringMatching(/^echo\s+running\s+\d+\s+\d+s\s+0\s+-\s+\S*echo\.ahk\s+bridge$/),
      expect.stringMatching(/^tick\s+running\s+\d+\s+\d+s\s+0\s+-\s+\S*ticker\.ahk\s+bridge\.tick$/),
    ]);
    // Not a terminal: no colour.
    expect(res.stdout).not.toContain('\u001b[');
    // The script path is shown relative to the working folder (the repository here).
    expect(lines[1]).toContain(` ${path.join('fixtures', 'scripts', 'chatty.ahk')} `);
  });

  it('ps and logs leave no session behind on the broker (it keeps one with subscriptions for an hour)', async () => {
    await up({ echo: 'echo' });
    expect((await cli('ps')).code).toBe(0);
    expect((await cli('logs', 'echo')).code).toBe(0);
    expect((await cli('ps', '--json')).code).toBe(0);
    const sessions = (b.broker.status() as { clients: { client_id: string; client_type: string }[] }).clients;
    expect(sessions.filter((c) => c.client_type === 'cli')).toEqual([]);
  });

  it('--json prints one object per script with its status and bridge', async () => {
    await up({ echo: 'echo' });
    await run('ticker', 'tick');
    const rows = await psJson();
    expect(rows.map((r) => [r.key, r.bridge, r.state, r.running])).toEqual([
      ['echo', 'bridge', 'running', true],
      ['tick', 'bridge.tick', 'running', true],
    ]);
    expect(rows[0]).toMatchObject({ pid: expect.any(Number), restarts: 0, last_exit: null, script: scriptFixture('echo'), started_at: expect.any(String) });
  });

  it('with no bridge on the broker says how to start one, and exits 0 with nothing on stdout', async () => {
    const res = await cli('ps');
    expect(res.code).toBe(0);
    expect(res.stdout).toBe('');
    expect(res.stderr).toMatch(/no bridge is running on this broker: start scripts with `bridge run` or `bridge up`/);
    const json = await cli('ls', '--json');
    expect(json.code).toBe(0);
    expect(JSON.parse(json.stdout)).toEqual([]);
  });

  it('--watch prints a new table when a script stops, and exits 0 on Ctrl+C', async () => {
    await up({ echo: 'echo', tick: 'ticker' });
    const w = start(['ps', '--watch']);
    await waitOutput(w.child, w.stdout, (s) => /^echo\s+running/m.test(s) && /^tick\s+running/m.test(s));
    // Its clock runs while `bridge stop` starts (seconds under Wine): the budget of `started`.
    const stopped = watcher.waitDelivery('scripts.echo.stopped', () => true, 15_000);
    const res = await cli('stop', 'echo');
    expect(res.code, res.stderr).toBe(0);
    await stopped;
    const out = await waitOutput(w.child, w.stdout, (s) => /^echo\s+stopped\s+-\s+-\s+0\s+stopped \(0\)/m.test(s));
    // The first table, then one for the change (piped: only changes are printed).
    expect(out.split('\n\n').length).toBeGreaterThanOrEqual(2);
    expect(out.split('\n\n').at(-1)).toMatch(/^tick\s+running/m);
    await stopCli(w);
  });
});

describe('scripts of one bridge commanding each other', () => {
  it("a script's publish on another's command topic reaches it; one on its own command topic is refused, not fed back", async () => {
    const dir = bed.tempDir('cli-scripts-');
    const script = (name: string, ...lines: string[]): string => {
      const file = path.join(dir, `${name}.ahk`);
      writeFileSync(file, [...lines, ''].join('\n'));
      return file;
    };
    const a = script('a', ';@fake bridge', ';@fake every 200 pub /scripts.b.command.hello {"from":"a"}', ';@fake every 200 pub command.again {"from":"self"}');
    const b = script('b', ';@fake bridge');
    const file = writeBridgeConfig(dir, { interpreter: FAKE_AHK, scripts: [{ key: 'a', path: a }, { key: 'b', path: b }] });
    const received = watcher.waitDelivery('scripts.b.received', () => true, 15_000);
    const refused = watcher.waitDelivery('scripts.a.output', (m) => typeof m.payload.error === 'string', 15_000);
    const upped = start(['up', '--config', file, '--log-level', 'info']);
    // The fake emulating Bridge.ahk publishes `received` for every command it reads.
    expect((await received).payload).toMatchObject({ name: 'hello', id: null, payload: { from: 'a' } });
    expect((await refused).payload).toMatchObject({ line: '@pub command.again {"from":"self"}', error: expect.stringMatching(/own command topic/) });
    // a is fed nothing of its own: the first command it reads is this one.
    const probe = watcher.waitDelivery('scripts.a.received', () => true, 15_000);
    await watcher.call('publish', { topic: 'scripts.a.command.probe', payload: { n: 1 } });
    expect((await probe).payload).toMatchObject({ name: 'probe', payload: { n: 1 } });
    expect(watcher.deliveries('scripts.a.received').map((m) => m.payload.name)).toEqual(['probe']);
    expect(upped.stderr()).not.toMatch(/ignored a message/);
  }, 30_000);
});

describe('bridge logs', () => {
  /** `bridge up` with chatty, once all its lines are in. */
  async function chattyUp(): Promise<StartedCli> {
    const lines = watcher.waitDelivery('scripts.chatty.output', (m) => m.payload.line === 'second line', 15_000);
    const warning = watcher.waitDelivery('scripts.chatty.stderr', () => true, 15_000);
    const p = await up({ chatty: 'chatty' });
    await Promise.all([lines, warning]);
    return p;
  }

  it("shows a script's start, output and stderr with their markers; the output is in the run's log too", async () => {
    const upped = await chattyUp();
    const res = await cli('logs', 'chatty');
    expect(res.code, res.stderr).toBe(0);
    const lines = res.stdout.trimEnd().split('\n');
    expect(lines[0]).toMatch(/^-- started \(pid \d+\)$/);
    // stdout keeps its order; stderr is another pipe, so where its line falls may vary.
    expect(lines.filter((l) => !l.startsWith('[stderr]'))).toEqual([lines[0], 'first line', 'second line']);
    expect(lines.filter((l) => l.startsWith('[stderr]'))).toEqual(['[stderr] a warning']);
    // Plain output is in the bridge's log too, at INFO.
    await waitOutput(upped.child, upped.stderr, (s) => /INFO +script:chatty: output key=chatty line="?first line/.test(s));
    // Each line went out numbered, in the ring's sequence.
    const out = watcher.deliveries('scripts.chatty.output').map((d: Frame) => d.payload.seq);
    expect(out).toEqual([expect.any(Number), expect.any(Number)]);
    expect(out[1]).toBeGreaterThan(out[0]);
  });

  it('a line of megabytes is kept and logged cut, with a marker; it does not push the rest out of the ring', async () => {
    const dir = bed.tempDir('cli-scripts-');
    const script = path.join(dir, 'big.ahk');
    writeFileSync(script, [';@fake print before', `;@fake print ${'L'.repeat(2_000_000)}`, ';@fake print after', ';@fake persistent', ''].join('\n'));
    const after = watcher.waitDelivery('scripts.big.output', (m) => m.payload.line === 'after', 20_000);
    const upped = start(['up', '--config', writeBridgeConfig(dir, { interpreter: FAKE_AHK, scripts: [{ key: 'big', path: script }] }), '--log-level', 'info']);
    await after;
    // The event still carries what a message holds (a little under 1 MiB).
    const sizes = watcher.deliveries('scripts.big.output').map((m: Frame) => (m.payload.line as string).length);
    expect(sizes).toEqual([6, expect.any(Number), 5]);
    const full = sizes[1]!;
    expect(full).toBeGreaterThan(1_000_000);

    const res = await cli('logs', 'big');
    expect(res.code, res.stderr).toBe(0);
    const lines = res.stdout.trimEnd().split('\n');
    expect(lines.map((l) => l.slice(0, 40))).toEqual([expect.stringMatching(/^-- started \(pid \d+\)$/), 'before', 'L'.repeat(40), 'after']);
    // 16 KiB of the line kept, and how much was left out of what was published.
    expect(lines[2]).toBe(`${'L'.repeat(16 * 1024)} [... ${full - 16 * 1024} bytes left out]`);

    // The bridge's log has 4 KiB of it at INFO, marked the same way.
    const logged = await waitOutput(upped.child, upped.stderr, (s) => /output key=big line="?L+ \[\.\.\. \d+ bytes left out\]/.test(s));
    const [, kept, left] = /output key=big line="?(L+) \[\.\.\. (\d+) bytes left out\]/.exec(logged) ?? [];
    // Counted from the line as read (cut at 1 MiB characters), before it was fitted to a message.
    expect([kept?.length, Number(left)]).toEqual([4096, 1024 * 1024 - 4096]);
    expect(logged.length).toBeLessThan(64 * 1024);
  }, 45_000);

  it('--lines N shows the newest N, and refuses a number that is not a positive whole one', async () => {
    await chattyUp();
    const all = (await cli('logs', 'chatty')).stdout.trimEnd().split('\n');
    const res = await cli('logs', 'chatty', '--lines', '2');
    expect(res.code, res.stderr).toBe(0);
    expect(res.stdout.trimEnd().split('\n')).toEqual(all.slice(-2));
    for (const bad of ['0', '1.5', 'ten']) {
      const r = await cli('logs', 'chatty', '--lines', bad);
      expect(r.code, bad).toBe(1);
      expect(r.stderr).toMatch(new RegExp(`invalid --lines "${bad.replace('.', '\\.')}": use a positive whole number`));
    }
  }, 45_000);

  it('--follow prints the ring, then what the script prints afterwards, nothing twice', async () => {
    await chattyUp();
    const f = start(['logs', 'chatty', '--follow']);
    // The ring holds all four lines (chattyUp waited for them); stderr's may come last, so wait for both.
    await waitOutput(f.child, f.stdout, (s) => s.includes('second line') && s.includes('[stderr] a warning'));
    const ring = f.stdout();
    const res = await cli('restart', 'chatty');
    expect(res.code, res.stderr).toBe(0);
    const out = await waitOutput(f.child, f.stdout, (s) => s.split('second line').length === 3 && s.includes('[stderr]', s.lastIndexOf('started')));
    const after = out.slice(ring.length).trimEnd().split('\n');
    expect(after.slice(0, 2)).toEqual(['-- stopped on request (exit code 0)', expect.stringMatching(/^-- started \(pid \d+\)$/)]);
    expect([...after.slice(2)].sort()).toEqual(['[stderr] a warning', 'first line', 'second line']);
    await stopCli(f);
  });

  it('--follow joins output that keeps coming without a line lost or repeated at the seam', async () => {
    const p = await run('babble', 'babble', ['--log-level', 'error']);
    // Lines already in the ring, and more arriving every few ms while the follower starts.
    await watcher.waitDeliveries(50, 'scripts.babble.output');
    const f = start(['logs', 'babble', '--follow', '--json', '--lines', '1000']);
    const entries = (): { seq: number | null; stream: string }[] =>
      f
        .stdout()
        .split('\n')
        .filter((l) => l !== '')
        .map((l) => JSON.parse(l) as { seq: number | null; stream: string });
    const lastSeq = (): number => Math.max(...entries().map((e) => e.seq ?? 0));
    // Once the ring is printed, wait for lines well past anything it could hold: live ones.
    await waitOutput(f.child, f.stdout, () => entries().length > 0);
    const inRing = Math.max(...watcher.deliveries('scripts.babble.output').map((d: Frame) => d.payload.seq as number));
    await waitOutput(f.child, f.stdout, () => lastSeq() > inRing + 100, 20_000);
    await stopCli(f);
    const seqs = entries().map((e) => e.seq);
    expect(seqs.every((s) => typeof s === 'number')).toBe(true);
    // One sequence, every number once, none skipped.
    const first = seqs[0]!;
    expect(seqs).toEqual(seqs.map((_, i) => first + i));
    expect(p.child.exitCode).toBeNull();
  });

  it('for a key no bridge has, exits 1 naming the keys there are', async () => {
    await up({ echo: 'echo' });
    const res = await cli('logs', 'nope');
    expect(res.code).toBe(1);
    expect(res.stderr).toMatch(/no script with key "nope" on this broker; known keys: echo \(`bridge ps` lists them\)/);
    const follow = await cli('logs', 'nope', '--follow');
    expect(follow.code).toBe(1);
    expect(follow.stderr).toMatch(/no script with key "nope"/);
  });
});

describe('bridge start|stop|restart', () => {
  it('stop, start and restart say what happened, and the script goes where they say', async () => {
    const upped = await up({ echo: 'echo', tick: 'ticker' });
    const before = (await psJson()).find((r) => r.key === 'echo')!;

    const stoppedEvent = watcher.waitDelivery('scripts.echo.stopped');
    const stop = await cli('stop', 'echo');
    expect(stop.code, stop.stderr).toBe(0);
    expect(stop.stdout).toBe(`stopped echo (was pid ${before.pid}, exit stopped (0))\n`);
    expect((await stoppedEvent).payload).toMatchObject({ reason: 'stopped', exit_code: 0, seq: expect.any(Number) });
    expect((await psJson()).find((r) => r.key === 'echo')).toMatchObject({ state: 'stopped', running: false, pid: null });

    const start1 = await cli('start', 'echo');
    expect(start1.code, start1.stderr).toBe(0);
    const pid = Number(/^started echo pid (\d+)\n$/.exec(start1.stdout)?.[1]);
    expect((await psJson()).find((r) => r.key === 'echo')).toMatchObject({ state: 'running', pid });

    const again = await cli('start', 'echo');
    expect(again.stdout).toBe(`echo is already running (pid ${pid})\n`);

    const restart = await cli('restart', 'echo');
    expect(restart.code, restart.stderr).toBe(0);
    const [, newPid, wasPid] = /^restarted echo pid (\d+) \(was pid (\d+)\)\n$/.exec(restart.stdout) ?? [];
    expect(Number(wasPid)).toBe(pid);
    expect(Number(newPid)).not.toBe(pid);
    expect((await psJson()).find((r) => r.key === 'echo')).toMatchObject({ state: 'running', pid: Number(newPid), last_exit: { reason: 'stopped' } });
    // The other script was not touched.
    expect((await psJson()).find((r) => r.key === 'tick')).toMatchObject({ state: 'running', restarts: 0 });
    expect(upped.child.exitCode).toBeNull();
  }, 60_000);

  it('start and restart of a script that fails to load a moment after its spawn exit 1 saying so, not "started"', async () => {
    const failed = watcher.waitDelivery('scripts.broken.stopped', () => true, 15_000);
    await up({ broken: 'syntax-error', echo: 'echo' });
    expect((await failed).payload).toMatchObject({ reason: 'load_failure' });
    for (const op of ['start', 'restart']) {
      const res = await cli(op, 'broken');
      expect(res.code, op).toBe(1);
      expect(res.stdout, op).toBe('');
      // The result, and the load error the script wrote since this start, once.
      expect(res.stderr, op).toBe(
        `bridge: broken did not stay up: state failed, exit load_failure (2) (bridge logs broken shows why)\n  ${scriptFixture('syntax-error')} (5) : ==> Missing "}"\n       Specifically: if (A_Index > 1 {\n`,
      );
    }
    expect((await psJson()).find((r) => r.key === 'broken')).toMatchObject({ state: 'failed', last_exit: { reason: 'load_failure', exit_code: 2 } });
    // A script that stays up is still "started" at once when it says @ready.
    const restart = await cli('restart', 'echo');
    expect(restart.code, restart.stderr).toBe(0);
    expect(restart.stdout).toMatch(/^restarted echo pid \d+ \(was pid \d+\)\n$/);
  }, 45_000);

  it('a key no bridge has exits 1 listing the known keys; with no bridge it says how to start one', async () => {
    const none = await cli('stop', 'nope');
    expect(none.code).toBe(1);
    expect(none.stderr).toMatch(/no script with key "nope": no bridge is running on this broker/);
    await up({ echo: 'echo', chatty: 'chatty' });
    for (const op of ['start', 'stop', 'restart']) {
      const res = await cli(op, 'nope');
      expect(res.code, op).toBe(1);
      expect(res.stderr).toBe('bridge: no script with key "nope" on this broker; known keys: chatty, echo (`bridge ps` lists them)\n');
    }
  }, 45_000);

  it('a stop that outlasts --timeout exits 1 saying so', async () => {
    // `hang` ignores the exit command: the stop waits its whole grace before the kill.
    const file = writeBridgeConfig(bed.tempDir('cli-scripts-'), { interpreter: FAKE_AHK, scripts: [{ key: 'hang', path: scriptFixture('hang'), stop_grace: 2 }] });
    const wait = started('hang');
    start(['up', '--config', file]);
    await wait;
    const res = await cli('stop', 'hang', '--timeout', '0.5');
    expect(res.code).toBe(1);
    expect(res.stderr).toMatch(/stop hang: no answer within 0\.5 s; the script may still be stopping/);
    // It did stop in the end.
    expect((await watcher.waitDelivery('scripts.hang.stopped', () => true, 10_000)).payload).toMatchObject({ reason: 'stopped' });
  });
});

describe('bridge init', () => {
  /** A folder of scripts that need no #Include (the fake emulates Bridge.ahk with `;@fake bridge`). */
  function scriptFolder(): string {
    const dir = bed.tempDir('cli-init-');
    const scripts = path.join(dir, 'scripts');
    mkdirSync(path.join(scripts, 'Lib'), { recursive: true });
    writeFileSync(path.join(scripts, 'cad hotkeys.ahk'), ';@fake bridge\n;@fake print cad up\n');
    writeFileSync(path.join(scripts, 'saw.ahk'), ';@fake bridge\n');
    writeFileSync(path.join(scripts, 'notes.txt'), 'not a script');
    writeFileSync(path.join(scripts, 'Lib', 'Helpers.ahk'), '; a library, never run');
    return dir;
  }

  it('writes a config for the scripts in a folder that bridge up runs', async () => {
    const dir = scriptFolder();
    const config = path.join(dir, 'bridge.config.json');
    const res = await runCli(['init', path.join(dir, 'scripts'), '--output', config], { AHK_PATH: '' });
    expect(res.code, res.stderr).toBe(0);
    expect(res.stdout).toMatch(/^wrote .*bridge\.config\.json: 2 scripts from /);
    expect(res.stdout).toMatch(/^ {2}cad_hotkeys {2}scripts\/cad hotkeys\.ahk$/m);
    expect(res.stdout).not.toContain('lib export');
    // No interpreter on this machine: said on stderr and, as a comment, in the file.
    expect(res.stderr).toMatch(/^bridge init: no AutoHotkey interpreter found: /);
    const written = JSON.parse(readFileSync(config, 'utf8')) as Record<string, unknown>;
    expect(written).toMatchObject({
      _comment: expect.stringMatching(/^no AutoHotkey interpreter found/),
      script_folders: ['scripts'],
      restart: { mode: 'on-failure', initial_delay: 1, max_delay: 30, max_restarts: 5, window: 60 },
      scripts: [
        { key: 'cad_hotkeys', path: 'scripts/cad hotkeys.ahk' },
        { key: 'saw', path: 'scripts/saw.ahk' },
      ],
    });
    expect(written).not.toHaveProperty('interpreter');
    const loaded = loadBridgeConfig(config);
    expect(loaded.scripts.map((s) => [s.key, s.path])).toEqual([
      ['cad_hotkeys', path.join(dir, 'scripts', 'cad hotkeys.ahk')],
      ['saw', path.join(dir, 'scripts', 'saw.ahk')],
    ]);

    // `up` hosts a broker of its own here, as on a machine where nothing runs yet.
    const port = await freePort();
    const upped = procs.start(['up', '--config', config, '--ahk', FAKE_AHK, '--host', '127.0.0.1', '--port', String(port), '--stop-on-stdin-close']);
    const summary = await waitOutput(upped.child, upped.stdout, (s) => /^saw\s/m.test(s));
    expect(summary).toMatch(/hosting the broker on 127\.0\.0\.1:\d+, 2 scripts/);
    expect(summary).toMatch(/^cad_hotkeys\s+running\s+\d+/m);
    expect(summary).toMatch(/^saw\s+running\s+\d+/m);
    upped.child.stdin.end();
    expect((await upped.done).code).toBe(0);
  });

  it('writes the interpreter it is given or finds, and takes subfolders with --recursive (not Lib)', async () => {
    const dir = scriptFolder();
    mkdirSync(path.join(dir, 'scripts', 'more'));
    writeFileSync(path.join(dir, 'scripts', 'more', 'saw.ahk'), ';@fake bridge\n');
    const config = path.join(dir, 'bridge.config.json');
    const res = await runCli(['init', path.join(dir, 'scripts'), '--output', config, '--recursive', '--ahk', FAKE_AHK]);
    expect(res.code, res.stderr).toBe(0);
    expect(res.stderr).toBe('');
    const written = JSON.parse(readFileSync(config, 'utf8')) as { interpreter: string; scripts: { key: string; path: string }[] };
    expect(written.interpreter).toBe(FAKE_AHK.split(path.sep).join('/'));
    expect(written.scripts).toEqual([
      { key: 'cad_hotkeys', path: 'scripts/cad hotkeys.ahk' },
      { key: 'saw', path: 'scripts/more/saw.ahk' },
      { key: 'saw_2', path: 'scripts/saw.ahk' },
    ]);
    expect(loadBridgeConfig(config).interpreter).toBe(FAKE_AHK);

    const missing = await runCli(['init', path.join(dir, 'scripts'), '--output', path.join(dir, 'other.json'), '--ahk', path.join(dir, 'nope.exe')]);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toMatch(/AutoHotkey interpreter from --ahk not found: /);
  });

  // init writes only the config: a script that #Includes the libraries from a folder that
  // lacks them would fail to load under `bridge up`, so init names the command that writes them.
  it('says to run `bridge lib export` into the folder a script #Includes the libraries from, until they are there', async () => {
    const dir = bed.tempDir('cli-init-');
    const scripts = path.join(dir, 'scripts');
    mkdirSync(path.join(scripts, 'tools'), { recursive: true });
    writeFileSync(path.join(scripts, 'saw.ahk'), '#Include lib\\Bridge.ahk\n;@fake bridge\n');
    writeFileSync(path.join(scripts, 'tools', 'cad.ahk'), '#Include %A_ScriptDir%\\lib\\BrokerClient.ahk\n');
    writeFileSync(path.join(scripts, 'plain.ahk'), '; includes nothing\n');
    const config = path.join(dir, 'bridge.config.json');
    const init = (): Promise<CliResult> => runCli(['init', scripts, '--recursive', '--output', config, '--force', '--ahk', FAKE_AHK]);
    const hint = (lib: string): string => `${lib} lacks the ahk-bridge libraries the scripts #Include: write them with: bridge lib export ${lib}\n`;

    const before = await init();
    expect(before.code, before.stderr).toBe(0);
    expect(before.stdout).toContain(hint(path.join(scripts, 'lib')));
    expect(before.stdout).toContain(hint(path.join(scripts, 'tools', 'lib')));
    expect(before.stdout).toMatch(/start them with: bridge up --config .*\n$/);

    expect((await runCli(['lib', 'export', path.join(scripts, 'lib')])).code).toBe(0);
    const half = await init();
    expect(half.stdout).not.toContain(hint(path.join(scripts, 'lib')));
    expect(half.stdout).toContain(hint(path.join(scripts, 'tools', 'lib')));

    expect((await runCli(['lib', 'export', path.join(scripts, 'tools', 'lib')])).code).toBe(0);
    expect((await init()).stdout).not.toContain('lib export');
  });

  it('refuses to overwrite a file without --force', async () => {
    const dir = scriptFolder();
    const config = path.join(dir, 'bridge.config.json');
    writeFileSync(config, '{"scripts": []}');
    const res = await runCli(['init', path.join(dir, 'scripts'), '--output', config]);
    expect(res.code).toBe(1);
    expect(res.stderr).toBe(`bridge: ${config} already exists: use --force to overwrite it\n`);
    expect(readFileSync(config, 'utf8')).toBe('{"scripts": []}');
    const forced = await runCli(['init', path.join(dir, 'scripts'), '--output', config, '--force']);
    expect(forced.code, forced.stderr).toBe(0);
    expect(loadBridgeConfig(config).scripts).toHaveLength(2);
  });

  it('never writes the config over a script, not even with --force', async () => {
    const dir = scriptFolder();
    const scripts = path.join(dir, 'scripts');
    const script = readdirSync(scripts).find((f) => f.endsWith('.ahk'))!;
    const before = readFileSync(path.join(scripts, script), 'utf8');
    const res = await runCli(['init', scripts, '--output', path.join(scripts, script), '--force']);
    expect(res.code).toBe(1);
    expect(res.stderr).toBe(`bridge: --output ${path.join(scripts, script)} is an AutoHotkey script, not a config: write the config to a .json file (bridge.config.json by default)\n`);
    expect(readFileSync(path.join(scripts, script), 'utf8')).toBe(before);
  });

  it('exits 1 for a folder without .ahk scripts, or no folder at all', async () => {
    const dir = bed.tempDir('cli-init-');
    const config = path.join(dir, 'bridge.config.json');
    const empty = await runCli(['init', dir, '--output', config]);
    expect(empty.code).toBe(1);
    expect(empty.stderr).toBe(`bridge: no .ahk scripts in ${dir} (--recursive looks in subfolders too)\n`);
    const missing = await runCli(['init', path.join(dir, 'nope'), '--output', config]);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toMatch(/nope is not a folder: give the folder that holds your \.ahk scripts/);
  });
});
