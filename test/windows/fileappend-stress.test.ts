/**
 * Windows lane only: two native appenders that open the queue file exactly like
 * AutoHotkey's FileAppend (CreateFileW, share mode 0, one open-append-close per line,
 * retrying a sharing violation like v2), and `bridge tail` under Windows node reading the
 * same file. Wine enforces share modes between its processes, so each side really is
 * refused while the other holds the file. Every line must be delivered exactly once, in
 * order per writer.
 *
 * Runs where `WINDOWS_LANE_BIN` holds the MinGW-built fileappend.exe (test/windows/run.sh
 * sets it). STRESS_WIN_LINES sets the lines per writer (default 1,500).
 */
import { spawn } from 'node:child_process';
import { appendFileSync, existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { BrokerClient, type Message } from '../../src/client/index.js';
import { startBroker, type StartedBroker } from '../helpers/broker-fixture.js';
import { startCli } from '../helpers/cli.js';

const BIN = process.env.WINDOWS_LANE_BIN;
const APPENDER = BIN ? path.join(BIN, 'fileappend.exe') : '';
const HAVE_APPENDER = process.platform === 'win32' && APPENDER !== '' && existsSync(APPENDER);
const LINES = Number(process.env.STRESS_WIN_LINES ?? 1500);
const WRITERS = ['w1', 'w2'];

interface AppendReport {
  written: number;
  lost: number;
  retries: number;
}

function runAppender(file: string, prefix: string): Promise<AppendReport> {
  return new Promise((resolve, reject) => {
    const child = spawn(APPENDER, [file, String(LINES), prefix, 'v2', '1'], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (out += d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => (err += d));
    child.on('error', reject);
    child.on('close', (code) => (code === 0 ? resolve(JSON.parse(out) as AppendReport) : reject(new Error(`fileappend.exe exited ${code}: ${err}`))));
  });
}

let broker: StartedBroker | undefined;
let dir = '';
const cleanups: (() => Promise<unknown> | void)[] = [];
afterEach(async () => {
  for (const fn of cleanups.splice(0).reverse()) await fn();
  await broker?.stop();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe.runIf(HAVE_APPENDER)('FileAppend-style appenders and bridge tail under Windows node', () => {
  it(`delivers every line of ${WRITERS.length} exclusive appenders exactly once, in order`, async () => {
    broker = await startBroker();
    dir = mkdtempSync(path.join(tmpdir(), 'fileappend-'));
    const file = path.join(dir, 'broker_queue.txt');
    const seen = new Map<string, number[]>(WRITERS.map((w) => [`stress.${w}`, []]));
    const sub = new BrokerClient('stress-sub', { host: '127.0.0.1', port: broker.port, autoReconnect: false });
    await sub.connect();
    cleanups.push(() => sub.disconnect());
    let total = 0;
    let resolveEnd: () => void = () => {};
    const end = new Promise<void>((r) => (resolveEnd = r));
    await sub.subscribe(['stress.*'], (msg: Message) => {
      if (msg.topic === 'stress.end') resolveEnd();
      else if (seen.get(msg.topic)?.push((msg.payload as { seq: number }).seq) !== undefined) total++;
    });
    const tail = startCli(['tail', file, '--host', '127.0.0.1', '--port', String(broker.port), '--qos', '1']);
    cleanups.push(async () => {
      tail.child.kill();
      await tail.done;
    });
    const started = Date.now();
    const reports = await Promise.all(WRITERS.map((w) => runAppender(file, `stress.${w}`)));
    // The tail reads in file order: once this last line is delivered, everything before it
    // was, and any duplicate would have been too.
    appendFileSync(file, 'stress.end|{}\r\n');
    await Promise.race([
      end,
      new Promise((_, reject) => setTimeout(() => reject(new Error(`only ${total} of ${LINES * WRITERS.length} lines arrived; tail log:\n${tail.stderr()}`)), 120_000)),
    ]);
    const seconds = (Date.now() - started) / 1000;
    for (const r of reports) expect(r).toMatchObject({ written: LINES, lost: 0 });
    for (const [topic, seqs] of seen) {
      expect(seqs, topic).toEqual(Array.from({ length: LINES }, (_, i) => i));
    }
    const retries = reports.reduce((n, r) => n + r.retries, 0);
    console.log(
      `fileappend stress: ${WRITERS.length} writers x ${LINES} lines written, ${total} delivered, ` +
        `${total - LINES * WRITERS.length} duplicates, ${retries} sharing-violation retries, ${seconds.toFixed(1)} s`,
    );
  }, 180_000);
});
