/**
 * QueueTailer against a real temp file, with appends made the way AutoHotkey makes them
 * (open, append, close per line) and an in-memory PublishBatch standing in for the broker.
 * Waits are on published items and tailer events; a timeout only turns a hang into a
 * readable failure.
 */
import { appendFileSync, copyFileSync, mkdtempSync, readFileSync, renameSync, rmSync, statSync, truncateSync, unlinkSync, watch, writeFileSync } from 'node:fs';
import { spawn } from 'node:child_process';
import { tmpdir } from 'node:os';
import { basename, dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { Logger } from '../../src/log/logger.js';
import { nodeQueueFs, type QueueFs } from '../../file-ipc/queue-file.js';
import { SAVE_EVERY_BATCHES, SAVE_EVERY_BYTES } from '../../file-ipc/publish-batch.js';
import { INVALID_LINE_TOPIC, QueueTailer, type PublishRefusal, type QueuePublish, type QueueTailerOptions } from '../../file-ipc/tailer.js';
import { SHARED_APPEND_IS_ATOMIC } from '../helpers/platform.js';
import { pace } from '../helpers/processes.js';
import { runtimeFullCollection } from '../../src/runtime/full-collection.js';

const FIXTURES = join(dirname(fileURLToPath(import.meta.url)), '..', '..', 'fixtures', 'queues');

/** The broker stand-in: records accepted items; can reject or hold calls. */
class FakeBroker {
  accepted: QueuePublish[] = [];
  batchSizes: number[] = [];
  calls = 0;
  /** Calls not answered yet, and the most there were at once. */
  inFlight = 0;
  maxInFlight = 0;
  /** Reject this many calls before accepting again. */
  rejectNext = 0;
  /** Count only (for huge backlogs): do not keep the items. */
  keep = true;
  count = 0;
  onBatch: ((items: QueuePublish[]) => void) | null = null;
  private waiters: Array<{ n: number; resolve: () => void }> = [];
  private holder: ((call: HeldCall) => void) | null = null;

  /** The next call gets no answer until the test fails or accepts it: resolves with that call. */
  holdNext(): Promise<HeldCall> {
    return new Promise((resolve) => (this.holder = resolve));
  }

  publish = async (items: QueuePublish[]): Promise<void> => {
    this.calls++;
    this.inFlight++;
    this.maxInFlight = Math.max(this.maxInFlight, this.inFlight);
    try {
      await this.answer(items);
    } finally {
      this.inFlight--;
    }
  };

  private async answer(items: QueuePublish[]): Promise<void> {
    const holder = this.holder;
    if (holder) {
      this.holder = null;
      await new Promise<void>((accept, fail) => holder({ items: [...items], fail, accept: () => accept() }));
    } else {
      await Promise.resolve(); // a real broker answers asynchronously
    }
    if (this.rejectNext > 0) {
      this.rejectNext--;
      throw new Error('broker unavailable');
    }
    this.batchSizes.push(items.length);
    this.onBatch?.(items);
    if (this.keep) this.accepted.push(...items);
    this.count += items.length;
    this.waiters = this.waiters.filter((w) => (this.count >= w.n ? (w.resolve(), false) : true));
  }

  /** Resolves once `n` items were accepted in all. */
  waitFor(n: number, timeoutMs = 10_000): Promise<void> {
    if (this.count >= n) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`timed out: ${this.count} of ${n} items accepted`)), timeoutMs);
      this.waiters.push({ n, resolve: () => (clearTimeout(timer), resolve()) });
    });
  }

  topics(): string[] {
    return this.accepted.map((i) => i.topic);
  }

  datas(): unknown[] {
    return this.accepted.map((i) => (i.payload as { data?: unknown }).data ?? i.payload);
  }
}

/** A publish call the test answers itself. */
interface HeldCall {
  items: QueuePublish[];
  fail: (err: Error) => void;
  accept: () => void;
}

/** A broker stand-in whose every call waits for the test to accept or fail it. */
class ScriptedBroker {
  readonly calls: HeldCall[] = [];
  readonly accepted: QueuePublish[] = [];
  private waiters: Array<() => void> = [];

  publish = (items: QueuePublish[]): Promise<void> =>
    new Promise<void>((resolve, reject) => {
      this.calls.push({
        items: [...items],
        fail: reject,
        accept: () => {
          this.accepted.push(...items);
          resolve();
        },
      });
      for (const w of this.waiters.splice(0)) w();
    });

  /** Resolves once `n` calls were made in all. */
  async untilCalls(n: number, timeoutMs = 10_000): Promise<void> {
    const until = Date.now() + timeoutMs;
    while (this.calls.length < n) {
      if (Date.now() > until) throw new Error(`timed out: ${this.calls.length} of ${n} calls`);
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, Math.max(0, until - Date.now()));
        this.waiters.push(() => (clearTimeout(timer), resolve()));
      });
    }
  }

  payloadsOf(call: number): unknown[] {
    return this.calls[call]!.items.map((i) => i.payload);
  }
}

