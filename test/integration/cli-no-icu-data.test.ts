/**
 * `bridge broker` and `bridge tail` never reach ICU's data (issue 15: idle and backlog
 * RSS). They write every time they show (log lines, message timestamps, `started_at`, a
 * saved queue position, a dead letter, the journal's lock) without V8's date formatting,
 * whose first use loads ICU's time-zone data (640 KB resident for a UTC string), and sort
 * names without `localeCompare`, whose first use loads its collation data (about 3 MB;
 * the status page lists clients). Each runs with a preload that records every Date
 * formatting, local-time read, date parse, locale comparison or formatting and Intl object
 * (test/helpers/icu-recorder.mjs), through a day's work of its kind.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import { describe, expect, it, onTestFinished } from 'vitest';
import { BrokerClient, type Message } from '../../src/client/index.js';
import { useCliProcesses, waitOutput } from '../helpers/cli.js';
import { useTempDirs } from '../helpers/temp-dirs.js';
import { stopCli } from '../helpers/platform.js';
import { pollFile } from '../helpers/poll-file.js';
import { freePort } from '../helpers/ports.js';

const RECORDER = new URL('../helpers/icu-recorder.mjs', import.meta.url).href;

const tempDirs = useTempDirs();
// Registered after the folders' hook, so the processes stop before their folders go.
const { start } = useCliProcesses();
const tempDir = (): string => tempDirs('bridge-no-icu-');

/** What the recorder wrote: each method's name with the stack of its first call. */
const recorded = (file: string): string => {
  try {
    return readFileSync(file, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return '';
    throw err;
  }
};

/** GET `path` from the status page on `port` through node:http (Node's fetch cannot connect under Wine). */
function get(port: number, path: string): Promise<{ status: number; date: string | undefined; body: string }> {
  return new Promise((resolve, reject) => {
    http
      .get({ host: '127.0.0.1', port, path }, (res) => {
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => (body += chunk));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, date: res.headers.date, body }));
      })
      .on('error', reject);
  });
}

/** A client of the broker on `port`, disconnected after the test. */
async function client(id: string, port: number): Promise<BrokerClient> {
  const c = new BrokerClient(id, { host: '127.0.0.1', port, autoReconnect: false });
  await c.connect();
  onTestFinished(() => c.disconnect());
  return c;
}

describe('ICU data is never loaded by the broker or the tail', () => {
  it('bridge broker: logs at debug, stamps QoS 0 and 1 messages, answers ping and status, keeps a journal, serves its status page', async () => {
    const dir = tempDir();
    const record = path.join(dir, 'icu.txt');
    const port = await freePort();
    const httpPort = await freePort();
    const broker = start(
      ['broker', '--host', '127.0.0.1', '--port', String(port), '--log-level', 'debug', '--persist', path.join(dir, 'data'), '--http', String(httpPort), '--stop-on-stdin-close'],
      { NODE_OPTIONS: `--import=${RECORDER}`, ICU_RECORD: record },
    );
    // The status page listens after the broker does (seconds later under Wine).
    await waitOutput(broker.child, broker.stderr, (s) => s.includes('broker listening') && s.includes('status page listening'), 20_000);
    const subscriber = await client('no-icu-sub', port);
    const got: Message[] = [];
    let onTwo!: () => void;
    const two = new Promise<void>((resolve) => (onTwo = resolve));
    await subscriber.subscribe('jobs.#', (m) => {
      got.push(m);
      if (got.length === 2) onTwo();
    });
    const publisher = await client('no-icu-pub', port);
    await publisher.publish('jobs.cut', { n: 1 });
    await publisher.publish('jobs.cut', { n: 2 }, { qos: 1 });
    await two;
    const pong = await publisher.ping();
    const status = await publisher.status();
    // The status page's views: the clients are listed in order (two of them, so sorted).
    const clients = JSON.parse((await get(httpPort, '/api/clients')).body) as { clients: { client_id: string }[] };
    expect(clients.clients.map((c) => c.client_id)).toEqual(['no-icu-pub', 'no-icu-sub']);
    for (const view of ['/api/broker', '/api/topics', '/metrics', '/']) expect((await get(httpPort, view)).status, view).toBe(200);
    // HTTP's Date header is still there, written without toUTCString.
    const date = (await get(httpPort, '/api/broker')).date ?? '';
    expect(date).toMatch(/^(?:Mon|Tue|Wed|Thu|Fri|Sat|Sun), \d\d (?:Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec) \d{4} \d\d:\d\d:\d\d GMT$/);
    expect(Math.abs(Date.parse(date) - Date.now())).toBeLessThan(60_000);
    broker.child.stdin.end();
    const res = await broker.done;
    expect(res.code, res.stderr).toBe(0);
    // The times are there, and well formed, or their absence below would prove nothing.
    expect(got.map((m) => m.timestamp)).toEqual([expect.stringMatching(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}\+00:00$/), expect.any(String)]);
    expect(pong.timestamp).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}\+00:00$/);
    expect(status.started_at).toMatch(/^\d{4}-\d\d-\d\dT/);
    expect(res.stderr).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z DEBUG /m);
    expect(recorded(record)).toBe('');
  });

  it('bridge tail: logs, publishes its lines, dead-letters a broken one and saves its position', async () => {
    const dir = tempDir();
    const port = await freePort();
    const broker = start(['broker', '--host', '127.0.0.1', '--port', String(port), '--log-level', 'info']);
    await waitOutput(broker.child, broker.stderr, (s) => s.includes('broker listening'));
    const watcher = await client('no-icu-watch', port);
    let onLast!: (m: Message) => void;
    const last = new Promise<Message>((resolve) => (onLast = resolve));
    await watcher.subscribe('JOB', (m) => {
      if ((m.payload as { n?: number }).n === 3) onLast(m);
    });
    const queue = path.join(dir, 'queue.txt');
    const content = 'JOB|{"n":1}\r\nNO_SEPARATOR_HERE\r\nJOB|{"n":2}\r\nJOB|{"n":3}\r\n';
    writeFileSync(queue, content);
    const record = path.join(dir, 'icu.txt');
    const tail = start(['tail', queue, '--host', '127.0.0.1', '--port', String(port), '--log-level', 'debug'], {
      NODE_OPTIONS: `--import=${RECORDER}`,
      ICU_RECORD: record,
    });
    expect((await last).payload).toMatchObject({ n: 3 });
    // The position is saved (with its time) after the broken line's dead letter is written.
    const saved = await pollFile(
      `${queue}.pos`,
      (text) => {
        try {
          const pos = JSON.parse(text) as { offset: number; saved: string };
          return pos.offset === Buffer.byteLength(content) ? pos.saved : undefined;
        } catch {
          return undefined; // not written yet (or replaced between read and parse)
        }
      },
      'the position after the last line',
    );
    expect(saved).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
    expect(readFileSync(`${queue}.dead`, 'utf8')).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z\t\S+:13\tno "\|" between topic and payload\tNO_SEPARATOR_HERE\n$/);
    await stopCli(tail);
    expect(tail.stderr()).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z INFO /m);
    expect(recorded(record)).toBe('');
  });
});
