/**
 * `--http` on the commands that can host a broker (`bridge broker`, `run`, `up`), through
 * the built CLI: the page comes up beside a broker this process hosts, is only a WARNING
 * for a bridge that joined one, moves with the broker when a joined bridge takes it over,
 * and every misuse exits 1 with one message and leaves no broker behind. The endpoints
 * themselves are tested in status-page-*.test.ts.
 */
import { writeFileSync } from 'node:fs';
import net from 'node:net';
import { networkInterfaces } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { VERSION } from '../../src/version.js';
import { runCli, useCliProcesses, waitOutput, type StartedCli } from '../helpers/cli.js';
import { stopCli } from '../helpers/platform.js';
import { freePort } from '../helpers/ports.js';
import { useTempDirs } from '../helpers/temp-dirs.js';
import { useTestBed } from '../helpers/test-bed.js';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const FAKE_AHK = path.join(ROOT, 'fixtures/fake-ahk/AutoHotkey.mjs');
const script = (name: string): string => path.join(ROOT, 'fixtures/scripts', `${name}.ahk`);

const bed = useTestBed();
// Before useCliProcesses: its processes stop before their folders are removed.
const tempDir = useTempDirs();
// After useTestBed: the bridges stop (SIGTERM first, so they stop their scripts) before the broker.
const procs = useCliProcesses();

/** Servers a test holds a port with; closed after it. */
const holders: net.Server[] = [];
afterEach(async () => {
  await Promise.all(holders.splice(0).map((s) => new Promise((resolve) => s.close(resolve))));
});

/** Occupy `port` on loopback, as another program would. */
async function holdPort(port: number): Promise<void> {
  const server = net.createServer();
  holders.push(server);
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, '127.0.0.1', resolve);
  });
}

/** Whether something accepts connections on `host`:`port` (false: refused). */
function listening(port: number, host = '127.0.0.1'): Promise<boolean> {
  return new Promise((resolve, reject) => {
    const socket = net.connect({ port, host });
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', (err: NodeJS.ErrnoException) => (err.code === 'ECONNREFUSED' ? resolve(false) : reject(err)));
  });
}

async function getJson<T>(url: string): Promise<T> {
  const res = await fetch(url);
  expect(res.status, `${url}: ${await res.clone().text()}`).toBe(200);
  return (await res.json()) as T;
}

/** This machine's address on its network, if it has one: a loopback-only page is not there. */
const LAN_ADDRESS = Object.values(networkInterfaces())
  .flat()
  .find((a) => a !== undefined && a.family === 'IPv4' && !a.internal)?.address;

const pageLine = (port: number): string => `status page listening url=http://127.0.0.1:${port}/`;
const waitPage = (p: StartedCli, port: number): Promise<string> => waitOutput(p.child, p.stderr, (s) => s.includes(pageLine(port)), 20_000);

interface ScriptRow {
  key: string;
  state: string;
  running: boolean;
  pid: number | null;
  bridge: string;
}

/** A bridge.config.json running `ticker` as `tick` under the fake interpreter. */
function upConfig(broker: Record<string, unknown> = {}): string {
  const dir = tempDir('cli-status-page-');
  const file = path.join(dir, 'bridge.config.json');
  writeFileSync(file, JSON.stringify({ interpreter: FAKE_AHK, broker, scripts: [{ key: 'tick', path: script('ticker') }] }));
  return file;
}

const WIDE_OPEN = (h: number): string =>
  `bridge: the status page on 0.0.0.0:${h} would let anyone on the network see and stop your scripts: set the broker's "token" (the page then asks for it), or listen on loopback (leave out the host)\n`;
const IN_USE = (h: number): string => `bridge: status page: cannot listen on 127.0.0.1:${h}: port ${h} is in use (choose another with --http PORT)\n`;

