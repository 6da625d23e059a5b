/**
 * `bridge run` and `bridge up` answer every misstep with one message and exit 1, before
 * joining or hosting a broker when the misstep is visible then: a missing script, a
 * folder given as a script, no interpreter, no or a broken config file, a key that
 * another bridge supervises. And `up`'s table shows what became of each script.
 */
import { spawn } from 'node:child_process';
import { mkdirSync, realpathSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { CLI, runCli, useCliProcesses, waitOutput, type CliResult, type StartedCli } from '../helpers/cli.js';
import { ON_WINDOWS, UNDER_WINE } from '../helpers/platform.js';
import { freePort } from '../helpers/ports.js';
import type { Frame } from '../helpers/raw-client.js';
import { brokerWithWatcher, useTestBed } from '../helpers/test-bed.js';
import { FAKE_AHK, scriptFixture, writeBridgeConfig } from '../helpers/script-fixtures.js';
import { useTempDirs } from '../helpers/temp-dirs.js';

/** No interpreter from the environment, whatever the developer has set. */
const NO_AHK_ENV = { AHK_PATH: '' };

const bed = useTestBed();
// Before useCliProcesses: its processes stop before their folders are removed.
const newTempDir = useTempDirs();
const procs = useCliProcesses();

function tempDir(): string {
  return realpathSync(newTempDir('bridge-missteps-'));
}

const writeConfig = (obj: unknown, dir = tempDir()): string => writeBridgeConfig(dir, obj);

/** `bridge <args>` run to completion in `cwd` (helpers/cli.ts runs in the test's own). */
function runCliIn(cwd: string, args: string[], env: NodeJS.ProcessEnv = {}): Promise<CliResult> {
  const base = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('BROKER_')));
  const child = spawn(process.execPath, [CLI, ...args], { cwd, env: { ...base, ...env } });
  child.stdin.end();
  let stdout = '';
  let stderr = '';
  child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
  child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
  return new Promise((resolve) => child.on('close', (code, signal) => resolve({ code, signal, stdout, stderr })));
}

function started(args: string[], env: NodeJS.ProcessEnv = {}): StartedCli {
  return procs.start(args, env);
}

describe('bridge run: the script path is checked first', () => {
  it('a missing script: exit 1, one line, no broker hosted', async () => {
    const port = await freePort();
    const missing = path.join(tempDir(), 'missing.ahk');
    const res = await runCli(['run', missing, '--key', 'x', '--ahk', FAKE_AHK, '--host', '127.0.0.1', '--port', String(port)]);
    expect(res.code).toBe(1);
    expect(res.stderr).toBe(`bridge: script not found: ${missing}\n`);
    expect(res.stdout).toBe('');
  });

  it('a relative missing path is named absolute', async () => {
    const dir = tempDir();
    const res = await runCliIn(dir, ['run', 'missing.ahk', '--key', 'x', '--ahk', FAKE_AHK, '--port', String(await freePort())]);
    expect(res.code).toBe(1);
    expect(res.stderr).toBe(`bridge: script not found: ${path.join(dir, 'missing.ahk')}\n`);
  });

  it('a directory: exit 1, asks for the .ahk file', async () => {
    const dir = tempDir();
    const res = await runCli(['run', dir, '--key', 'x', '--ahk', FAKE_AHK, '--host', '127.0.0.1', '--port', String(await freePort())]);
    expect(res.code).toBe(1);
    expect(res.stderr).toBe(`bridge: ${dir} is a directory; give the .ahk file\n`);
  });
});