/** Resolves on the next event a watcher of its own sees for `file`: the tailer's watcher had it too. */
function fsEventFor(file: string, timeoutMs = 10_000): { seen: Promise<void>; close: () => void } {
  const w = watch(dirname(file));
  const seen = new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no event for ${file}`)), timeoutMs);
    w.on('change', (_t, name) => {
      if (String(name) !== basename(file)) return;
      clearTimeout(timer);
      // Let the rest of this poll phase (the tailer's own watcher) run first.
      setImmediate(resolve);
    });
  });
  return { seen, close: () => w.close() };
}

/** One FileAppend: open, append, close. */
const ahkAppend = (file: string, text: string | Buffer): void => appendFileSync(file, text);


function once<T extends unknown[]>(emitter: QueueTailer, event: 'reset' | 'rotated' | 'idle' | 'batch' | 'invalid', timeoutMs = 10_000): Promise<T> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`timed out waiting for "${event}"`)), timeoutMs);
    emitter.once(event, (...args: unknown[]) => {
      clearTimeout(timer);
      resolve(args as T);
    });
  });
}

describe('QueueTailer', () => {
  let dir: string;
  let queue: string;
  let logLines: string[];
  let log: Logger;
  const tailers: QueueTailer[] = [];

  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'tailer-'));
    queue = join(dir, 'queue.txt');
    logLines = [];
    log = new Logger({ level: 'info', sink: { write: (l) => logLines.push(l) } });
  });

  afterEach(async () => {
    await Promise.all(tailers.splice(0).map((t) => t.stop()));
    rmSync(dir, { recursive: true, force: true });
  });

  function tailer(broker: { publish: FakeBroker['publish'] }, opts: Partial<QueueTailerOptions> = {}): QueueTailer {
    const t = new QueueTailer({ file: queue, log, ...opts }, broker.publish);
    tailers.push(t);
    return t;
  }

  it('publishes every line of paced open-append-close appends 10 ms apart (trailing re-read, no poll)', async () => {
    writeFileSync(queue, '');
    const broker = new FakeBroker();
    // The safety poll is pushed out of reach: only watcher events and the trailing re-read act.
    const t = tailer(broker, { pollIntervalMs: 600_000 });
    await t.start();
    const N = 40;
    for (let i = 0; i < N; i++) {
      ahkAppend(queue, `JOB_ACTIVATED|${i}\r\n`);
      await pace(10);
    }
    await broker.waitFor(N, 5000);
    expect(broker.datas()).toEqual(Array.from({ length: N }, (_, i) => i));
    expect(new Set(broker.accepted.map((i) => i.queueId)).size).toBe(N);
  });

  it('delivers the last of several quick appends promptly, without a later append to wake it', async () => {
    writeFileSync(queue, '');
    const broker = new FakeBroker();
    const t = tailer(broker, { pollIntervalMs: 600_000 });
    await t.start();
    ahkAppend(queue, 'A|1\n');
    await pace(5);
    ahkAppend(queue, 'A|2\n');
    const t0 = Date.now();
    await broker.waitFor(2, 3000);
    expect(Date.now() - t0).toBeLessThan(1000);
    expect(broker.datas()).toEqual([1, 2]);
  });

  it('publishes a line appended while idle at once, by the watcher event alone (no poll, no trailing look)', async () => {
    writeFileSync(queue, 'I|0\n');
    const broker = new FakeBroker();
    // Both other ways to a read are out of reach: only the event itself can deliver.
    const t = tailer(broker, { pollIntervalMs: 600_000, trailingReadMs: 600_000 });
    await t.start();
    await broker.waitFor(1);
    await t.settled();
    ahkAppend(queue, 'I|1\r\n');
    await broker.waitFor(2);
    await t.settled();
    ahkAppend(queue, 'I|2\r\n');
    await broker.waitFor(3);
    expect(broker.datas()).toEqual([0, 1, 2]);
  });

  it('loses nothing of a burst of appends made while a batch is at the broker, and keeps their order', async () => {
    writeFileSync(queue, 'B|0\n');
    const broker = new FakeBroker();
    const held = broker.holdNext();
    const t = tailer(broker, { pollIntervalMs: 600_000, trailingReadMs: 600_000 });
    await t.start();
    const call = await held; // the first line is at the broker; the read loop waits for it
    const event = fsEventFor(queue);
    const N = 1000;
    for (let i = 1; i <= N; i++) ahkAppend(queue, `B|${i}\r\n`);
    try {
      await event.seen; // the burst's events reached the tailer while its loop was busy
    } finally {
      event.close();
    }
    call.accept();
    await broker.waitFor(N + 1);
    await t.settled();
    expect(broker.datas()).toEqual(Array.from({ length: N + 1 }, (_, i) => i));
    expect(new Set(broker.accepted.map((i) => i.queueId)).size).toBe(N + 1);
  });

  it('keeps several batches at the broker at once, in file order across the batch boundaries', async () => {
    const N = 2000;
    writeFileSync(queue, Array.from({ length: N }, (_, i) => `P|${i}\r\n`).join(''));
    const broker = new FakeBroker();
    const offsets: number[] = [];
    const t = tailer(broker, { batchLines: 50, maxBatchesInFlight: 3, watch: false, pollIntervalMs: 600_000 });
    t.on('batch', (b) => offsets.push(b.offset));
    await t.start();
    await broker.waitFor(N);
    await t.settled();
    expect(broker.maxInFlight).toBe(3);
    expect(Math.max(...broker.batchSizes)).toBe(50);
    expect(broker.datas()).toEqual(Array.from({ length: N }, (_, i) => i));
    // Acknowledged in order: the confirmed offset only grows, batch by batch, to the end.
    expect(offsets).toHaveLength(N / 50);
    expect(offsets.every((o, i) => i === 0 || o > offsets[i - 1]!)).toBe(true);
    expect(offsets.at(-1)).toBe(statSync(queue).size);
    expect(JSON.parse(readFileSync(`${queue}.pos`, 'utf8')).offset).toBe(statSync(queue).size);
  });

  it('after a batch rejected mid-pipeline, sends again from the confirmed position, one batch at a time until one is accepted', async () => {
    const lines = Array.from({ length: 15 }, (_, i) => `P|${i}\n`);
    writeFileSync(queue, lines.join(''));
    const endOf = (n: number): number => Buffer.byteLength(lines.slice(0, n).join(''));
    const range = (from: number, to: number): number[] => Array.from({ length: to - from }, (_, i) => from + i);
    const broker = new ScriptedBroker();
    const t = tailer(broker, { batchLines: 5, maxBatchesInFlight: 3, watch: false, pollIntervalMs: 600_000 });
    await t.start();
    await broker.untilCalls(3);
    expect([0, 1, 2].map((c) => broker.payloadsOf(c))).toEqual([range(0, 5), range(5, 10), range(10, 15)]);
    // The broker takes the first and the third batch, but not the second.
    broker.calls[0]!.accept();
    broker.calls[1]!.fail(new Error('connection lost'));
    broker.calls[2]!.accept();
    await t.settled();
    // Confirmed: the first batch only; the third was taken, but behind a rejected one.
    expect(JSON.parse(readFileSync(`${queue}.pos`, 'utf8')).offset).toBe(endOf(5));
    expect(t.offset).toBe(endOf(5));
    // After the backoff: the second batch again, alone until the broker accepts it.
    await broker.untilCalls(4);
    expect(broker.payloadsOf(3)).toEqual(range(5, 10));
    expect(broker.calls).toHaveLength(4);
    broker.calls[3]!.accept();
    await broker.untilCalls(5);
    expect(broker.payloadsOf(4)).toEqual(range(10, 15));
    broker.calls[4]!.accept();
    await t.settled();
    expect(broker.accepted.map((i) => i.payload)).toEqual([...range(0, 5), ...range(10, 15), ...range(5, 10), ...range(10, 15)]);
    // What repeats is the same lines: the same queue_ids.
    expect(broker.accepted.slice(15).map((i) => i.queueId)).toEqual(broker.accepted.slice(5, 10).map((i) => i.queueId));
    expect(t.stats).toMatchObject({ published: 15, publishFailures: 1 });
    expect(JSON.parse(readFileSync(`${queue}.pos`, 'utf8')).offset).toBe(endOf(15));
  });

  it(`saves the position during a long read, never more than ${SAVE_EVERY_BATCHES - 1} accepted batches behind, and at its end`, async () => {
    const N = 1000;
    const line = (i: number): string => `S|${String(i).padStart(6, '0')}\n`; // fixed width
    writeFileSync(queue, Array.from({ length: N }, (_, i) => line(i)).join(''));
    const width = line(0).length;
    const broker = new FakeBroker();
    let behind = 0;
    const t = tailer(broker, { batchLines: 10, watch: false, pollIntervalMs: 600_000 });
    t.on('batch', (b) => {
      let saved = 0;
      try {
        saved = JSON.parse(readFileSync(`${queue}.pos`, 'utf8')).offset;
      } catch {
        // none saved yet
      }
      behind = Math.max(behind, (b.offset - saved) / width / 10);
    });
    await t.start();
    await broker.waitFor(N);
    await t.settled();
    expect(behind).toBeLessThanOrEqual(SAVE_EVERY_BATCHES - 1);
    expect(JSON.parse(readFileSync(`${queue}.pos`, 'utf8')).offset).toBe(N * width);
  });

  it(`saves every ${SAVE_EVERY_BATCHES} full batches' worth of lines, however short the batches at read boundaries are`, async () => {
    // 4 KiB reads of 8-byte lines: 512 lines a read, sent as batches of 100, 100, 100, 100,
    // 100 and 12. Counted by batches, the short ones made a save every 341 lines or so.
    const N = 6000;
    const line = (i: number): string => `S|${String(i).padStart(5, '0')}\n`;
    writeFileSync(queue, Array.from({ length: N }, (_, i) => line(i)).join(''));
    const width = line(0).length;
    expect(width).toBe(8);
    const broker = new FakeBroker();
    const saved: number[] = [];
    let behindLines = 0;
    const t = tailer(broker, { batchLines: 100, readChunkBytes: 4096, watch: false, pollIntervalMs: 600_000 });
    t.on('batch', (b) => {
      let offset = 0;
      try {
        offset = JSON.parse(readFileSync(`${queue}.pos`, 'utf8')).offset;
      } catch {
        // none saved yet
      }
      if (offset !== saved.at(-1)) saved.push(offset);
      behindLines = Math.max(behindLines, (b.offset - offset) / width);
    });
    await t.start();
    await broker.waitFor(N);
    await t.settled();
    expect(Math.min(...broker.batchSizes)).toBeLessThan(100);
    expect(behindLines).toBeLessThan(SAVE_EVERY_BATCHES * 100);
    // A save once 400 lines or more are unsaved (412 where a short batch is among them),
    // then one at the end of the read, after the last batch event.
    const during = saved.filter((o) => o > 0 && o < N * width).length;
    expect(during).toBeLessThanOrEqual(N / (SAVE_EVERY_BATCHES * 100));
    expect(during).toBeGreaterThanOrEqual(Math.floor(N / (SAVE_EVERY_BATCHES * 100 + 12)) - 1);
    expect(JSON.parse(readFileSync(`${queue}.pos`, 'utf8')).offset).toBe(N * width);
  });

  it(`saves at least every ${SAVE_EVERY_BYTES / 1024} KiB of a backlog of long lines, before ${SAVE_EVERY_BATCHES} batches' worth of lines`, async () => {
    const N = 600;
    const line = (i: number): string => `L|{"i":${String(i).padStart(4, '0')},"pad":"${'x'.repeat(1000)}"}\n`;
    writeFileSync(queue, Array.from({ length: N }, (_, i) => line(i)).join(''));
    const broker = new FakeBroker();
    let saves = 0;
    let last = 0;
    let behind = 0;
    const t = tailer(broker, { watch: false, pollIntervalMs: 600_000 });
    t.on('batch', (b) => {
      let offset = 0;
      try {
        offset = (JSON.parse(readFileSync(`${queue}.pos`, 'utf8')) as { offset: number }).offset;
      } catch {
        // none saved yet
      }
      if (offset !== last) saves++;
      last = offset;
      behind = Math.max(behind, b.offset - offset);
    });
    await t.start();
    await broker.waitFor(N);
    await t.settled();
    // 600 lines of about 1 KB: far from 2,000 lines, but a save every 128 KiB or so.
    expect(behind).toBeLessThan(SAVE_EVERY_BYTES);
    expect(saves).toBeGreaterThanOrEqual(Math.floor(statSync(queue).size / (SAVE_EVERY_BYTES + 32 * 1024)));
  });

  it('looks at a quiet file with a stat, not an open (AutoHotkey cannot append while it is open), and reads it every tenth poll', async () => {
    writeFileSync(queue, 'Q|1\n');
    let opens = 0;
    let stats = 0;
    let statWaiter: { n: number; resolve: () => void } | null = null;
    const fs: QueueFs = {
      ...nodeQueueFs,
      open: (path, flags) => (opens++, nodeQueueFs.open(path, flags)),
      stat: async (path, o) => {
        const st = await nodeQueueFs.stat(path, o);
        if (++stats >= (statWaiter?.n ?? Infinity)) statWaiter?.resolve();
        return st;
      },
    };
    const broker = new FakeBroker();
    const t = tailer(broker, { fs, watch: false, pollIntervalMs: 5 });
    await t.start();
    await broker.waitFor(1);
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`only ${stats} stats`)), 10_000);
      statWaiter = { n: 15, resolve: () => (clearTimeout(timer), resolve()) };
    });
    // The first read, and the full reads of polls 10 (and perhaps 20): not one per poll.
    expect(opens).toBeGreaterThanOrEqual(2);
    expect(opens).toBeLessThanOrEqual(3);
    // A change is still seen by the next look.
    ahkAppend(queue, 'Q|2\n');
    await broker.waitFor(2);
  });

  it('keeps a partial line until its newline arrives', async () => {
    writeFileSync(queue, 'A|1\nB|par');
    const broker = new FakeBroker();
    const t = tailer(broker, { flushTimeoutMs: 600_000, pollIntervalMs: 600_000 });
    await t.start();
    await broker.waitFor(1);
    t.kick();
    await t.settled(); // a read that saw the partial line has ended
    expect(broker.count).toBe(1);
    expect(t.offset).toBe(4);
    ahkAppend(queue, 'tial\n');
    await broker.waitFor(2);
    await t.settled();
    expect(broker.datas()).toEqual([1, 'partial']);
    expect(broker.accepted[1]!.queueId).toMatch(/:4$/);
    expect(t.offset).toBe(14);
  });

  it('keeps a partial line under a flush timeout past the longest timer (weeks) without spinning', async () => {
    // Node runs a timer past 2^31 - 1 ms after 1 ms instead, warning each time: the tailer
    // would read the file a thousand times a second while the line waits.
    const overflows: string[] = [];
    const onWarning = (w: Error): void => void (w.name === 'TimeoutOverflowWarning' && overflows.push(w.message));
    process.on('warning', onWarning);
    try {
      writeFileSync(queue, 'A|1\nB|par');
      const broker = new FakeBroker();
      const t = tailer(broker, { flushTimeoutMs: 3e9, pollIntervalMs: 600_000 });
      await t.start();
      await broker.waitFor(1);
      await t.settled();
      // The warning of an overflowing timer is emitted on the next tick after it is set.
      await new Promise((resolve) => setImmediate(resolve));
      expect(overflows).toEqual([]);
      ahkAppend(queue, 'tial\n');
      await broker.waitFor(2);
      expect(broker.datas()).toEqual([1, 'partial']);
    } finally {
      process.off('warning', onWarning);
    }
  });

  it('takes a final line without newline after the flush timeout (script killed mid-append)', async () => {
    writeFileSync(queue, 'A|1\r\nA|last');
    const broker = new FakeBroker();
    const written = Date.now();
    const t = tailer(broker, { flushTimeoutMs: 300, pollIntervalMs: 600_000 });
    await t.start();
    await broker.waitFor(2, 5000);
    expect(Date.now() - written).toBeGreaterThanOrEqual(290);
    expect(broker.datas()).toEqual([1, 'last']);
    expect(logLines.join('')).toMatch(/took a last line without newline/);
    // What follows is a new line, not glued to the flushed one.
    ahkAppend(queue, 'A|next\n');
    await broker.waitFor(3);
    expect(broker.datas()).toEqual([1, 'last', 'next']);
  });

  it('starts over when the file is truncated, with new queue_ids for the new content', async () => {
    writeFileSync(queue, 'A|old1\nA|old2\nA|old3\n');
    const broker = new FakeBroker();
    const t = tailer(broker);
    await t.start();
    await broker.waitFor(3);
    const reset = once<[{ reason: string; generation: number }]>(t, 'reset');
    truncateSync(queue, 0);
    ahkAppend(queue, 'A|new1\n');
    const [info] = await reset;
    expect(info.reason).toMatch(/truncated|rewritten/);
    expect(info.generation).toBe(1);
    await broker.waitFor(4);
    ahkAppend(queue, 'A|new2\n');
    await broker.waitFor(5);
    expect(broker.datas()).toEqual(['old1', 'old2', 'old3', 'new1', 'new2']);
    expect(broker.accepted[3]!.queueId).not.toBe(broker.accepted[0]!.queueId);
    expect(broker.accepted[3]!.queueId).toMatch(/\.1:0$/);
  });

  it('notices a file rewritten to a bigger size (first bytes changed) and reads it from 0', async () => {
    writeFileSync(queue, 'A|1\n');
    const broker = new FakeBroker();
    const t = tailer(broker, { watch: false, pollIntervalMs: 600_000 });
    await t.start();
    await broker.waitFor(1);
    await t.settled();
    writeFileSync(queue, 'Z|9\nY|8\nX|7\n'); // truncate + write in one go: size grows past the offset
    t.kick();
    await broker.waitFor(4);
    expect(broker.datas()).toEqual([1, 9, 8, 7]);
    expect(t.stats.truncations).toBe(1);
  });

  it('honours a BOM at the start of the new content after a size drop (ANSI file rewritten as UTF-16)', async () => {
    writeFileSync(queue, Buffer.from('A|Café one\r\nA|Café two\r\nA|Café three\r\n', 'latin1'));
    const broker = new FakeBroker();
    const t = tailer(broker, { watch: false, pollIntervalMs: 600_000 });
    await t.start();
    await broker.waitFor(3);
    await t.settled();
    writeFileSync(queue, Buffer.concat([Buffer.from([0xff, 0xfe]), Buffer.from('B|日本 ✓\n', 'utf16le')]));
    t.kick();
    await broker.waitFor(4);
    expect(broker.datas()).toEqual(['Café one', 'Café two', 'Café three', '日本 ✓']);
    await t.settled();
    expect(JSON.parse(readFileSync(`${queue}.pos`, 'utf8'))).toMatchObject({ generation: 1, state: { encoding: 'utf-16le', source: 'bom' } });
  });

  it('reads a deleted and re-created file from 0 (even if the OS reuses the inode number)', async () => {
    writeFileSync(queue, 'A|1\nA|2\n');
    const broker = new FakeBroker();
    const t = tailer(broker);
    await t.start();
    await broker.waitFor(2);
    await t.settled();
    unlinkSync(queue);
    ahkAppend(queue, 'B|1\nB|2\nB|3\n');
    await broker.waitFor(5);
    expect(broker.topics()).toEqual(['A', 'A', 'B', 'B', 'B']);
    const oldFile = broker.accepted[0]!.queueId.split(':')[0];
    const newFile = broker.accepted[2]!.queueId.split(':')[0];
    expect(newFile).not.toBe(oldFile);
    // A new identity where the OS gives one (a new NTFS file id, a new creation time off
    // Windows); under Wine the reused inode keeps the identity and the changed first
    // bytes tell the files apart. Either way the new file is read once, from 0.
    expect(t.stats.replacements + t.stats.truncations).toBe(1);
  });

  it('reads the unread rest of a rotated file before the new one (live rotation)', async () => {
    writeFileSync(queue, 'R|1\nR|2\n');
    const broker = new FakeBroker();
    // No watcher: the test decides when the tailer looks, so the rotation surely comes first.
    const t = tailer(broker, { watch: false, pollIntervalMs: 600_000, flushTimeoutMs: 600_000 });
    await t.start();
    await broker.waitFor(2);
    await t.settled();
    ahkAppend(queue, 'R|3\nR|4\nR|5-no-newline');
    renameSync(queue, `${queue}.1`);
    ahkAppend(queue, 'N|1\nN|2\n');
    const rotated = once<[{ path: string }]>(t, 'rotated');
    t.kick();
    expect((await rotated)[0].path).toBe(`${queue}.1`);
    await broker.waitFor(7);
    expect(broker.datas()).toEqual([1, 2, 3, 4, '5-no-newline', 1, 2]);
    expect(broker.topics()).toEqual(['R', 'R', 'R', 'R', 'R', 'N', 'N']);
  });

  it('reads the rest of a rotated file that is renamed again while it drains (a second rotation)', async () => {
    writeFileSync(queue, 'R|1\nR|2\n');
    // The drain finds the rotated file at queue.txt.1; as it opens it there, a second
    // rotation moves it on to queue.txt.2, and another file takes the name queue.txt.1.
    let again = false;
    const fs: QueueFs = {
      ...nodeQueueFs,
      open: (path, flags) => {
        if (!again && path === `${queue}.1`) {
          again = true;
          renameSync(`${queue}.1`, `${queue}.2`);
          renameSync(queue, `${queue}.1`);
          writeFileSync(queue, 'C|1\n');
        }
        return nodeQueueFs.open(path, flags);
      },
    };
    const broker = new FakeBroker();
    const t = tailer(broker, { fs, watch: false, pollIntervalMs: 600_000, flushTimeoutMs: 600_000 });
    await t.start();
    await broker.waitFor(2);
    await t.settled();
    ahkAppend(queue, 'R|3\nR|4\n');
    renameSync(queue, `${queue}.1`);
    ahkAppend(queue, 'N|1\n');
    const rotated = once<[{ path: string }]>(t, 'rotated');
    t.kick();
    // Found again where it went, by identity, and read to its end.
    expect((await rotated)[0].path).toBe(`${queue}.2`);
    expect(again).toBe(true);
    await broker.waitFor(4);
    expect(broker.topics().slice(0, 4)).toEqual(['R', 'R', 'R', 'R']);
    expect(broker.datas().slice(0, 4)).toEqual([1, 2, 3, 4]);
  });

  it('resumes from the saved position after a restart: nothing lost, nothing repeated, rotation included', async () => {
    writeFileSync(queue, '');
    const broker = new FakeBroker();
    const t1 = tailer(broker);
    await t1.start();
    for (let i = 1; i <= 5; i++) ahkAppend(queue, `S|${i}\r\n`);
    await broker.waitFor(5);
    await t1.stop();
    const saved = JSON.parse(readFileSync(`${queue}.pos`, 'utf8'));
    expect(saved.offset).toBe(5 * 'S|1\r\n'.length);
    // While the bridge is down: more appends, then a rotation and more appends.
    for (let i = 6; i <= 8; i++) ahkAppend(queue, `S|${i}\r\n`);
    renameSync(queue, join(dir, 'queue.1.txt'));
    for (let i = 9; i <= 10; i++) ahkAppend(queue, `S|${i}\r\n`);
    const t2 = tailer(broker);
    await t2.start();
    await broker.waitFor(10);
    await t2.settled();
    expect(broker.datas()).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
    // A third run with nothing new publishes nothing.
    await t2.stop();
    const t3 = tailer(broker);
    await t3.start();
    t3.kick();
    await t3.settled();
    expect(broker.count).toBe(10);
  });

  it('saves the position only after the broker accepted; a repeat after a crash carries the same queue_id', async () => {
    writeFileSync(queue, 'C|1\n');
    const broker = new FakeBroker();
    const t1 = tailer(broker, { watch: false, pollIntervalMs: 600_000 });
    await t1.start();
    await broker.waitFor(1);
    await t1.settled();
    // The next batch is "in flight" when the bridge dies: the broker never answers.
    const held = broker.holdNext();
    ahkAppend(queue, 'C|2\n');
    t1.kick();
    const call = await held;
    expect(JSON.parse(readFileSync(`${queue}.pos`, 'utf8')).offset).toBe(4);
    call.fail(new Error('connection lost'));
    await t1.stop();
    expect(JSON.parse(readFileSync(`${queue}.pos`, 'utf8')).offset).toBe(4);
    const t2 = tailer(broker, { watch: false });
    await t2.start();
    await broker.waitFor(2);
    expect(broker.accepted[1]!.queueId).toBe(call.items[0]!.queueId);
    expect(broker.datas()).toEqual([1, 2]);
  });

  it('retries a rejected publish with the same lines, without loss or reordering', async () => {
    writeFileSync(queue, '');
    const broker = new FakeBroker();
    broker.rejectNext = 3;
    const t = tailer(broker, { batchLines: 4 });
    await t.start();
    for (let i = 0; i < 10; i++) ahkAppend(queue, `P|${i}\n`);
    await broker.waitFor(10);
    await t.settled();
    expect(broker.datas()).toEqual(Array.from({ length: 10 }, (_, i) => i));
    expect(t.stats.publishFailures).toBe(3);
    expect(t.stats.published).toBe(10);
    expect(logLines.join('')).toMatch(/broker did not accept queue lines/);
  });

  it('publishes a 200,000-line backlog in bounded batches with bounded memory and progress logs', async () => {
    const N = 200_000;
    const chunk: string[] = [];
    for (let i = 0; i < N; i++) {
      chunk.push(`JOB_ACTIVATED|{"n":${i},"pad":"backlog line"}\r\n`);
      if (chunk.length === 10_000) {
        appendFileSync(queue, chunk.join(''));
        chunk.length = 0;
      }
    }
    const broker = new FakeBroker();
    broker.keep = false;
    let expected = 0;
    let ordered = true;
    let maxRss = 0;
    broker.onBatch = (items) => {
      for (const it of items) if ((it.payload as { n: number }).n !== expected++) ordered = false;
      maxRss = Math.max(maxRss, process.memoryUsage().rss);
    };
    // A real full collection (global.gc exists only with --expose-gc), so the baseline is honest.
    runtimeFullCollection()?.();
    const rss0 = process.memoryUsage().rss;
    // Record every read's size: the file (9.7 MB) must never be read in one piece.
    let maxRead = 0;
    const fs: QueueFs = {
      ...nodeQueueFs,
      open: async (path, flags) => {
        const h = await nodeQueueFs.open(path, flags);
        return {
          stat: (o) => h.stat(o),
          close: () => h.close(),
          read: (buf, off, len, pos) => ((maxRead = Math.max(maxRead, len)), h.read(buf, off, len, pos)),
        };
      },
    };
    const t = tailer(broker, { batchLines: 500, topicMap: { JOB_ACTIVATED: 'jobs.activated' }, fs });
    await t.start();
    await broker.waitFor(N, 60_000);
    await t.settled();
    expect(ordered).toBe(true);
    expect(Math.max(...broker.batchSizes)).toBeLessThanOrEqual(500);
    expect(broker.batchSizes.length).toBeGreaterThanOrEqual(N / 500);
    const growthMb = (maxRss - rss0) / 1024 / 1024;
    // (plus the newline before a chunk, read with it to check the file was not rewritten)
    expect(maxRead).toBeLessThanOrEqual(256 * 1024 + 1);
    // Peak RSS includes garbage V8 has not collected yet (about 40 MB here for any backlog
    // size, measured up to a million lines); reading the file whole would add far more.
    expect(growthMb).toBeLessThan(96);
    const log = logLines.join('');
    expect(log).toMatch(/reading queue backlog/);
    expect(log).toMatch(/queue backlog progress .*percent=\d+ .*lines_per_s=\d+/);
    expect(log).toMatch(/queue backlog read .*lines=200000/);
  }, 60_000);

  it('dead-letters lines that cannot be published, reports them, and counts', async () => {
    writeFileSync(queue, '');
    const broker = new FakeBroker();
    const t = tailer(broker, { prefix: 'legacy', topicMap: { JOB_ACTIVATED: 'jobs.activated' } });
    const invalid: string[] = [];
    t.on('invalid', (i) => invalid.push(i.reason));
    await t.start();
    ahkAppend(queue, 'JOB_ACTIVATED|12345\r\n\r\nno separator\r\n|empty topic\r\njobs..x|1\r\nOK|{"queue_id":"mine","v":1}\r\n');
    await broker.waitFor(5);
    await t.settled();
    expect(broker.topics()).toEqual(['legacy.jobs.activated', INVALID_LINE_TOPIC, INVALID_LINE_TOPIC, INVALID_LINE_TOPIC, 'legacy.OK']);
    expect(broker.accepted[0]!.payload).toBe(12345); // a JSON scalar is published unchanged
    expect(broker.accepted[4]!.payload).toEqual({ queue_id: 'mine', v: 1 }); // an own queue_id is kept
    const bad = broker.accepted[1]!;
    expect(bad.payload).toEqual({ file: queue, line: 'no separator', reason: 'no "|" between topic and payload', offset: 23, queue_id: bad.queueId });
    expect(invalid).toEqual(['no "|" between topic and payload', 'empty topic', 'invalid topic "legacy.jobs..x": topic has an empty level']);
    const dead = readFileSync(`${queue}.dead`, 'utf8').trimEnd().split('\n').map((l) => l.split('\t'));
    expect(dead.map((d) => [d[1], d[2], d[3]])).toEqual([
      [broker.accepted[1]!.queueId, 'no "|" between topic and payload', 'no separator'],
      [broker.accepted[2]!.queueId, 'empty topic', '|empty topic'],
      [broker.accepted[3]!.queueId, 'invalid topic "legacy.jobs..x": topic has an empty level', 'jobs..x|1'],
    ]);
    expect(t.stats).toMatchObject({ published: 2, invalid: 3, skippedEmpty: 1 });
    expect(t.stats.bytesRead).toBe(readFileSync(queue).length);
  });

  it('dead-letters the lines the broker refuses for good, in file order among the others, and moves on', async () => {
    writeFileSync(queue, 'A|1\nDENIED|2\nno separator\nB|3\nDENIED|4\n');
    const accepted: QueuePublish[] = [];
    const calls: string[][] = [];
    const deniedIds: string[] = [];
    // The broker stand-in: refuses every DENIED line, and also the report of the unparsable line.
    const publish = async (items: QueuePublish[]): Promise<PublishRefusal[]> => {
      await Promise.resolve();
      calls.push(items.map((i) => i.topic));
      const refused: PublishRefusal[] = [];
      items.forEach((item, index) => {
        const line = (item.payload as { line?: string } | null)?.line;
        if (item.topic === 'DENIED') deniedIds.push(item.queueId);
        if (item.topic === 'DENIED') refused.push({ index, reason: 'Not allowed: DENIED (rule)' });
        else if (item.topic === INVALID_LINE_TOPIC && line === 'no separator') refused.push({ index, reason: 'no reports today' });
        else accepted.push(item);
      });
      return refused;
    };
    const t = new QueueTailer({ file: queue, log }, publish);
    tailers.push(t);
    const invalid: Array<[number, string]> = [];
    const invalidIds: string[] = [];
    t.on('invalid', (i) => {
      invalid.push([i.offset, i.reason]);
      invalidIds.push(i.queueId);
    });
    await t.start();
    await once(t, 'batch');
    await t.settled();
    // A refused line keeps the queue_id its publish had, in its report and its event.
    expect(deniedIds).toHaveLength(2);
    expect(deniedIds.map((id) => id.slice(id.lastIndexOf(':')))).toEqual([':4', ':30']);
    expect([invalidIds[0], invalidIds[2]]).toEqual(deniedIds);
    expect(accepted.filter((i) => i.topic === INVALID_LINE_TOPIC).map((i) => (i.payload as { queue_id: string }).queue_id)).toEqual(deniedIds);
    expect(calls).toEqual([
      ['A', 'DENIED', INVALID_LINE_TOPIC, 'B', 'DENIED'],
      [INVALID_LINE_TOPIC, INVALID_LINE_TOPIC], // one report attempt for the two refused lines
    ]);
    const refusedReason = 'the broker refused it: Not allowed: DENIED (rule)';
    expect(invalid).toEqual([
      [4, refusedReason],
      [13, 'no "|" between topic and payload'],
      [30, refusedReason],
    ]);
    const dead = readFileSync(`${queue}.dead`, 'utf8').trimEnd().split('\n').map((l) => l.split('\t').slice(2));
    expect(dead).toEqual([
      [refusedReason, 'DENIED|2'],
      ['no "|" between topic and payload', 'no separator'],
      [refusedReason, 'DENIED|4'],
    ]);
    expect(accepted.map((i) => [i.topic, (i.payload as { offset?: number }).offset ?? i.payload])).toEqual([
      ['A', 1],
      ['B', 3],
      [INVALID_LINE_TOPIC, 4],
      [INVALID_LINE_TOPIC, 30],
    ]);
    expect(t.stats).toMatchObject({ published: 2, invalid: 3, publishFailures: 0 });
    expect(t.offset).toBe(readFileSync(queue).length);
    expect(logLines.join('')).toMatch(/WARNING +queue: broker refused the report of an unpublishable queue line; the line is in the dead-letter file .*offset=13 reason="no reports today"/);
  });

  it('dead-letters a refused line read from its bytes with its text, in a UTF-8 file the tail reads from a reused buffer', async () => {
    // Lines read from their bytes are decoded only if something asks; a refusal does. Reads
    // of 4 KiB into the tailer's one buffer overwrite it while batches of 3 are out.
    const lines = Array.from({ length: 300 }, (_, i) => (i % 97 === 5 ? `DENIED|{"i":${i},"s":"Ærø ✓"}` : `OK|{"i":${i},"s":"Ærø ✓"}`));
    writeFileSync(queue, `\ufeff${lines.join('\n')}\n`, 'utf8');
    const accepted: QueuePublish[] = [];
    const publish = async (items: QueuePublish[]): Promise<PublishRefusal[]> => {
      await new Promise((resolve) => setImmediate(resolve));
      const refused: PublishRefusal[] = [];
      items.forEach((item, index) => {
        if (item.topic === 'DENIED') refused.push({ index, reason: 'Not allowed (rule)' });
        else accepted.push(item);
      });
      return refused;
    };
    const t = new QueueTailer({ file: queue, log, batchLines: 3, readChunkBytes: 4096 }, publish);
    tailers.push(t);
    await t.start();
    await t.settled();
    const okLines = lines.filter((l) => l.startsWith('OK|'));
    const sent = accepted.filter((i) => i.topic === 'OK');
    expect(sent.map((i) => (i.payload as { i: number; s: string }).i)).toEqual(okLines.map((l) => (JSON.parse(l.slice(3)) as { i: number }).i));
    expect(new Set(sent.map((i) => (i.payload as { s: string }).s))).toEqual(new Set(['Ærø ✓']));
    const dead = readFileSync(`${queue}.dead`, 'utf8').trimEnd().split('\n').map((l) => l.split('\t').slice(2));
    expect(dead).toEqual(lines.filter((l) => l.startsWith('DENIED|')).map((l) => ['the broker refused it: Not allowed (rule)', l]));
    expect(accepted.filter((i) => i.topic === INVALID_LINE_TOPIC).map((i) => (i.payload as { line: string }).line)).toEqual(lines.filter((l) => l.startsWith('DENIED|')));
  });

  it('shortens the line in a report to 1000 characters; the dead-letter file keeps all of it', async () => {
    const long = `no separator ${'x'.repeat(3000)}`;
    writeFileSync(queue, `${long}\n`);
    const broker = new FakeBroker();
    const t = tailer(broker);
    await t.start();
    await broker.waitFor(1);
    await t.settled();
    expect(broker.accepted[0]!.payload).toMatchObject({ line: long.slice(0, 1000), line_truncated: true, line_chars: long.length, offset: 0 });
    expect(readFileSync(`${queue}.dead`, 'utf8').trimEnd().split('\t')[3]).toBe(long);
  });

  it('adds queue_id to object payloads, including {data} text payloads', async () => {
    writeFileSync(queue, 'T|hello\n');
    const broker = new FakeBroker();
    const t = tailer(broker);
    await t.start();
    await broker.waitFor(1);
    const [item] = broker.accepted;
    expect(item!.payload).toEqual({ data: 'hello', queue_id: item!.queueId });
    // <dev>-<ino>[-<creation time>, off Windows].<generation>:<offset>
    expect(item!.queueId).toMatch(process.platform === 'win32' ? /^[0-9a-f]+-[0-9a-f]+\.0:0$/ : /^[0-9a-f]+-[0-9a-f]+-[0-9a-f]+\.0:0$/);
  });

  it('decodes a UTF-16 queue written by AutoHotkey v1 (fixture), and waits for a file that does not exist yet', async () => {
    const broker = new FakeBroker();
    const t = tailer(broker);
    await t.start();
    copyFileSync(join(FIXTURES, 'v1-utf16-bom-crlf.txt'), queue);
    await broker.waitFor(5);
    expect(broker.topics()).toEqual(['JOB_ACTIVATED', 'jobs.note', 'jobs.created', INVALID_LINE_TOPIC, INVALID_LINE_TOPIC]);
    expect(broker.datas()[1]).toBe('Café ✓ 日本語 😀');
    expect(broker.accepted[2]!.payload).toMatchObject({ job_id: 'A-1', customer: 'Ærø ✓' });
    await t.settled();
    const pos = JSON.parse(readFileSync(`${queue}.pos`, 'utf8'));
    expect(pos).toMatchObject({ offset: readFileSync(queue).length, state: { encoding: 'utf-16le', source: 'bom' } });
    // After a restart the saved state says UTF-16 (there is no BOM at the saved offset).
    await t.stop();
    ahkAppend(queue, Buffer.from('JOB_ACTIVATED|Grüße ✓\r\n', 'utf16le'));
    const t2 = tailer(broker);
    await t2.start();
    await broker.waitFor(6);
    expect(broker.datas()[5]).toBe('Grüße ✓');
  });

  it('gets past a file AutoHotkey keeps busy longer than the open retries, without waiting for the poll', async () => {
    writeFileSync(queue, 'B|1\n');
    let refusals = 0;
    const fs: QueueFs = {
      ...nodeQueueFs,
      open: async (path, flags) => {
        if (refusals > 0) {
          refusals--;
          throw Object.assign(new Error('EBUSY: resource busy or locked'), { code: 'EBUSY' });
        }
        return nodeQueueFs.open(path, flags);
      },
    };
    const broker = new FakeBroker();
    const t = tailer(broker, { fs, pollIntervalMs: 600_000 });
    await t.start();
    await broker.waitFor(1);
    await t.settled();
    refusals = 10; // more than one read's 7 attempts
    ahkAppend(queue, 'B|2\n');
    await broker.waitFor(2, 5000);
    expect(broker.datas()).toEqual([1, 2]);
    expect(t.stats.readErrors).toBeGreaterThanOrEqual(1);
  });

  it.runIf(SHARED_APPEND_IS_ATOMIC)('keeps every line of several concurrent writer processes, in order per writer, across three restarts', async () => {
    writeFileSync(queue, '');
    const WRITERS = 4;
    const LINES = 2500;
    const script = `const fs=require('node:fs');const [f,w,n]=process.argv.slice(1);` +
      `for(let i=0;i<+n;i++){fs.appendFileSync(f,'W'+w+'|'+i+'\\r\\n');if(i%10===0){const t=Date.now();while(Date.now()-t<1);}}`;
    const broker = new FakeBroker();
    let t = tailer(broker);
    await t.start();
    let running = WRITERS;
    const writers = Array.from({ length: WRITERS }, (_, w) =>
      new Promise<number | null>((res) =>
        spawn(process.execPath, ['-e', script, queue, String(w), String(LINES)], { stdio: 'ignore' }).on('exit', (code) => {
          running--;
          res(code);
        }),
      ),
    );
    const total = WRITERS * LINES;
    const restartsWhileWriting: boolean[] = [];
    for (const fraction of [0.2, 0.45, 0.7]) {
      await broker.waitFor(Math.floor(total * fraction), 20_000);
      restartsWhileWriting.push(running > 0);
      await t.stop(); // a restart while the writers go on
      t = tailer(broker);
      await t.start();
    }
    expect(await Promise.all(writers)).toEqual(Array(WRITERS).fill(0));
    expect(restartsWhileWriting[0]).toBe(true);
    await broker.waitFor(total, 20_000);
    await t.settled();
    const seen = new Map<string, number[]>();
    for (const item of broker.accepted) {
      const list = seen.get(item.topic) ?? [];
      list.push(item.payload as number);
      seen.set(item.topic, list);
    }
    for (let w = 0; w < WRITERS; w++) expect(seen.get(`W${w}`)).toEqual(Array.from({ length: LINES }, (_, i) => i));
    // A graceful stop leaves nothing in flight: not a single repeat.
    expect(broker.count).toBe(total);
  }, 60_000);
});
