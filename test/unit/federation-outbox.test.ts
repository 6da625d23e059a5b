/** The QoS 1 export queue: order, bounds, retries, its file across restarts, and duplicate ids. */
import { appendFileSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it, vi } from 'vitest';
import { ExportOutbox, exportBytes } from '../../src/broker/federation/export-outbox.js';
import { OUTBOX_FILE, OutboxStore } from '../../src/broker/federation/outbox-store.js';
import { SeenIds } from '../../src/broker/federation/seen-ids.js';
import type { LinkMessage } from '../../src/broker/federation/upstream-link.js';
import { Logger } from '../../src/log/logger.js';
import { RawJson } from '../../src/protocol/raw-json.js';
import { useTempDirs } from '../helpers/temp-dirs.js';

const log = new Logger({ level: 'silent' });
const msg = (i: number): LinkMessage => ({ topic: 'jobs.x', payload: { i }, sender: 's', id: `id-${i}`, qos: 1, timestamp: 't', origin: 'me' });
const newTempDir = useTempDirs();
const tempDir = (): string => newTempDir('outbox-');

describe('ExportOutbox', () => {
  it('sends one at a time, in order, and keeps a message whose send failed at the head', async () => {
    const sent: number[] = [];
    let failNext = true;
    let up = true;
    const box = new ExportOutbox(
      100,
      async (m) => {
        if (failNext) {
          failNext = false;
          throw new Error('no ack');
        }
        sent.push((m.payload as { i: number }).i);
      },
      () => up,
      () => undefined,
      () => undefined,
    );
    for (let i = 0; i < 5; i++) box.push(msg(i));
    await expect.poll(() => sent).toEqual([0, 1, 2, 3, 4]);
    expect(box.length).toBe(0);
    up = false;
    box.push(msg(5));
    expect(box.length).toBe(1);
    up = true;
    box.drain();
    await expect.poll(() => sent.at(-1)).toBe(5);
    box.close();
  });

  it('drops the oldest past its limit, counting it', () => {
    const dropped: string[] = [];
    const box = new ExportOutbox(3, () => Promise.resolve(), () => false, (m) => dropped.push(m.id), () => undefined);
    for (let i = 0; i < 5; i++) box.push(msg(i));
    expect(box.length).toBe(3);
    expect(box.dropped).toBe(2);
    expect(dropped).toEqual(['id-0', 'id-1']);
  });
});