describe('bridge broker --http', () => {
  it('serves the page beside the broker, and /api/broker answers with the version and the broker port', async () => {
    const [p, h] = [await freePort(), await freePort()];
    const broker = procs.start(['broker', '--port', String(p), '--http', String(h)]);
    const out = await waitPage(broker, h);
    expect(out).toContain(`${pageLine(h)} sign_in=none`);
    const info = await getJson<{ version: string; port: number; counters: Record<string, number> }>(`http://127.0.0.1:${h}/api/broker`);
    expect(info).toMatchObject({ version: VERSION, port: p, counters: { messages: 0 } });
    // Loopback only: not reachable at the machine's network address.
    if (LAN_ADDRESS !== undefined) expect(await listening(h, LAN_ADDRESS)).toBe(false);
    const res = await stopCli(broker);
    expect(res.stderr).not.toContain('unexpected error');
    expect(await listening(h)).toBe(false);
  });

  it('--http [addr] is in the help of broker, run and up, with 15235 as its default', async () => {
    const commands = ['broker', 'run', 'up'];
    const results = await Promise.all(commands.map((command) => runCli([command, '--help'])));
    for (const [i, res] of results.entries()) {
      const command = commands[i];
      expect(res.code, command).toBe(0);
      expect(res.stderr, command).toBe('');
      expect(res.stdout, command).toMatch(/^ {2}--http \[addr\] +serve the status page/m);
      expect(res.stdout.replace(/\s+/g, ' '), command).toContain('loopback only unless a host is given (default 15235)');
    }
  });

  it('--http abc:xyz: exit 1 naming the bad port, and no broker started', async () => {
    const p = await freePort();
    const res = await runCli(['broker', '--port', String(p), '--http', 'abc:xyz']);
    expect(res.code).toBe(1);
    expect(res.stderr).toBe('bridge: --http: http port must be a number from 1 to 65535 (0: any free port), got "xyz"\n');
    expect(res.stdout).toBe('');
    expect(await listening(p)).toBe(false);
  });

  it('--http 0.0.0.0:H without a token: exit 1 saying anyone on the network could stop the scripts, and no broker left', async () => {
    const [p, h] = [await freePort(), await freePort()];
    const res = await runCli(['broker', '--port', String(p), '--http', `0.0.0.0:${h}`]);
    expect(res.code).toBe(1);
    // Refused before the broker starts: no "broker listening" line first.
    expect(res.stderr).toBe(WIDE_OPEN(h));
    expect(res.stderr).not.toContain('status page listening');
    expect(await listening(p)).toBe(false);
    expect(await listening(h)).toBe(false);
  });

  it('--http H with H in use: exit 1 saying the port is in use, and no broker left', async () => {
    const [p, h] = [await freePort(), await freePort()];
    await holdPort(h);
    const res = await runCli(['broker', '--port', String(p), '--http', String(h)]);
    expect(res.code).toBe(1);
    expect(res.stderr.endsWith(IN_USE(h)), res.stderr).toBe(true);
    expect(await listening(p)).toBe(false);
  });
});

