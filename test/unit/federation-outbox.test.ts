/** The QoS 1 export queue: order, bounds, retries, its file across restarts, and duplicate ids. */
import { appendFileSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { ExportOutbox } from '../../src/broker/federation/export-outbox.js';
import { OUTBOX_FILE, OutboxStore } from '../../src/broker/federation/outbox-store.js';
import { SeenIds } from '../../src/broker/federation/seen-ids.js';
import type { LinkMessage } from '../../src/broker/federation/upstream-link.js';
import { Logger } from '../../src/log/logger.js';
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

describe('SeenIds', () => {
  it('says an id was seen, and remembers at least the last `limit` ids', () => {
    const seen = new SeenIds(3);
    expect(seen.check('a')).toBe(false);
    expect(seen.check('a')).toBe(true);
    for (const id of ['b', 'c', 'd', 'e']) seen.check(id);
    for (const id of ['c', 'd', 'e']) expect(seen.check(id), id).toBe(true);
  });
});
