/**
 * The built bridge.exe (`npm run package:win`), run under Wine and driven from Linux: the
 * version, `lib export` from its own assets, a broker that a Linux client publishes and
 * subscribes through (its status page served from the assets, iconv-lite bundled), a
 * tail publishing a queue file through it, and `run` supervising the native stub
 * interpreter. test/windows/run.sh builds the
 * executable and runs this file after the Windows lane, with the lane's Wine prefix and
 * WINDOWS_LANE_BIN; `npm test` leaves it out (vitest.config.ts).
 *
 * Windows node cannot take a Unix pipe as stdio, so each bridge.exe writes to a file and
 * reads /dev/null; it is stopped with SIGINT, which Wine hands to it as Ctrl+C.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { closeSync, copyFileSync, existsSync, mkdtempSync, openSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { BrokerClient } from '../../src/client/index.js';
import type { Message } from '../../src/client/index.js';
import { VERSION } from '../../src/version.js';
import { freePort } from '../helpers/ports.js';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const BUILT = path.join(ROOT, 'dist-win', 'bridge.exe');
const STUB = path.join(process.env.WINDOWS_LANE_BIN ?? '(WINDOWS_LANE_BIN not set)', 'interp-stub.exe');
/** Wine starts a Windows process in about 0.5 s warm and 3-5 s cold; a script adds its own. */
const START_MS = 30_000;

interface Running {
  child: ChildProcess;
  output: () => string;
  exited: Promise<number | null>;
}

let work = '';
/** A copy away from the checkout, as on a shop PC: nothing beside it to load from (no node_modules up the tree). */
let EXE = '';
const running: Running[] = [];

beforeAll(() => {
  if (!existsSync(BUILT)) throw new Error(`${BUILT} is missing: run npm run package:win first (test/windows/run.sh does)`);
  work = mkdtempSync(path.join(tmpdir(), 'bridge-exe-'));
  EXE = path.join(work, 'bridge.exe');
  copyFileSync(BUILT, EXE);
});
/** How long a bridge.exe gets to stop on Ctrl+C before it is killed (and the test fails). */
const STOP_MS = 15_000;

afterEach(async () => {
  const stubborn: string[] = [];
  for (const r of running.splice(0)) {
    if (r.child.exitCode !== null) continue;
    r.child.kill('SIGINT');
    let timer: NodeJS.Timeout | undefined;
    const stopped = await Promise.race([r.exited.then(() => true), new Promise<false>((resolve) => (timer = setTimeout(() => resolve(false), STOP_MS)))]);
    clearTimeout(timer);
    if (stopped) continue;
    r.child.kill('SIGKILL');
    await r.exited;
    stubborn.push(r.output());
  }
  expect(stubborn, 'bridge.exe did not stop on Ctrl+C').toEqual([]);
});
afterAll(() => rmSync(work, { recursive: true, force: true }));

/** Start `bridge.exe args` under Wine in `cwd`, its output going to a file. */
function startExe(args: string[], cwd = work): Running {
  const logFile = path.join(work, `out-${running.length}-${Date.now()}.txt`);
  const out = openSync(logFile, 'w');
  const child = spawn('wine', [EXE, ...args], { cwd, stdio: ['ignore', out, out] });
  closeSync(out);
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  const r: Running = { child, output: () => readFileSync(logFile, 'utf8'), exited };
  running.push(r);
  return r;
}

async function runExe(args: string[], cwd = work): Promise<{ code: number | null; output: string }> {
  const r = startExe(args, cwd);
  const code = await r.exited;
  return { code, output: r.output() };
}

/** Resolve once the process's output satisfies `pred`; fail with the output when it exits first or time runs out. */
async function waitOutput(r: Running, pred: (s: string) => boolean, what: string): Promise<void> {
  const deadline = Date.now() + START_MS;
  while (!pred(r.output())) {
    if (r.child.exitCode !== null) throw new Error(`bridge.exe exited (${r.child.exitCode}) before ${what}:\n${r.output()}`);
    if (Date.now() > deadline) throw new Error(`no ${what} within ${START_MS} ms:\n${r.output()}`);
    await new Promise((res) => setTimeout(res, 100));
  }
}