describe('ExportOutbox with QoS 0 behind QoS 1', () => {
  const qos0 = (i: number): LinkMessage => ({ ...msg(i), qos: 0 });
  /** An outbox whose sends wait until `release` (one at a time), recording the order. */
  function gated(limit = 100, stored: ConstructorParameters<typeof ExportOutbox>[5] = null) {
    const sent: string[] = [];
    const gates: (() => void)[] = [];
    let up = true;
    const failing = new Set<string>();
    const box = new ExportOutbox(
      limit,
      (m) =>
        new Promise<void>((resolve, reject) => {
          gates.push(() => (failing.has(m.id) ? reject(new Error('lost')) : (sent.push(m.id), resolve())));
        }),
      () => up,
      () => undefined,
      () => undefined,
      stored,
    );
    const release = async (): Promise<void> => {
      await expect.poll(() => gates.length).toBeGreaterThan(0);
      gates.shift()!();
    };
    return { box, sent, release, failing, setUp: (v: boolean) => (up = v) };
  }

  it('sends them in publish order, each once; a QoS 0 send that fails is counted, not retried', async () => {
    const { box, sent, release, failing } = gated();
    failing.add('id-2');
    box.push(msg(0));
    box.push(qos0(1));
    box.push(qos0(2));
    box.push(msg(3));
    for (let i = 0; i < 4; i++) await release();
    await expect.poll(() => box.length).toBe(0);
    expect(sent).toEqual(['id-0', 'id-1', 'id-3']);
    expect({ lostQos0: box.lostQos0, dropped: box.dropped, sent: box.sent }).toEqual({ lostQos0: 1, dropped: 0, sent: 3 });
  });

  it('the upstream gone: the QoS 0 exports still waiting are dropped and counted; the QoS 1 ones wait', async () => {
    const { box, sent, release, setUp } = gated();
    box.push(msg(0)); // in flight
    box.push(qos0(1));
    box.push(msg(2));
    box.push(qos0(3));
    setUp(false);
    box.dropQos0();
    expect({ length: box.length, lostQos0: box.lostQos0 }).toEqual({ length: 2, lostQos0: 2 });
    await release(); // the one in flight is accepted after all
    setUp(true);
    box.drain();
    await release();
    await expect.poll(() => box.length).toBe(0);
    expect(sent).toEqual(['id-0', 'id-2']);
  });

  it('past the limit the oldest waiting export goes, never the one in flight: a QoS 0 one as lost; only QoS 1 exports are stored', async () => {
    const dir = tempDir();
    const { box } = gated(2, OutboxStore.open(dir, log));
    box.push(msg(0)); // in flight until accepted: counted, never evicted
    box.push(qos0(1));
    box.push(msg(2)); // over the limit: id-1, the oldest waiting, goes (lost, QoS 0)
    box.push(msg(3)); // id-2 goes (dropped)
    expect({ length: box.length, dropped: box.dropped, lostQos0: box.lostQos0 }).toEqual({ length: 2, dropped: 1, lostQos0: 1 });
    box.close();
    const again = OutboxStore.open(dir, log);
    expect(again.waiting.map((m) => m.id)).toEqual(['id-0', 'id-3']);
    again.store.close();
  });

  it('a send that ends after pushes past the limit settles the export it sent, and the next goes next', async () => {
    // Before: the in-flight export was evicted, and its send's end took the next one off
    // the queue unsent.
    const sent: string[] = [];
    const droppedIds: string[] = [];
    let release: () => void = () => undefined;
    let first = true;
    let up = true;
    const box = new ExportOutbox(
      3,
      (m) => {
        sent.push(m.id);
        if (!first) return Promise.resolve();
        first = false;
        return new Promise<void>((resolve) => (release = resolve));
      },
      () => up,
      (m) => droppedIds.push(m.id),
      () => undefined,
    );
    box.push(msg(0)); // its send waits
    up = false;
    for (let i = 1; i <= 3; i++) box.push(msg(i)); // id-1 goes, past the limit
    expect(box.dropped).toBe(1);
    release();
    up = true;
    box.drain();
    await vi.waitFor(() => expect(box.length).toBe(0));
    // Each export either sent or reported dropped, once: none both, none neither.
    expect(sent).toEqual(['id-0', 'id-2', 'id-3']);
    expect(droppedIds).toEqual(['id-1']);
    expect({ sent: box.sent, dropped: box.dropped, bytes: box.queuedBytes }).toEqual({ sent: 3, dropped: 1, bytes: 0 });
  });
});

describe('ExportOutbox and a ttl', () => {
  it('an export whose ttl ran out while it waited is dropped (counted, out of the store), never sent late', async () => {
    const dir = tempDir();
    const sent: string[] = [];
    let up = false;
    const box = new ExportOutbox(10, async (m) => void sent.push(m.id), () => up, () => undefined, () => undefined, OutboxStore.open(dir, log));
    box.push({ ...msg(0), expiresAt: Date.now() - 1 });
    box.push({ ...msg(1), expiresAt: Date.now() + 60_000 });
    box.push({ ...msg(2), qos: 0, expiresAt: Date.now() - 1 });
    box.push(msg(3));
    up = true;
    box.drain();
    await expect.poll(() => box.length).toBe(0);
    expect(sent).toEqual(['id-1', 'id-3']);
    expect(box.expired).toBe(2);
    box.close();
    const again = OutboxStore.open(dir, log);
    expect(again.waiting).toEqual([]);
    again.store.close();
  });
});

describe('OutboxStore', () => {
  it('keeps what waits across a restart, in order, without what was sent', () => {
    const dir = tempDir();
    const { store, waiting } = OutboxStore.open(dir, log);
    expect(waiting).toEqual([]);
    for (let i = 0; i < 4; i++) store.added(msg(i));
    store.removed('id-0', () => []);
    store.removed('id-2', () => []);
    store.close();
    const again = OutboxStore.open(dir, log);
    expect(again.waiting.map((m) => m.id)).toEqual(['id-1', 'id-3']);
    again.store.close();
  });

  it('ignores a torn last line (a crash mid-write) and keeps every whole one', () => {
    const dir = tempDir();
    const { store } = OutboxStore.open(dir, log);
    store.added(msg(1));
    store.close();
    appendFileSync(path.join(dir, OUTBOX_FILE), '{"add":{"topic":"jobs.x","payl');
    const again = OutboxStore.open(dir, log);
    expect(again.waiting.map((m) => m.id)).toEqual(['id-1']);
    // Opening rewrote the file with just what waits.
    expect(readFileSync(path.join(dir, OUTBOX_FILE), 'utf8').trim().split('\n')).toHaveLength(1);
    again.store.close();
  });

  it('an ExportOutbox with a store starts with what the file held', async () => {
    const dir = tempDir();
    const first = OutboxStore.open(dir, log);
    first.store.added(msg(7));
    first.store.close();
    const sent: string[] = [];
    const stored = OutboxStore.open(dir, log);
    const box = new ExportOutbox(10, async (m) => void sent.push(m.id), () => true, () => undefined, () => undefined, stored);
    expect(box.length).toBe(1);
    box.drain();
    await expect.poll(() => sent).toEqual(['id-7']);
    box.close();
    // Closed again at once: Windows cannot remove a folder with a file still open in it.
    const after = OutboxStore.open(dir, log);
    after.store.close();
    expect(after.waiting).toEqual([]);
  });
});

