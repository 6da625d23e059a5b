/**
 * A `bridge broker` holds V8's young generation at its starting size
 * (bridge/young-generation.ts), which is what keeps a loaded broker's peak memory down
 * (issue 15), unless whoever started it sized that space themselves. A broker relays a
 * burst of messages with a preload recording the young generation's largest size
 * (test/helpers/heap-recorder.mjs).
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it, onTestFinished } from 'vitest';
import { BrokerClient } from '../../src/client/index.js';
import { holdsYoungGeneration } from '../../bridge/young-generation.js';
import { useCliProcesses, waitOutput } from '../helpers/cli.js';
import { freePort } from '../helpers/ports.js';

const RECORDER = new URL('../helpers/heap-recorder.mjs', import.meta.url).href;
/** Enough messages in flight that an unheld young generation grows (it does by start-up alone). */
const MESSAGES = 20_000;
const MB = 1024 * 1024;

const dirs: string[] = [];
afterEach(() => {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});
// Registered after the folders' hook, so the processes stop before their folders go.
const { start } = useCliProcesses();

/** The young generation's largest size in a broker that relayed MESSAGES, started with `nodeOptions`. */
async function youngGenerationUnderLoad(nodeOptions: string): Promise<number> {
  const dir = mkdtempSync(path.join(tmpdir(), 'bridge-heap-'));
  dirs.push(dir);
  const record = path.join(dir, 'heap.json');
  const port = await freePort();
  const proc = start(['broker', '--host', '127.0.0.1', '--port', String(port), '--stop-on-stdin-close', '--log-level', 'info'], {
    NODE_OPTIONS: `--import=${RECORDER} ${nodeOptions}`.trim(),
    HEAP_RECORD: record,
  });
  await waitOutput(proc.child, proc.stderr, (s) => s.includes('broker listening'));

  const sub = new BrokerClient('heap-sub', { host: '127.0.0.1', port, autoReconnect: false });
  const pub = new BrokerClient('heap-pub', { host: '127.0.0.1', port, autoReconnect: false });
  onTestFinished(async () => {
    await sub.disconnect();
    await pub.disconnect();
  });
  await sub.connect();
  await pub.connect();
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
  const { newSpaceBytes } = JSON.parse(readFileSync(record, 'utf8')) as { newSpaceBytes: number };
  expect(newSpaceBytes, 'the recorder saw the young generation').toBeGreaterThan(0);
  return newSpaceBytes;
}

describe("a bridge process's young generation", () => {
  it('stays at its starting size while a broker relays a burst', async () => {
    expect(await youngGenerationUnderLoad('')).toBeLessThanOrEqual(2 * MB);
  });

  it('grows as V8 would when the user sized it (and so it would grow without the hold)', async () => {
    expect(await youngGenerationUnderLoad('--max-semi-space-size=16')).toBeGreaterThan(2 * MB);
  });
});

describe('holdsYoungGeneration', () => {
  it('holds for a broker and the other commands, not for bridge tail', () => {
    expect(holdsYoungGeneration([], [], undefined)).toBe(true);
    expect(holdsYoungGeneration(['broker', '--port', '0'], [], undefined)).toBe(true);
    expect(holdsYoungGeneration(['up'], [], undefined)).toBe(true);
    expect(holdsYoungGeneration(['tail', 'queue.txt'], [], undefined)).toBe(false);
    // Only the command's own position names it: a file called "tail" is not the command.
    expect(holdsYoungGeneration(['run', 'tail'], [], undefined)).toBe(true);
  });

  it('leaves it to a young-generation flag on the command line or in NODE_OPTIONS, with - or _', () => {
    expect(holdsYoungGeneration(['broker'], ['--max-old-space-size=100', '--enable-source-maps'], '--no-warnings')).toBe(true);
    expect(holdsYoungGeneration(['broker'], ['--max-semi-space-size=8'], undefined)).toBe(false);
    expect(holdsYoungGeneration(['broker'], ['--min_semi_space_size=2'], undefined)).toBe(false);
    expect(holdsYoungGeneration(['broker'], [], '--import=x.mjs --max-semi-space-size=4')).toBe(false);
  });
});