async function client(port: number, id: string): Promise<BrokerClient> {
  const c = new BrokerClient(id, { host: '127.0.0.1', port, autoReconnect: false });
  await c.connect();
  return c;
}

/** Subscribe, and hold the first message that arrives. */
async function subscribed(c: BrokerClient, pattern: string): Promise<{ first: Promise<Message> }> {
  let deliver: (m: Message) => void = () => undefined;
  const first = new Promise<Message>((resolve) => (deliver = resolve));
  await c.subscribe([pattern], (m) => deliver(m));
  return { first };
}

describe('bridge.exe under Wine', () => {
  it('--version prints the package version', async () => {
    const res = await runExe(['--version']);
    expect(res.code, res.output).toBe(0);
    expect(res.output.trim()).toBe(VERSION);
  });

  it('lib export writes the AutoHotkey libraries it carries, byte for byte', async () => {
    const dir = mkdtempSync(path.join(work, 'scripts-'));
    const res = await runExe(['lib', 'export'], dir);
    expect(res.code, res.output).toBe(0);
    const shipped = readdirSync(path.join(ROOT, 'scripts', 'lib')).filter((n) => n.endsWith('.ahk')).sort();
    expect(readdirSync(path.join(dir, 'lib')).sort()).toEqual(shipped);
    for (const name of shipped) {
      expect(readFileSync(path.join(dir, 'lib', name)).equals(readFileSync(path.join(ROOT, 'scripts', 'lib', name))), name).toBe(true);
    }
    expect(res.output).toContain('#Include lib\\Bridge.ahk');
  });

  it('install-startup --dry-run: the logon runs bridge.exe itself, with no Node and no script beside it', async () => {
    const dir = mkdtempSync(path.join(work, 'shop-'));
    writeFileSync(path.join(dir, 'saw.ahk'), '; a script\n');
    writeFileSync(path.join(dir, 'bridge.config.json'), JSON.stringify({ interpreter: `Z:${STUB.replace(/\//g, '\\')}`, scripts: [{ key: 'saw', path: 'saw.ahk' }] }));
    const res = await runExe(['install-startup', '--dry-run'], dir);
    expect(res.code, res.output).toBe(0);
    const win = (p: string): string => `Z:${p.replace(/\//g, '\\')}`;
    const runLine = res.output.split(/\r?\n/).find((l) => l.trimStart().startsWith('shell.Run '));
    expect(runLine?.trim()).toMatch(
      new RegExp(`^shell\\.Run "${escapeRe(win(EXE))} up --config ${escapeRe(win(path.join(dir, 'bridge.config.json')))} --log-file \\S+\\\\ahk-bridge\\\\logs\\\\bridge\\.log", 0, False$`),
    );
    expect(res.output).toContain(`  in:        ${win(dir)}\n`);
  });

  it('what needs Node or the npm package says so: the stand-in interpreter, and demo', async () => {
    const dir = mkdtempSync(path.join(work, 'misuse-'));
    writeFileSync(path.join(dir, 'saw.ahk'), '; a script\n');
    writeFileSync(path.join(dir, 'AutoHotkey.mjs'), '// a Node script\n');
    const run = await runExe(['run', 'saw.ahk', '--key', 'saw', '--ahk', 'AutoHotkey.mjs'], dir);
    expect(run.code).toBe(1);
    expect(run.output).toContain(`is a Node script (Z:${path.join(dir, 'AutoHotkey.mjs').replace(/\//g, '\\')}), the tests' stand-in for AutoHotkey; bridge.exe has no Node to run it`);
    const demo = await runExe(['demo'], dir);
    expect(demo.code).toBe(1);
    expect(demo.output).toContain('bridge: bridge demo runs from the npm package, whose demo scripts bridge.exe does not carry');
  });

  it('broker: a Linux client publishes and subscribes through it; the status page comes from its assets', async () => {
    const [port, http] = [await freePort(), await freePort()];
    const broker = startExe(['broker', '--host', '127.0.0.1', '--port', String(port), '--http', String(http)]);
    await waitOutput(broker, (s) => s.includes('status page listening'), 'broker and status page listening');

    const sub = await client(port, 'linux-sub');
    const got = (await subscribed(sub, 'jobs.*')).first;
    const pub = await client(port, 'linux-pub');
    await pub.publish('jobs.activated', { job_id: 'A-100', operator: 'Müller' });
    const msg = await got;
    expect(msg.topic).toBe('jobs.activated');
    expect(msg.payload).toEqual({ job_id: 'A-100', operator: 'Müller' });
    expect(msg.sender).toBe('linux-pub');

    const page = await fetch(`http://127.0.0.1:${http}/`);
    expect(page.status).toBe(200);
    expect(Buffer.from(await page.arrayBuffer()).equals(readFileSync(path.join(ROOT, 'web', 'status', 'index.html')))).toBe(true);
    await Promise.all([sub.disconnect(), pub.disconnect()]);
  });

  it('broker: a cp1251 frame from a legacy client is decoded (iconv-lite is bundled, not looked for beside it)', async () => {
    const port = await freePort();
    const broker = startExe(['broker', '--host', '127.0.0.1', '--port', String(port), '--legacy-encoding', 'cp1251']);
    await waitOutput(broker, (s) => s.includes('broker listening'), 'broker listening');
    const sub = await client(port, 'reader');
    const got = (await subscribed(sub, 'saw.note')).first;
    const socket = net.connect(port, '127.0.0.1');
    await new Promise<void>((resolve) => socket.once('connect', resolve));
    const frame = (body: Buffer): Buffer => Buffer.concat([Buffer.from([0, 0, body.length >> 8, body.length & 0xff]), body]);
    socket.write(frame(Buffer.from('{"jsonrpc":"2.0","method":"connect","params":{"client_id":"legacy"},"id":1}')));
    // "Пила" (saw) in cp1251: not UTF-8, so the broker decodes it as its legacy encoding.
    const text = Buffer.from([0xcf, 0xe8, 0xeb, 0xe0]);
    socket.write(frame(Buffer.concat([Buffer.from('{"jsonrpc":"2.0","method":"publish","params":{"topic":"saw.note","payload":"'), text, Buffer.from('"}}')])));
    expect((await got).payload).toBe('Пила');
    socket.destroy();
    await sub.disconnect();
  });

  it('tail: a Windows-1252 queue line reaches a Linux client (the bundle starts it through plain-entry.ts); a misused flag gets commander\'s words', async () => {
    const misused = await runExe(['tail', 'queue.txt', '--qos', '2']);
    expect(misused.code, misused.output).toBe(1);
    expect(misused.output).toContain("option '-q, --qos <qos>' argument '2' is invalid. Allowed choices are 0, 1.");

    const port = await freePort();
    const broker = startExe(['broker', '--host', '127.0.0.1', '--port', String(port)]);
    await waitOutput(broker, (s) => s.includes('broker listening'), 'broker listening');
    const sub = await client(port, 'linux-jobs');
    const got = (await subscribed(sub, 'jobs.done')).first;
    // Windows-1252, as FileAppend writes by default: 0x80 is the euro sign.
    writeFileSync(path.join(work, 'queue.txt'), Buffer.concat([Buffer.from('JOB_DONE|{"job":7,"price":"5'), Buffer.from([0x80]), Buffer.from('"}\r\n')]));
    startExe(['tail', 'queue.txt', '--map', 'JOB_DONE=jobs.done', '--host', '127.0.0.1', '--port', String(port)]);
    expect((await got).payload).toMatchObject({ job: 7, price: '5€' });
    await sub.disconnect();
  });

  it('run: supervises the native stub interpreter, which a Linux client stops', async () => {
    const port = await freePort();
    writeFileSync(path.join(work, 'saw.ahk'), '; the stub interpreter does not read its script\n');
    const bridge = startExe(['run', 'saw.ahk', '--key', 'saw', '--ahk', STUB, '--host', '127.0.0.1', '--port', String(port)]);
    await waitOutput(bridge, (s) => s.includes('script ready'), 'the script ready');
    const c = await client(port, 'linux-control');
    const stopped = (await subscribed(c, 'scripts.saw.stopped')).first;
    await c.request('scripts.saw.stop', {});
    expect((await stopped).payload).toMatchObject({ reason: 'stopped' });
    await c.disconnect();
  });
});

function escapeRe(text: string): string {
  return text.replace(/[\\^$.*+?()[\]{}|]/g, '\\$&');
}
