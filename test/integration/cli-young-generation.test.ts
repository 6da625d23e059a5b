/**
 * A `bridge broker` holds V8's young generation at its starting size
 * (bridge/young-generation.ts), which is what keeps a loaded broker's peak memory down
 * (issue 15), unless whoever started it sized that space themselves; so does `bridge
 * tail`, until it reads a backlog of lines it parses as text: then it lets the space grow
 * to its budget of 2 MB per semi-space, no more.
 * A broker relays a burst of messages, or a tail reads a backlog, with a preload
 * recording the young generation's largest size (test/helpers/heap-recorder.mjs). A tail
 * also collects the garbage a backlog promotes to the old generation, a megabyte at a
 * time (bridge/old-generation.ts), and says so at debug level.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it, onTestFinished } from 'vitest';
import { BrokerClient } from '../../src/client/index.js';
import { holdsYoungGeneration } from '../../bridge/young-generation.js';
import { useCliProcesses, waitOutput } from '../helpers/cli.js';
import { freePort } from '../helpers/ports.js';
import { connectPubSub } from '../helpers/pub-sub-pair.js';
import { useTempDirs } from '../helpers/temp-dirs.js';

const RECORDER = new URL('../helpers/heap-recorder.mjs', import.meta.url).href;
/** Enough messages in flight that an unheld young generation grows (it does by start-up alone). */
const MESSAGES = 20_000;
/** A backlog long enough that a tail's young generation grows as far as it may (V8's 16 MB per semi-space unheld). */
const BACKLOG_LINES = 100_000;
const MB = 1024 * 1024;

const tempDir = useTempDirs();
// Registered after the folders' hook, so the processes stop before their folders go.
const { start } = useCliProcesses();

/** The young generation's largest size in a broker that relayed MESSAGES, started with `nodeOptions`. */
async function youngGenerationUnderLoad(nodeOptions: string): Promise<number> {
  const dir = tempDir('bridge-heap-');
  const record = path.join(dir, 'heap.json');
  const port = await freePort();
  const proc = start(['broker', '--host', '127.0.0.1', '--port', String(port), '--stop-on-stdin-close', '--log-level', 'info'], {
    NODE_OPTIONS: `--import=${RECORDER} ${nodeOptions}`.trim(),
    HEAP_RECORD: record,
  });
  await waitOutput(proc.child, proc.stderr, (s) => s.includes('broker listening'));

  const { pub, sub } = await connectPubSub(port, 'heap');
  let received = 0;
  let allReceived!: () => void;
  const done = new Promise<void>((resolve) => (allReceived = resolve));
  await sub.subscribe('heap.load', () => {
    if (++received === MESSAGES) allReceived();
  });
  const pad = 'x'.repeat(200);
  const sends: Promise<string>[] = [];
  for (let i = 0; i < MESSAGES; i++) sends.push(pub.publish('heap.load', { i, pad }));
  await Promise.all(sends);
  await done;

  proc.child.stdin.end();
  const res = await proc.done;
  expect(res.code, res.stderr).toBe(0);
  return recorded(record);
}

function recorded(record: string): number {
  const { newSpaceBytes } = JSON.parse(readFileSync(record, 'utf8')) as { newSpaceBytes: number };
  expect(newSpaceBytes, 'the recorder saw the young generation').toBeGreaterThan(0);
  return newSpaceBytes;
}

/**
 * The young generation's largest size in a `bridge tail` started with `nodeOptions` that
 * reads a backlog of `lines` lines (all of them delivered) and is then stopped, and what
 * the tail logged at `logLevel`.
 */
async function tailOverBacklog(
  nodeOptions: string,
  lines: number,
  logLevel = 'info',
  line = (i: number): string => `HEAP_LINE|{"i":${i},"window":"Untitled - Notepad"}\r\n`,
): Promise<{ newSpaceBytes: number; stderr: string }> {
  const dir = tempDir('bridge-heap-');
  const record = path.join(dir, 'heap.json');
  const queue = path.join(dir, 'queue.txt');
  writeFileSync(queue, Array.from({ length: lines }, (_, i) => line(i)).join(''), 'latin1');
  const port = await freePort();
  const broker = start(['broker', '--host', '127.0.0.1', '--port', String(port), '--stop-on-stdin-close', '--log-level', 'info', '--max-queue-size', String(Math.max(lines, 10_000))]);
  await waitOutput(broker.child, broker.stderr, (s) => s.includes('broker listening'));
  const sub = new BrokerClient('heap-tail-sub', { host: '127.0.0.1', port, autoReconnect: false });
  onTestFinished(() => sub.disconnect());
  await sub.connect();
  let received = 0;
  let allReceived!: () => void;
  const done = new Promise<void>((resolve) => (allReceived = resolve));
  await sub.subscribe('heap.tail', () => {
    if (++received === lines) allReceived();
  });

  const tail = start(['tail', queue, '--map', 'HEAP_LINE=heap.tail', '--host', '127.0.0.1', '--port', String(port), '--log-level', logLevel], {
    NODE_OPTIONS: `--import=${RECORDER} ${nodeOptions}`.trim(),
    HEAP_RECORD: record,
  });
  await waitOutput(tail.child, tail.stderr, (s) => s.includes('tailing queue file'));
  // Delivered lines also show that the tail took its shutdown handler (set once it started).
  await done;
  tail.child.kill('SIGTERM');
  const res = await tail.done;
  expect(res.code, res.stderr).toBe(0);
  return { newSpaceBytes: recorded(record), stderr: res.stderr };
}