describe('bridge run --http', () => {
  it('--http before the script: exit 1 saying --http took the script as its address', async () => {
    const res = await runCli(['run', '--http', 'fixtures/scripts/hello.ahk']);
    expect(res.code).toBe(1);
    expect(res.stderr).toBe('bridge: --http took "fixtures/scripts/hello.ahk" as its address; write --http=PORT, or put --http after "fixtures/scripts/hello.ahk"\n');
  });

  it('a bridge that joins a running broker warns that the page is served by the host, and serves nothing', async () => {
    const b = await bed.broker();
    const h = await freePort();
    const p = procs.start(['run', script('ticker'), '--key', 'joiner', '--ahk', FAKE_AHK, '--host', '127.0.0.1', '--port', String(b.port), '--http', String(h)]);
    const out = await waitOutput(p.child, p.stderr, (s) => s.includes('script started key=joiner'), 20_000);
    expect(out).toContain('joined the broker already running');
    expect(out).toMatch(
      new RegExp(`WARNING +bridge: the status page is served by the process hosting the broker; this bridge joined one, so --http is not served here \\(it will be if this bridge takes the broker over\\) host=127\\.0\\.0\\.1 port=${b.port}\\n`),
    );
    expect(out).not.toContain('status page listening');
    expect(await listening(h)).toBe(false);
  });

  it('a hosting bridge whose page cannot open (0.0.0.0 without a token): exit 1, and the broker it started is gone', async () => {
    const [p, h] = [await freePort(), await freePort()];
    const run = procs.start(['run', script('ticker'), '--key', 'wide', '--ahk', FAKE_AHK, '--host', '127.0.0.1', '--port', String(p), '--http', `0.0.0.0:${h}`]);
    const res = await run.done;
    expect(res.code).toBe(1);
    expect(res.stderr.endsWith(WIDE_OPEN(h)), res.stderr).toBe(true);
    // Refused before joining or hosting.
    expect(res.stderr).not.toMatch(/hosting it in this process|joined the broker/);
    expect(res.stderr).not.toContain('script started');
    expect(await listening(p)).toBe(false);
  });

  it('when the hosting bridge is killed, the joined one takes the broker over and serves the page on the same port', async () => {
    const [p, h] = [await freePort(), await freePort()];
    const at = ['--ahk', FAKE_AHK, '--host', '127.0.0.1', '--port', String(p), '--http', String(h)];
    const host = procs.start(['run', script('ticker'), '--key', 'a', ...at]);
    await waitPage(host, h);
    const joiner = procs.start(['run', script('ticker'), '--key', 'b', ...at]);
    await waitOutput(joiner.child, joiner.stderr, (s) => s.includes('script started key=b'), 20_000);
    expect(joiner.stderr()).toContain('so --http is not served here');
    expect(joiner.stderr()).not.toContain('status page listening');

    host.child.kill('SIGKILL');
    await host.done;
    await waitOutput(joiner.child, joiner.stderr, (s) => s.includes('hosting it in this process'), 20_000);
    await waitPage(joiner, h);
    // The page opens with the broker; the bridge's own client rejoins it a moment later
    // (its subscriptions restored before it logs "connected"): until then no bridge answers.
    await waitOutput(joiner.child, joiner.stderr, (s) => /hosting it in this process[\s\S]*client: connected client_id=bridge\.b /.test(s), 20_000);
    const info = await getJson<{ port: number }>(`http://127.0.0.1:${h}/api/broker`);
    expect(info.port).toBe(p);
    const after = await getJson<{ scripts: ScriptRow[] }>(`http://127.0.0.1:${h}/api/scripts`);
    expect(after.scripts).toEqual([expect.objectContaining({ key: 'b', state: 'running', running: true, pid: expect.any(Number) })]);
    expect(joiner.stderr()).not.toContain('unexpected error');
  });
});

describe('bridge up --http', () => {
  /** `bridge up` hosting the broker on `p`, once its scripts have started (its summary). */
  async function up(args: string[]): Promise<StartedCli> {
    const p = procs.start(['up', ...args]);
    await waitOutput(p.child, p.stdout, (s) => /hosting the broker on 127\.0\.0\.1:\d+, 1 script\n/.test(s), 20_000);
    return p;
  }

  async function expectTickRunning(h: number): Promise<void> {
    const { scripts } = await getJson<{ scripts: ScriptRow[] }>(`http://127.0.0.1:${h}/api/scripts`);
    expect(scripts).toEqual([expect.objectContaining({ key: 'tick', state: 'running', running: true, bridge: 'bridge', pid: expect.any(Number) })]);
  }

  it('--http H on a bridge that hosts the broker: /api/scripts lists its script running, with a pid', async () => {
    const [p, h] = [await freePort(), await freePort()];
    const u = await up(['--config', upConfig(), '--host', '127.0.0.1', '--port', String(p), '--http', String(h)]);
    expect(u.stderr()).toContain(pageLine(h));
    await expectTickRunning(h);
    await stopCli(u);
    expect(await listening(h)).toBe(false);
  });

  it('"http" in the config\'s broker section works as the flag does', async () => {
    const [p, h] = [await freePort(), await freePort()];
    const u = await up(['--config', upConfig({ host: '127.0.0.1', port: p, http: h })]);
    expect(u.stderr()).toContain(pageLine(h));
    await expectTickRunning(h);
    const info = await getJson<{ port: number }>(`http://127.0.0.1:${h}/api/broker`);
    expect(info.port).toBe(p);
  });

  it('--http H with H in use: exit 1 saying so, no script started and no broker left', async () => {
    const [p, h] = [await freePort(), await freePort()];
    await holdPort(h);
    const u = procs.start(['up', '--config', upConfig(), '--host', '127.0.0.1', '--port', String(p), '--http', String(h)]);
    const res = await u.done;
    expect(res.code).toBe(1);
    expect(res.stderr.endsWith(IN_USE(h)), res.stderr).toBe(true);
    expect(res.stderr).not.toContain('script started');
    expect(await listening(p)).toBe(false);
  });
});