describe('ExportOutbox: its byte bound', () => {
  it('drops the oldest once the bytes of what waits would pass the bound, whatever the count', () => {
    const dropped: string[] = [];
    const big = (i: number): LinkMessage => ({ ...msg(i), payload: new RawJson(Buffer.from(JSON.stringify('x'.repeat(1000))), 0, 1002, false) });
    const each = exportBytes(big(0));
    expect(each).toBeGreaterThan(1002);
    // Room for three by bytes, a thousand by count; the upstream is away.
    const box = new ExportOutbox({ messages: 1000, bytes: 3 * each }, () => Promise.resolve(), () => false, (m) => dropped.push(m.id), () => undefined);
    for (let i = 0; i < 5; i++) box.push(big(i));
    expect(box.length).toBe(3);
    expect(box.queuedBytes).toBe(3 * each);
    expect(dropped).toEqual([msg(0).id, msg(1).id]);
    expect(box.dropped).toBe(2);
  });

  it('an export larger than the byte bound is dropped alone; a restored queue past the bounds is trimmed', () => {
    const dropped: string[] = [];
    const box = new ExportOutbox({ messages: 100, bytes: 2 * exportBytes(msg(0)) }, () => Promise.resolve(), () => false, (m) => dropped.push(m.id), () => undefined);
    box.push(msg(0));
    box.push({ ...msg(1), payload: 'x'.repeat(1000) });
    expect(dropped).toEqual(['id-1']);
    expect(box.length).toBe(1);
    const dir = tempDir();
    const first = new ExportOutbox(10, () => Promise.resolve(), () => false, () => undefined, () => undefined, OutboxStore.open(dir, log));
    for (let i = 0; i < 5; i++) first.push(msg(i));
    first.close();
    // Opened again with a bound of 3 (queue_size lowered): the two oldest go.
    const again = new ExportOutbox(3, () => Promise.resolve(), () => false, (m) => dropped.push(m.id), () => undefined, OutboxStore.open(dir, log));
    expect(again.length).toBe(3);
    expect(dropped).toEqual(['id-1', 'id-0', 'id-1']);
    again.close();
  });

  it('counts the bytes back down as exports are sent, expire or are dropped at an outage', async () => {
    let up = false;
    const sent: string[] = [];
    const box = new ExportOutbox({ messages: 100, bytes: 1_000_000 }, async (m) => void sent.push(m.id), () => up, () => undefined, () => undefined);
    box.push(msg(0));
    box.push({ ...msg(1), qos: 0 });
    box.push({ ...msg(2), expiresAt: Date.now() - 1 });
    expect(box.queuedBytes).toBe(exportBytes(msg(0)) + exportBytes({ ...msg(1), qos: 0 }) + exportBytes(msg(2)));
    box.dropQos0();
    expect(box.queuedBytes).toBe(exportBytes(msg(0)) + exportBytes(msg(2)));
    up = true;
    box.drain();
    await vi.waitFor(() => expect(box.length).toBe(0));
    expect(box.queuedBytes).toBe(0);
    expect(sent).toEqual([msg(0).id]);
  });
});

describe('SeenIds', () => {
  it('says an id was seen, and remembers at least the last `limit` ids', () => {
    const seen = new SeenIds(3);
    expect(seen.check('A', 'a')).toBe(false);
    expect(seen.check('A', 'a')).toBe(true);
    for (const id of ['b', 'c', 'd', 'e']) seen.check('A', id);
    for (const id of ['c', 'd', 'e']) expect(seen.check('A', id), id).toBe(true);
  });

  it('counts an id with the broker it came from: the same id from another origin is not a duplicate', () => {
    const seen = new SeenIds(3);
    // A client on the upstream that publishes broker A's next id under its own name first.
    expect(seen.check('evil', 'a-7')).toBe(false);
    expect(seen.check('A', 'a-7')).toBe(false);
    expect(seen.check('A', 'a-7')).toBe(true);
  });
});
