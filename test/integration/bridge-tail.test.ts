/**
 * `bridge tail`, `bridge run --queue` and `bridge up` with `queues`, as real processes
 * against a real broker, with a subscribing raw client. Queue files are written the way
 * AutoHotkey writes them (open, append, close per line). Waits are on deliveries, process
 * exits and output lines; the position and dead-letter files, which announce nothing, are
 * polled with a bound.
 */
import { appendFileSync, copyFileSync, existsSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { beforeEach, describe, expect, it } from 'vitest';
import { runCli, useCliProcesses, waitOutput, type StartedCli } from '../helpers/cli.js';
import type { StartedBroker } from '../helpers/broker-fixture.js';
import { freePort } from '../helpers/ports.js';
import { FrameDecoder } from '../../src/protocol/framing.js';
import type { Frame, RawClient } from '../helpers/raw-client.js';
import { brokerWithWatcher, subscribe, useTestBed } from '../helpers/test-bed.js';
import { stopCli } from '../helpers/platform.js';
import { pollFile } from '../helpers/poll-file.js';
import { pace } from '../helpers/processes.js';
import { FAKE_AHK, ROOT, scriptFixture, writeBridgeConfig } from '../helpers/script-fixtures.js';

const FIXTURE_QUEUES = path.join(ROOT, 'fixtures/queues');

const bed = useTestBed();
let b: StartedBroker;
let sub: RawClient;
let dir: string;
let queue: string;

beforeEach(async () => {
  ({ broker: b, watcher: sub } = await brokerWithWatcher(bed, { clientId: 'queue-watcher' }));
  dir = bed.tempDir('bridge-tail-');
  queue = path.join(dir, 'queue.txt');
});
// Registered after the test bed so its hook runs first: the processes stop before the bed removes their folder.
const procs = useCliProcesses();

/** `bridge tail <file>` against the test broker. */
function tail(file: string, extra: string[] = []): StartedCli {
  return procs.start(['tail', file, '--host', '127.0.0.1', '--port', String(b.port), '--log-level', 'info', ...extra]);
}

/** Resolves once `bridge tail` is watching (logged after the tailer started and its first read was kicked). */
const watching = (p: StartedCli): Promise<string> => waitOutput(p.child, p.stderr, (s) => s.includes('tail: tailing queue file'));

/** One FileAppend: open, append, close. */
const ahkAppend = (file: string, text: string | Buffer): void => appendFileSync(file, text);

interface Pos {
  identity: string;
  generation: number;
  offset: number;
}

/** The saved position; polled (bounded): the position file announces nothing. */
function waitPosition(file: string, pred: (p: Pos) => boolean, timeoutMs = 5000): Promise<Pos> {
  return pollFile(
    `${file}.pos`,
    (text) => {
      try {
        const pos = JSON.parse(text) as Pos;
        return pred(pos) ? pos : undefined;
      } catch {
        return undefined; // not written yet (or replaced between read and parse)
      }
    },
    'a position satisfying the condition',
    timeoutMs,
  );
}

/** Deliveries on the queue's topics, in arrival order, as [topic, payload]. */
const got = (c: RawClient, pred: (f: Frame) => boolean = () => true): Array<[string, unknown]> =>
  c.deliveries().filter(pred).map((d: Frame) => [d.topic, d.payload]);

describe('bridge tail', () => {
  it('publishes a v1 ANSI CRLF queue with decoded payloads, skips the empty line, and reports the unpublishable ones', async () => {
    copyFileSync(path.join(FIXTURE_QUEUES, 'v1-ansi-crlf.txt'), queue);
    await subscribe(sub, 'JOB_ACTIVATED', 'jobs.#', 'bridge.queue.invalid');
    tail(queue);
    const all = await sub.waitDeliveries(5, undefined, 10_000);
    const pos = await waitPosition(queue, (p) => p.offset === 153);
    const id = `${pos.identity}.${pos.generation}`;
    expect(pos.generation).toBe(0);
    expect(all.map((d: Frame) => [d.topic, d.payload])).toEqual([
      ['JOB_ACTIVATED', 12345], // JSON number: published unchanged, no queue_id
      ['jobs.note', { data: 'Café Müller – 5€ (Zoë)', queue_id: `${id}:21` }], // cp1252 decoded
      ['jobs.created', { job_id: 'A-1', customer: 'Ærø', queue_id: `${id}:55` }],
      ['bridge.queue.invalid', { file: queue, line: 'NO_SEPARATOR_HERE', reason: 'no "|" between topic and payload', offset: 105, queue_id: `${id}:105` }],
      ['bridge.queue.invalid', { file: queue, line: 'system.broker.ready|spoofed', reason: 'reserved topic "system.broker.ready"', offset: 124, queue_id: `${id}:124` }],
    ]);
    // The position is saved after the dead letters are written.
    const dead = readFileSync(`${queue}.dead`, 'utf8').split('\n');
    expect(dead).toHaveLength(3);
    expect(dead[0]).toMatch(new RegExp(`^\\d{4}-\\d\\d-\\d\\dT[\\d:.]+Z\\t${id}:105\\tno "\\|" between topic and payload\\tNO_SEPARATOR_HERE$`));
    expect(dead[1]).toMatch(new RegExp(`\\t${id}:124\\treserved topic "system\\.broker\\.ready"\\tsystem\\.broker\\.ready\\|spoofed$`));
    expect(dead[2]).toBe('');
  });

  it("sends a JSON payload as the script wrote it, with queue_id added before an object's closing brace", async () => {
    // A second subscriber that keeps the delivery frames as bytes: a parsed payload would hide 1.0 and rounded digits.
    const raw = await bed.open(b.port);
    const bodies: string[] = [];
    const decoder = new FrameDecoder(1 << 20);
    raw.socket.on('data', (chunk: Buffer) => decoder.push(chunk, (body) => bodies.push(body.toString('utf8'))));
    await raw.call('connect', { client_id: 'bytes', client_type: 'test', version: '1' });
    await subscribe(raw, 'raw.#');
    const lines = [
      'raw.a|{"n":1.0, "job":12345678901234567890 }',
      'raw.b| { }',
      'raw.c|{"queue_id":"mine","v":[1,2.50]}',
      'raw.d|[1, 2.0]',
      'raw.e|  "caf\\u00e9"',
      'raw.f|12345678901234567890',
    ];
    writeFileSync(queue, `${lines.join('\r\n')}\r\n`);
    tail(queue);
    const frames = await raw.waitDeliveries(6, undefined, 10_000);
    const pos = await waitPosition(queue, (p) => p.offset > 0);
    const id = `${pos.identity}.${pos.generation}`;
    const payloadText = (topic: string): string => {
      const body = bodies.find((x) => x.includes(`"topic":"${topic}"`))!;
      const start = body.indexOf('"payload":') + 10;
      return body.slice(start, body.indexOf(',"timestamp":', start));
    };
    const offsets = [0];
    for (const line of lines) offsets.push(offsets[offsets.length - 1]! + line.length + 2);
    expect(payloadText('raw.a')).toBe(`{"n":1.0, "job":12345678901234567890 ,"queue_id":"${id}:0"}`);
    expect(payloadText('raw.b')).toBe(`{ "queue_id":"${id}:${offsets[1]}"}`);
    expect(payloadText('raw.c')).toBe('{"queue_id":"mine","v":[1,2.50]}');
    expect(payloadText('raw.d')).toBe('[1, 2.0]');
    expect(payloadText('raw.e')).toBe('"caf\\u00e9"');
    // A bare integer that JSON.parse would round is text, as always.
    expect(frames.map((f: Frame) => f.payload)).toEqual([
      { n: 1, job: 12345678901234567890, queue_id: `${id}:0` },
      { queue_id: `${id}:${offsets[1]}` },
      { queue_id: 'mine', v: [1, 2.5] },
      [1, 2],
      'café',
      { data: '12345678901234567890', queue_id: `${id}:${offsets[5]}` },
    ]);
  });

  it('--map renames legacy topics and --prefix goes in front of mapped and unmapped topics', async () => {
    const mapFile = path.join(dir, 'map.json');
    writeFileSync(mapFile, JSON.stringify({ JOB_DONE: 'jobs.done' }));
    writeFileSync(queue, 'JOB_ACTIVATED|12345\r\nJOB_DONE|{"job":7}\r\nOTHER|plain text\r\nEND|1\r\n');
    await subscribe(sub, '#');
    tail(queue, ['--map', 'JOB_ACTIVATED=jobs.activated', '--map-file', mapFile, '--prefix', 'legacy']);
    await sub.waitDelivery('legacy.END', () => true, 10_000);
    const pos = await waitPosition(queue, (p) => p.offset > 0);
    const id = `${pos.identity}.${pos.generation}`;
    expect(got(sub, (d) => !d.topic.startsWith('system.'))).toEqual([
      ['legacy.jobs.activated', 12345],
      ['legacy.jobs.done', { job: 7, queue_id: `${id}:21` }],
      ['legacy.OTHER', { data: 'plain text', queue_id: `${id}:41` }],
      ['legacy.END', 1],
    ]);
  });

  it('a line without "|" goes to <file>.dead and is published on bridge.queue.invalid with the reason; later lines still arrive', async () => {
    writeFileSync(queue, '');
    await subscribe(sub, 'jobs.#', 'bridge.queue.invalid');
    const p = tail(queue);
    await watching(p);
    ahkAppend(queue, 'this line has no separator\r\n');
    ahkAppend(queue, 'jobs.after|{"ok":true}\r\n');
    const invalid = await sub.waitDelivery('bridge.queue.invalid', () => true, 10_000);
    const after = await sub.waitDelivery('jobs.after', () => true, 10_000);
    const pos = await waitPosition(queue, (q) => q.offset === 28 + 24);
    const id = `${pos.identity}.${pos.generation}`;
    expect(invalid.payload).toEqual({ file: queue, line: 'this line has no separator', reason: 'no "|" between topic and payload', offset: 0, queue_id: `${id}:0` });
    expect(after.payload).toEqual({ ok: true, queue_id: `${id}:28` });
    expect(readFileSync(`${queue}.dead`, 'utf8')).toMatch(new RegExp(`^\\S+\\t${id}:0\\tno "\\|" between topic and payload\\tthis line has no separator\\n$`));
    await waitOutput(p.child, p.stderr, (s) => s.includes('queue line not publishable; dead-lettered'));
    expect(sub.deliveries('bridge.queue.invalid')).toHaveLength(1);
  });

  it('publishes lines appended while it runs, open-append-close 10 ms apart: all of them, in order, each with its own offset', async () => {
    writeFileSync(queue, '');
    await subscribe(sub, 'jobs.#');
    const p = tail(queue);
    await watching(p);
    const N = 60;
    for (let i = 1; i <= N; i++) {
      ahkAppend(queue, `jobs.tick|{"i":${i}}\r\n`);
      await pace(10);
    }
    const deliveries = await sub.waitDeliveries(N, 'jobs.tick', 10_000);
    expect(deliveries.map((d: Frame) => d.payload.i)).toEqual(Array.from({ length: N }, (_, i) => i + 1));
    // Each line's queue_id names its own byte offset in the file.
    const expectedOffsets: number[] = [];
    for (let i = 1, at = 0; i <= N; at += `jobs.tick|{"i":${i}}\r\n`.length, i++) expectedOffsets.push(at);
    expect(deliveries.map((d: Frame) => Number(String(d.payload.queue_id).split(':').pop()))).toEqual(expectedOffsets);
    const pos = await waitPosition(queue, (q) => q.offset === readFileSync(queue).length);
    expect(pos.offset).toBeGreaterThan(0);
  });

  it('after a stop (Ctrl+C; TerminateProcess on Windows) a restart resumes at the saved position: no repeat, no loss', async () => {
    writeFileSync(queue, '');
    await subscribe(sub, 'jobs.#');
    const line = (n: number): string => `jobs.seq|{"n":${n}}\r\n`;
    const first = tail(queue);
    await watching(first);
    for (let n = 1; n <= 20; n++) ahkAppend(queue, line(n));
    await sub.waitDeliveries(20, 'jobs.seq', 10_000);
    const size20 = readFileSync(queue).length;
    // Saved once the broker accepted the lines, before any stop: TerminateProcess keeps it.
    await waitPosition(queue, (q) => q.offset === size20);
    const stopped = await stopCli(first);
    // A stop is not the broker lost: nothing for an operator to act on.
    expect(stopped.stderr).not.toContain('WARNING');
    expect(JSON.parse(readFileSync(`${queue}.pos`, 'utf8')).offset).toBe(size20);

    // Appended while no bridge runs: they wait in the file.
    for (let n = 21; n <= 35; n++) ahkAppend(queue, line(n));
    const second = tail(queue);
    const log = await watching(second);
    expect(log).toMatch(new RegExp(`queue: tailing queue file file=\\S+ offset=${size20} `));
    for (let n = 36; n <= 50; n++) ahkAppend(queue, line(n));
    await sub.waitDeliveries(50, 'jobs.seq', 10_000);
    await waitPosition(queue, (q) => q.offset === readFileSync(queue).length);
    const ns = sub.deliveries('jobs.seq').map((d: Frame) => d.payload.n);
    expect(ns).toEqual(Array.from({ length: 50 }, (_, i) => i + 1));
    const ids = sub.deliveries('jobs.seq').map((d: Frame) => d.payload.queue_id);
    expect(new Set(ids).size).toBe(50);
    await stopCli(second);
    expect(sub.deliveries('jobs.seq')).toHaveLength(50);
  });

  it('a broker that goes away is a WARNING naming the reason', async () => {
    writeFileSync(queue, '');
    const p = tail(queue);
    await watching(p);
    await b.stop();
    const log = await waitOutput(p.child, p.stderr, (s) => s.includes('tail: lost the broker'));
    expect(log).toMatch(/WARNING +tail: lost the broker; lines wait in the file until it is back reason=\S+/);
    expect(log).not.toContain('reason=client_disconnect');
  });

  it('with no broker running, exits 1 and says how to start one', async () => {
    writeFileSync(queue, 'jobs.x|1\r\n');
    const port = await freePort();
    const res = await runCli(['tail', queue, '--host', '127.0.0.1', '--port', String(port)]);
    expect(res.code).toBe(1);
    expect(res.stderr).toMatch(new RegExp(`no broker at 127\\.0\\.0\\.1:${port}: connection refused`));
    expect(res.stderr).toContain(`Start one with \`npx bridge broker\` (add --port ${port} if needed)`);
    expect(existsSync(`${queue}.pos`)).toBe(false); // nothing was read, nothing saved
  });
});

describe('queues under bridge run and bridge up', () => {
  it('bridge run <script> --queue <file> publishes the queue lines too (already there and appended later)', async () => {
    writeFileSync(queue, 'JOB_ACTIVATED|12345\r\n');
    await subscribe(sub, 'JOB_ACTIVATED', 'jobs.#', 'scripts.tick.started');
    const p = procs.start(['run', scriptFixture('ticker'), '--key', 'tick', '--ahk', FAKE_AHK, '--queue', queue, '--host', '127.0.0.1', '--port', String(b.port)]);
    await sub.waitDelivery('scripts.tick.started', () => true, 10_000);
    expect((await sub.waitDelivery('JOB_ACTIVATED', () => true, 10_000)).payload).toBe(12345);
    ahkAppend(queue, 'jobs.created|{"job_id":"B-2"}\r\n');
    const created = await sub.waitDelivery('jobs.created', () => true, 10_000);
    const pos = await waitPosition(queue, (q) => q.offset === readFileSync(queue).length);
    expect(created.payload).toEqual({ job_id: 'B-2', queue_id: `${pos.identity}.${pos.generation}:21` });
    expect(created.sender).toBe('bridge.tick');
    await stopCli(p);
    expect(sub.deliveries('JOB_ACTIVATED')).toHaveLength(1);
  });

  it('bridge up with "queues" in the config publishes them with the topic map (path relative to the config)', async () => {
    writeFileSync(queue, 'JOB_ACTIVATED|777\r\n');
    const config = writeBridgeConfig(dir, {
      broker: { host: '127.0.0.1', port: b.port },
      interpreter: FAKE_AHK,
      queues: [{ file: 'queue.txt', topic_map: { JOB_ACTIVATED: 'jobs.activated' }, prefix: 'cad' }],
    });
    await subscribe(sub, 'cad.#', 'JOB_ACTIVATED', 'jobs.#');
    const p = procs.start(['up', '--config', config]);
    const out = await waitOutput(p.child, p.stdout, (s) => s.includes('queue file'));
    expect(out).toContain(`joined the broker on 127.0.0.1:${b.port}, 0 scripts, 1 queue file`);
    expect((await sub.waitDelivery('cad.jobs.activated', () => true, 10_000)).payload).toBe(777);
    ahkAppend(queue, 'NOTE|hello\r\n');
    const note = await sub.waitDelivery('cad.NOTE', () => true, 10_000);
    const pos = await waitPosition(queue, (q) => q.offset === readFileSync(queue).length);
    expect(note.payload).toEqual({ data: 'hello', queue_id: `${pos.identity}.${pos.generation}:19` }); // after "JOB_ACTIVATED|777\r\n"
    expect(got(sub)).toEqual([
      ['cad.jobs.activated', 777],
      ['cad.NOTE', note.payload],
    ]);
    await stopCli(p);
  });
});