/** The young generation's largest size in a tail that read `lines` lines (see tailOverBacklog). */
async function youngGenerationOfTail(nodeOptions: string, lines: number, line?: (i: number) => string): Promise<number> {
  return (await tailOverBacklog(nodeOptions, lines, 'info', line)).newSpaceBytes;
}

/** A line whose payload is text (published as `{data}`): parsed as text, never read from its bytes. */
const TEXT_LINE = (i: number): string => `HEAP_LINE|window ${i} of Untitled - Notepad\r\n`;

describe("a bridge process's young generation", () => {
  it('stays at its starting size while a broker relays a burst', async () => {
    expect(await youngGenerationUnderLoad('')).toBeLessThanOrEqual(2 * MB);
  });

  it('grows as V8 would when the user sized it (and so it would grow without the hold)', async () => {
    expect(await youngGenerationUnderLoad('--max-semi-space-size=16')).toBeGreaterThan(2 * MB);
  });
});

describe("a bridge tail's young generation", () => {
  it('stays at its starting size while the tail starts and publishes a line', async () => {
    expect(await youngGenerationOfTail('', 1)).toBeLessThanOrEqual(2 * MB);
  });

  it('stays at its starting size reading a backlog of JSON objects (read from their bytes)', async () => {
    expect(await youngGenerationOfTail('', BACKLOG_LINES)).toBeLessThanOrEqual(2 * MB);
  });

  it('grows to its budget of 2 MB per semi-space reading a backlog of text lines, and no further', async () => {
    const bytes = await youngGenerationOfTail('', BACKLOG_LINES, TEXT_LINE);
    expect(bytes).toBeGreaterThan(2 * MB);
    expect(bytes).toBeLessThanOrEqual(4 * MB);
  });

  it('grows to its budget reading a backlog of long text lines too (a batch of them is a few dozen lines)', async () => {
    const longLine = (i: number): string => `HEAP_LINE|window ${i} of ${'Untitled - Notepad '.repeat(20)}\r\n`;
    const bytes = await youngGenerationOfTail('', 30_000, longLine);
    expect(bytes).toBeGreaterThan(2 * MB);
    expect(bytes).toBeLessThanOrEqual(4 * MB);
  });

  it('grows past the budget when the user sized it (so the budget is what stopped it)', async () => {
    expect(await youngGenerationOfTail('--max-semi-space-size=16', BACKLOG_LINES, TEXT_LINE)).toBeGreaterThan(4 * MB);
  });
});

describe("a bridge tail's old generation", () => {
  /** Each debug line saying the tail collected promoted garbage: the old space's bytes in use before and after. */
  const collections = (stderr: string): { before: number; after: number }[] =>
    [...stderr.matchAll(/collected garbage promoted during a backlog old_space_before=(\d+) old_space_after=(\d+)/g)].map((m) => ({ before: Number(m[1]), after: Number(m[2]) }));

  it('is collected once a backlog has promoted a megabyte, and the collection frees some', async () => {
    // Text payloads, which the tail makes {data} objects of: 200,000 such lines promote
    // several megabytes. (JSON objects, published from the lines' bytes, promote about
    // one: not enough to show a collection every time.)
    const { stderr } = await tailOverBacklog('', 2 * BACKLOG_LINES, 'debug', TEXT_LINE);
    const seen = collections(stderr);
    expect(seen.length, stderr.slice(-2000)).toBeGreaterThan(0);
    for (const { before, after } of seen) {
      expect(before).toBeGreaterThan(after);
    }
  });

  it('is not collected by a tail that publishes a line', async () => {
    const { stderr } = await tailOverBacklog('', 1, 'debug');
    expect(stderr).toContain('tailing queue file');
    expect(collections(stderr)).toEqual([]);
  });
});

describe('holdsYoungGeneration', () => {
  it('holds unless a young-generation flag is on the command line or in NODE_OPTIONS, with - or _', () => {
    expect(holdsYoungGeneration([], undefined)).toBe(true);
    expect(holdsYoungGeneration(['--max-old-space-size=100', '--enable-source-maps'], '--no-warnings')).toBe(true);
    expect(holdsYoungGeneration(['--max-semi-space-size=8'], undefined)).toBe(false);
    expect(holdsYoungGeneration(['--min_semi_space_size=2'], undefined)).toBe(false);
    expect(holdsYoungGeneration(['--semi-space-growth-factor=4'], undefined)).toBe(false);
    expect(holdsYoungGeneration([], '--import=x.mjs --max-semi-space-size=4')).toBe(false);
  });
});