describe('bridge run: no interpreter', () => {
  it('exits 1 before connecting with the one message that says what to pass', async () => {
    const { broker: b, watcher } = await brokerWithWatcher(bed, { patterns: ['scripts.#'] });
    const res = await runCli(['run', scriptFixture('hello'), '--key', 'noahk', '--host', '127.0.0.1', '--port', String(b.port)], NO_AHK_ENV);
    expect(res.code).toBe(1);
    const lines = res.stderr.trimEnd().split('\n');
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(/^bridge: .*--ahk <path>, the AHK_PATH environment variable, or "interpreter" in bridge\.config\.json/);
    // The test runs in the checkout: the stand-in is named as it is typed there.
    if (!ON_WINDOWS) expect(lines[0]).toMatch(/only on Windows.*: --ahk fixtures\/fake-ahk\/AutoHotkey\.mjs$/);
    // It never joined: the broker saw no bridge and no script event.
    const status = await watcher.call('status');
    expect(status.result.clients.map((c: { client_id: string }) => c.client_id)).toEqual(['watcher']);
    expect(watcher.frames.filter((f: Frame) => f.method === 'message')).toEqual([]);
  });

  it('an "interpreter" in its --config that does not exist is named with the config file as its source', async () => {
    const dir = tempDir();
    const file = writeConfig({ interpreter: 'gone/AutoHotkey64.exe' }, dir);
    const res = await runCli(['run', scriptFixture('hello'), '--key', 'noahk', '--config', file, '--host', '127.0.0.1', '--port', String(await freePort())], NO_AHK_ENV);
    expect(res.code).toBe(1);
    expect(res.stderr).toBe(`bridge: AutoHotkey interpreter from "interpreter" in ${file} not found: ${path.join(dir, 'gone', 'AutoHotkey64.exe')}\n`);
  });

  it('an --ahk that is a file but no program: one ERROR with the system\'s reason, no restart, exit 1', async () => {
    const dir = tempDir();
    const notes = path.join(dir, 'notes.txt');
    writeFileSync(notes, 'not a program\n');
    const res = await runCli(['run', scriptFixture('hello'), '--key', 'notes', '--ahk', notes, '--restart', 'always', '--host', '127.0.0.1', '--port', String(await freePort()), '--log-level', 'info'], NO_AHK_ENV);
    expect(res.code, res.stderr).toBe(1);
    // The spawn itself failed (EACCES on Linux), after the bridge had hosted a broker.
    const errors = res.stderr.split('\n').filter((line) => / ERROR /.test(line));
    expect(errors).toEqual([expect.stringMatching(/script could not be started key=notes .*error="spawn .*notes\.txt [A-Z]+/)]);
    expect(res.stderr).toContain('not restarting key=notes why="the script could not be started');
    expect(res.stderr).not.toContain('script started');
  });
});

describe('bridge up: scripts that cannot start are refused before anything starts', () => {
  it('names the key and the path of every missing script and folder', async () => {
    const dir = tempDir();
    mkdirSync(path.join(dir, 'sub'));
    const port = await freePort();
    const file = writeConfig(
      {
        broker: { host: '127.0.0.1', port },
        interpreter: FAKE_AHK,
        scripts: [
          { key: 'fine', path: scriptFixture('echo') },
          { key: 'gone', path: 'gone.ahk' },
          { key: 'folder', path: 'sub' },
        ],
      },
      dir,
    );
    const res = await runCli(['up', '--config', file]);
    expect(res.code).toBe(1);
    expect(res.stderr).toBe(
      `bridge: ${file}: key gone: script not found: ${path.join(dir, 'gone.ahk')}\n` + `${file}: key folder: ${path.join(dir, 'sub')} is a directory; give the .ahk file\n`,
    );
    expect(res.stdout).toBe('');
  });

  it('names the scripts without an interpreter', async () => {
    const file = writeConfig({ broker: { host: '127.0.0.1', port: await freePort() }, scripts: [{ key: 'echo', path: scriptFixture('echo') }, { key: 'tick', path: scriptFixture('ticker') }] });
    const res = await runCli(['up', '--config', file], NO_AHK_ENV);
    expect(res.code).toBe(1);
    const lines = res.stderr.trimEnd().split('\n');
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(/^bridge: no interpreter for keys echo, tick: .*--ahk/);
  });

  it('an "interpreter" in the config that does not exist is named with the config file as its source', async () => {
    const dir = tempDir();
    const file = writeConfig(
      {
        broker: { host: '127.0.0.1', port: await freePort() },
        interpreter: 'gone/AutoHotkey64.exe',
        scripts: [
          { key: 'echo', path: scriptFixture('echo') },
          { key: 'own', path: scriptFixture('echo'), interpreter: 'own/AutoHotkey64.exe' },
          { key: 'tick', path: scriptFixture('ticker') },
        ],
      },
      dir,
    );
    const res = await runCli(['up', '--config', file], NO_AHK_ENV);
    expect(res.code).toBe(1);
    expect(res.stderr).toBe(
      `bridge: no interpreter for keys echo, tick: AutoHotkey interpreter from "interpreter" in ${file} not found: ${path.join(dir, 'gone', 'AutoHotkey64.exe')}\n` +
        `no interpreter for key own: AutoHotkey interpreter from the script's "interpreter" in ${file} not found: ${path.join(dir, 'own', 'AutoHotkey64.exe')}\n`,
    );
    expect(res.stdout).toBe('');
  });

  it('AHK_PATH comes before the config file\'s "interpreter" (the documented order), and --ahk before both', async () => {
    const dir = tempDir();
    const file = writeConfig({ broker: { host: '127.0.0.1', port: await freePort() }, interpreter: FAKE_AHK, scripts: [{ key: 'echo', path: scriptFixture('echo') }] }, dir);
    const envMissing = path.join(dir, 'env', 'AutoHotkey64.exe');
    // runCli closes stdin at once: a bridge that wrongly starts stops again instead of hanging the test.
    const fromEnv = await runCli(['up', '--config', file, '--stop-on-stdin-close'], { AHK_PATH: envMissing });
    expect(fromEnv.code).toBe(1);
    expect(fromEnv.stderr).toBe(`bridge: no interpreter for key echo: AutoHotkey interpreter from AHK_PATH not found: ${envMissing}\n`);
    const flagMissing = path.join(dir, 'flag', 'AutoHotkey64.exe');
    const fromFlag = await runCli(['up', '--config', file, '--ahk', flagMissing, '--stop-on-stdin-close'], { AHK_PATH: envMissing });
    expect(fromFlag.code).toBe(1);
    expect(fromFlag.stderr).toBe(`bridge: no interpreter for key echo: AutoHotkey interpreter from --ahk not found: ${flagMissing}\n`);
  });
});

describe('queue files are checked before joining or hosting a broker', () => {
  it('bridge up: a topic_map entry that is a wildcard is one message, exit 1, and the process ends', async () => {
    const port = await freePort();
    const file = writeConfig({ broker: { host: '127.0.0.1', port }, queues: [{ file: 'q.txt', topic_map: { A: 'jobs.*' } }] });
    const res = await runCli(['up', '--config', file, '--ahk', FAKE_AHK]);
    expect(res.code).toBe(1);
    expect(res.stderr).toMatch(/^bridge: queue .*q\.txt: topic map entry "A" -> "jobs\.\*" is not a topic lines can be published to: .*wildcard/);
    expect(res.stderr.trimEnd().split('\n')).toHaveLength(1); // no broker was hosted: no log lines
  });

  it('bridge run --queue DIR: one message, exit 1, before hosting a broker', async () => {
    const dir = tempDir();
    const res = await runCli(['run', scriptFixture('hello'), '--key', 'q', '--ahk', FAKE_AHK, '--host', '127.0.0.1', '--port', String(await freePort()), '--queue', dir]);
    expect(res.code).toBe(1);
    expect(res.stderr).toBe(`bridge: ${dir} is a directory; give the queue file inside it, e.g. ${path.join(dir, 'broker_queue.txt')}\n`);
  });
});

describe('bridge up: the config file', () => {
  it('none in the working directory: says how to make one', async () => {
    const dir = tempDir();
    const res = await runCliIn(dir, ['up']);
    expect(res.code).toBe(1);
    expect(res.stderr).toBe(
      `bridge: no bridge.config.json in ${dir}: create one with \`bridge init\` (writes one for the scripts in a folder), or give --config FILE\n`,
    );
  });

  it('a --config that does not exist is named', async () => {
    const missing = path.join(tempDir(), 'nope.json');
    const res = await runCli(['up', '--config', missing]);
    expect(res.code).toBe(1);
    expect(res.stderr).toBe(`bridge: config file not found: ${missing}; check the path given with --config, or create one with \`bridge init\`\n`);
  });

  it('invalid JSON: says where it broke, line and column', async () => {
    const file = writeConfig('{\n  "scripts": [\n    { "path": "a.ahk" },\n  ]\n}\n');
    const res = await runCli(['up', '--config', file]);
    expect(res.code).toBe(1);
    expect(res.stderr).toBe(`bridge: ${file}:4:3: not valid JSON: a comma before "]" (trailing commas are not JSON)\n    ]\n    ^\n`);
  });

  it('a field that is wrong for us is named', async () => {
    const file = writeConfig({ scripts: [{ path: 'a.ahk', stopgrace: 5 }] });
    const res = await runCli(['up', '--config', file]);
    expect(res.code).toBe(1);
    expect(res.stderr).toMatch(/^bridge: .*bridge\.config\.json: scripts\[0\]: unknown key "stopgrace" \(known: .*stop_grace.*\)\n$/);
  });

  it('the example bridge.config.json of the checkout starts cad with the stand-in interpreter', async () => {
    const port = await freePort();
    // Relative paths, as the README shows them: the test runs in the checkout.
    const p = started(['up', '--config', 'bridge.config.json', '--ahk', 'fixtures/fake-ahk/AutoHotkey.mjs', '--host', '127.0.0.1', '--port', String(port), '--stop-on-stdin-close']);
    const out = await waitOutput(p.child, p.stdout, (s) => /^cad /m.test(s));
    expect(out).toMatch(/hosting the broker on 127\.0\.0\.1:\d+, 1 script\n/);
    expect(out).toMatch(/^cad\s+running\s+\d+\s+0\s+-\s+on-failure\s+\S+cad_hotkeys\.ahk$/m);
    p.child.stdin.end();
    expect((await p.done).code).toBe(0);
  });
});

/**
 * Under Wine, the Node stand-in takes about as long to start as up's settle period (0.7 s
 * idle, seconds on a busy machine), so the lane's native stub plays AutoHotkey there: it
 * starts in 50 ms and fails at load the same way with --load-error. (Resolved here: the
 * lane gives a Linux path, which the config's folder on C: would take for one on C:.)
 */
const WINE_STUB = UNDER_WINE ? path.resolve(process.env.WINDOWS_LANE_BIN ?? '(WINDOWS_LANE_BIN not set)', 'interp-stub.exe') : null;

describe('bridge up: the start-up table', () => {
  it('is printed once states settle: a script that fails at load shows failed with its last exit', async () => {
    const port = await freePort();
    const file = writeConfig({
      broker: { host: '127.0.0.1', port },
      interpreter: WINE_STUB ?? FAKE_AHK,
      scripts: [
        { key: 'good', path: scriptFixture('echo') },
        { key: 'broken', path: scriptFixture('syntax-error'), ...(WINE_STUB ? { args: ['--load-error'] } : {}) },
      ],
    });
    const p = started(['up', '--config', file, '--stop-on-stdin-close']);
    const out = await waitOutput(p.child, p.stdout, (s) => /^broken /m.test(s));
    expect(out).toMatch(/^KEY\s+STATE\s+PID\s+RESTARTS\s+LAST EXIT\s+POLICY\s+SCRIPT$/m);
    expect(out).toMatch(/^good\s+running\s+\d+\s+0\s+-\s+on-failure\s+\S+echo\.ahk$/m);
    expect(out).toMatch(/^broken\s+failed\s+-\s+0\s+load_failure \(2\)\s+on-failure\s+\S+syntax-error\.ahk$/m);
    p.child.stdin.end();
    expect((await p.done).code).toBe(0);
  });
});

describe('a key supervised by another bridge on the broker is refused', () => {
  it('bridge run --key cad beside another bridge run --key cad: exit 1 naming the other, which keeps running', async () => {
    const { broker: b, watcher } = await brokerWithWatcher(bed, { patterns: ['scripts.cad.#'] });
    const first = started(['run', scriptFixture('ticker'), '--key', 'cad', '--ahk', FAKE_AHK, '--host', '127.0.0.1', '--port', String(b.port)]);
    await watcher.waitDelivery('scripts.cad.started');

    const second = await runCli(['run', scriptFixture('echo'), '--key', 'cad', '--ahk', FAKE_AHK, '--host', '127.0.0.1', '--port', String(b.port)]);
    expect(second.code).toBe(1);
    expect(second.stderr).toBe(
      `bridge: key cad is already supervised by bridge bridge.cad (pid ${first.child.pid}, ${scriptFixture('ticker')}) on this broker; ` +
        'choose another --key or stop it with `bridge stop cad`\n',
    );
    // The first kept its connection (the second never connected as bridge.cad) and its script.
    const status = await watcher.call('request', { topic: 'scripts.status', payload: { script_id: 'cad' }, timeout: 5 });
    expect(status.result).toMatchObject({ key: 'cad', running: true, script: scriptFixture('ticker') });
    expect(first.stderr()).not.toContain('lost the broker');
    expect(watcher.deliveries('scripts.cad.started')).toHaveLength(1);
  });

  it('bridge run beside a bridge up that supervises the key, and another bridge up beside it', async () => {
    const port = await freePort();
    const file = writeConfig({ broker: { host: '127.0.0.1', port }, interpreter: FAKE_AHK, scripts: [{ key: 'cad', path: scriptFixture('ticker') }] });
    const up = started(['up', '--config', file, '--stop-on-stdin-close']);
    await waitOutput(up.child, up.stdout, (s) => /^cad /m.test(s));

    const run = await runCli(['run', scriptFixture('echo'), '--key', 'cad', '--ahk', FAKE_AHK, '--host', '127.0.0.1', '--port', String(port)]);
    expect(run.code).toBe(1);
    expect(run.stderr).toBe(
      `bridge: key cad is already supervised by bridge bridge (pid ${up.child.pid}, ${scriptFixture('ticker')}) on this broker; ` +
        'choose another --key or stop it with `bridge stop cad`\n',
    );

    const other = writeConfig({ broker: { host: '127.0.0.1', port }, interpreter: FAKE_AHK, scripts: [{ key: 'echo', path: scriptFixture('echo') }, { key: 'cad', path: scriptFixture('echo') }] });
    // Another lock scope stands for another computer on the same broker: no shared lock,
    // so the broker's answer is what refuses it. The holder is a bridge with this one's
    // own id: the same `bridge up` running already.
    const up2 = await runCli(['up', '--config', other], { BRIDGE_LOCK_SCOPE: 'another-computer' });
    expect(up2.code).toBe(1);
    expect(up2.stderr).toBe(
      `bridge: another bridge is connected to this broker as "bridge" (pid ${up.child.pid}): this \`bridge up\` exits and changes nothing; ` +
        'the running one keeps the broker and its scripts. To restart it, `bridge down` first; to run a second bridge beside it, give this one its own --client-id\n',
    );
    up.child.stdin.end();
    expect((await up.done).code).toBe(0);
  });

  it('bridge up beside a bridge run that supervises one of its keys: exit 1 before starting any of them', async () => {
    const { broker: b, watcher } = await brokerWithWatcher(bed, { patterns: ['scripts.#'] });
    const run = started(['run', scriptFixture('ticker'), '--key', 'cad', '--ahk', FAKE_AHK, '--host', '127.0.0.1', '--port', String(b.port)]);
    await watcher.waitDelivery('scripts.cad.started');
    const file = writeConfig({ broker: { host: '127.0.0.1', port: b.port }, interpreter: FAKE_AHK, scripts: [{ key: 'echo', path: scriptFixture('echo') }, { key: 'cad', path: scriptFixture('echo') }] });
    const up = await runCli(['up', '--config', file]);
    expect(up.code).toBe(1);
    expect(up.stderr).toBe(
      `bridge: key cad is already supervised by bridge bridge.cad (pid ${run.child.pid}, ${scriptFixture('ticker')}) on this broker; ` +
        `choose another key in ${file} or stop it with \`bridge stop cad\`\n`,
    );
    expect(watcher.deliveries('scripts.echo.started')).toEqual([]);
  });

  it('a second bridge up with other keys is refused: it would join as "bridge" and take over the first one', async () => {
    const { broker: b, watcher } = await brokerWithWatcher(bed, { patterns: ['scripts.#'] });
    const first = writeConfig({ broker: { host: '127.0.0.1', port: b.port }, interpreter: FAKE_AHK, scripts: [{ key: 'tick', path: scriptFixture('ticker') }] });
    const up = started(['up', '--config', first, '--stop-on-stdin-close']);
    await waitOutput(up.child, up.stdout, (s) => /^tick /m.test(s));
    const second = writeConfig({ broker: { host: '127.0.0.1', port: b.port }, interpreter: FAKE_AHK, scripts: [{ key: 'echo', path: scriptFixture('echo') }] });
    const up2 = await runCli(['up', '--config', second]);
    expect(up2.code).toBe(1);
    expect(up2.stderr).toBe(
      `bridge: another bridge up runs on this computer as "bridge" (pid ${up.child.pid}): this \`bridge up\` exits and changes nothing; ` +
        'the running one keeps the broker and its scripts. To restart it, `bridge down` first; to run a second bridge beside it, give this one its own --client-id\n',
    );
    expect(watcher.deliveries('scripts.echo.started')).toEqual([]);
    // With its own id it joins beside the first, which keeps its connection.
    const up3 = started(['up', '--config', second, '--client-id', 'bridge.office', '--stop-on-stdin-close']);
    await watcher.waitDelivery('scripts.echo.started');
    const ps = await runCli(['ps', '--json', '--host', '127.0.0.1', '--port', String(b.port)]);
    expect((JSON.parse(ps.stdout) as { key: string; bridge: string }[]).map((r) => [r.key, r.bridge]).sort()).toEqual([
      ['echo', 'bridge.office'],
      ['tick', 'bridge'],
    ]);
    for (const p of [up, up3]) {
      p.child.stdin.end();
      expect((await p.done).code).toBe(0);
    }
  });
});
