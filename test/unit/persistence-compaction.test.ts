import { cpSync, existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { Journal, JournalRecord } from '../../src/broker/persistence/index.js';
import { TestJournalFs } from '../helpers/journal-fs.js';
import { journalBytesOnDisk, journalFiles, model, msg, openJournal, useTempDirs } from '../helpers/journal-bed.js';
import { compareRawJsonByValue } from '../helpers/raw-json-equality.js';

// Stored payloads come back as the text they were stored in.
compareRawJsonByValue();

const tempDir = useTempDirs();

const PAD = 'x'.repeat(200);
const enqueue = (n: number, clientIds = ['a']): JournalRecord => ({ type: 'enqueue', message: msg(`m${n}`, { payload: { n, PAD } }), clientIds });
const ack = (n: number): JournalRecord => ({ type: 'ack', clientId: 'a', messageId: `m${n}` });

/** Append in order, remembering every record for the model. */
function recorder(journal: Journal, history: JournalRecord[]) {
  return (r: JournalRecord): Promise<void> => {
    history.push(r);
    return journal.append(r);
  };
}

describe('Journal: compaction', () => {
  it('shrinks the files to the live state: 3000 messages appended and acked, 10 left', async () => {
    const dir = tempDir();
    const history: JournalRecord[] = [];
    const { journal } = await openJournal(dir, { fsync: 'never' });
    const add = recorder(journal, history);
    await add({ type: 'session', clientId: 'a', patterns: ['#'], expiresAt: null });
    for (let n = 0; n < 3000; n++) {
      await add(enqueue(n));
      if (n < 2990) await add(ack(n));
    }
    const before = journalBytesOnDisk(dir);
    expect(before).toBeGreaterThan(3000 * 250);
    const result = await journal.compact();
    const after = journalBytesOnDisk(dir);
    const live = journal.stats().liveBytes;
    expect(after).toBe(journal.stats().diskBytes);
    expect(result).toMatchObject({ diskBytesBefore: before, diskBytesAfter: after, records: 11 });
    expect(after).toBeLessThan(live + 200); // the snapshot's header and footer on top of the live records
    expect(after).toBeLessThan(before / 100);
    expect(journalFiles(dir)).toEqual([result.snapshot]);
    expect(journal.stats().lastCompaction).toMatchObject({ diskBytesBefore: before, diskBytesAfter: after });
    await journal.close();
    const again = await openJournal(dir);
    expect(again.state).toEqual(model(history));
    expect(again.state.sessions.get('a')?.pending.map((m) => m.id)).toEqual(Array.from({ length: 10 }, (_, i) => `m${2990 + i}`));
    expect(again.recovery).toMatchObject({ snapshot: result.snapshot, segments: [], damage: [] });
    await again.journal.close();
  });

  it('compacts by itself and keeps disk use bounded while 3 MB go through it', async () => {
    const dir = tempDir();
    const minBytes = 64 * 1024;
    const fs = new TestJournalFs();
    const { journal } = await openJournal(dir, { fs, fsync: 'never', autoCompact: { minBytes, ratio: 2 } });
    let maxDisk = 0;
    let compactions = 0;
    for (let n = 0; n < 7000; n++) {
      await journal.append(enqueue(n));
      if (n >= 5) await journal.append(ack(n - 5)); // five messages live at any time
      if (journal.stats().compacting) {
        compactions++;
        await journal.compact(); // joins the one running: the bound is then exact, not a race
      }
      maxDisk = Math.max(maxDisk, journalBytesOnDisk(dir));
    }
    expect(fs.bytesWritten).toBeGreaterThan(3_000_000);
    expect(compactions).toBeGreaterThanOrEqual(30);
    expect(maxDisk).toBeLessThan(minBytes + 4096);
    await journal.close();
    const again = await openJournal(dir);
    expect(again.state.sessions.get('a')?.pending.map((m) => m.id)).toEqual(['m6995', 'm6996', 'm6997', 'm6998', 'm6999']);
    await again.journal.close();
  });

  it('goes on taking appends while a snapshot is written, and loses none of them at any crash point', async () => {
    const fs = new TestJournalFs();
    const dir = tempDir();
    const history: JournalRecord[] = [];
    const { journal } = await openJournal(dir, { fs, fsync: 'always' });
    const add = recorder(journal, history);
    await add({ type: 'session', clientId: 'a', patterns: ['#'], expiresAt: null });
    await add({ type: 'session', clientId: 'b', patterns: ['x'], expiresAt: null });
    for (let n = 0; n < 50; n++) await add(enqueue(n, ['a', 'b']));
    for (let n = 0; n < 20; n++) await add(ack(n));

    /** What a SIGKILL at this moment would leave: a copy of the directory, opened. */
    const crashHere = async (label: string): Promise<void> => {
      const copy = tempDir();
      cpSync(dir, copy, { recursive: true });
      const o = await openJournal(copy);
      expect(o.state, label).toEqual(model(history));
      await o.journal.close();
    };

    // Crash point 1: the snapshot is written but not yet fsynced or renamed.
    const snapSync = fs.hold('sync', /^snapshot-.*\.tmp$/);
    const first = journal.compact();
    await snapSync.reached;
    for (let n = 50; n < 60; n++) await add(enqueue(n)); // resolve while compaction waits: publishing is not blocked
    await add(ack(20));
    await add({ type: 'session', clientId: 'b', patterns: ['y'], expiresAt: Date.UTC(2100, 0, 1) });
    await add({ type: 'retain', message: msg('r', { topic: 'status' }) });
    await crashHere('before the snapshot is in place');
    snapSync.release();

    // Crash point 2: the snapshot is in place, the segments it replaces are not yet removed.
    const firstResult = await first;
    const unlink = fs.hold('unlink', /^journal-/);
    const second = journal.compact();
    await unlink.reached;
    await add(ack(21));
    await add({ type: 'session_end', clientId: 'b' });
    await crashHere('after the rename, before the removal');
    unlink.release();
    const secondResult = await second;
    expect(secondResult.snapshot).not.toBe(firstResult.snapshot);
    await add(enqueue(60));
    await crashHere('after the compaction');

    await journal.close();
    const again = await openJournal(dir);
    expect(again.state).toEqual(model(history));
    expect(again.recovery.snapshot).toBe(secondResult.snapshot);
    await again.journal.close();
  });

  it('a compaction that fails (disk full) changes nothing, and a later one succeeds', async () => {
    const fs = new TestJournalFs();
    const dir = tempDir();
    const history: JournalRecord[] = [];
    const { journal } = await openJournal(dir, { fs, fsync: 'always' });
    const add = recorder(journal, history);
    for (let n = 0; n < 20; n++) await add(enqueue(n));
    const filesBefore = journalFiles(dir);
    fs.fail('write', 'ENOSPC', { file: /^snapshot-/, partial: 0.5 });
    await expect(journal.compact()).rejects.toMatchObject({ name: 'PersistenceError', code: 'ENOSPC' });
    expect(readdirSync(dir).filter((n) => n.endsWith('.tmp'))).toEqual([]);
    expect(journalFiles(dir)).toEqual(filesBefore);
    expect(journal.stats().lastError).toMatchObject({ code: 'ENOSPC' });
    await add(ack(3)); // the journal goes on
    fs.heal();
    const ok = await journal.compact();
    expect(journalFiles(dir)).toEqual([ok.snapshot]);
    await journal.close();
    const again = await openJournal(dir);
    expect(again.state).toEqual(model(history));
    await again.journal.close();
  });

  it('on open, removes the temp file of an interrupted snapshot and the files a finished one replaced', async () => {
    const fs = new TestJournalFs();
    const dir = tempDir();
    const history: JournalRecord[] = [];
    const { journal } = await openJournal(dir, { fs, fsync: 'always' });
    const add = recorder(journal, history);
    for (let n = 0; n < 5; n++) await add(enqueue(n));
    const oldSegments = journalFiles(dir);
    // Stop this compaction just before it removes the old segments, and leave it there.
    const unlink = fs.hold('unlink', /^journal-/);
    const pending = journal.compact();
    await unlink.reached;
    await add(enqueue(5));
    const copy = tempDir();
    cpSync(dir, copy, { recursive: true });
    unlink.release();
    await pending;
    await journal.close();

    const opened = await openJournal(copy);
    expect(opened.recovery.removed).toEqual(oldSegments);
    expect(oldSegments.some((f) => existsSync(join(copy, f)))).toBe(false);
    expect(opened.state).toEqual(model(history));
    await opened.journal.close();
  });

  it('a damaged newest snapshot: recovers from what is still complete, and says so', async () => {
    const fs = new TestJournalFs();
    const dir = tempDir();
    const history: JournalRecord[] = [];
    const { journal } = await openJournal(dir, { fs, fsync: 'always' });
    const add = recorder(journal, history);
    const flipInCopy = (snapshot: string): string => {
      const copy = tempDir();
      cpSync(dir, copy, { recursive: true });
      const data = readFileSync(join(copy, snapshot));
      data[data.length - 60]! ^= 0xff; // in the last message record (the end record is 44 bytes)
      writeFileSync(join(copy, snapshot), data);
      return copy;
    };
    for (let n = 0; n < 10; n++) await add(enqueue(n));

    // 1. The only snapshot is damaged but every segment since the start is still there.
    let unlink = fs.hold('unlink', /^journal-/);
    let running = journal.compact();
    await unlink.reached;
    const s1 = journalFiles(dir).find((f) => f.startsWith('snapshot-'))!;
    let o = await openJournal(flipInCopy(s1));
    expect(o.state).toEqual(model(history));
    expect(o.recovery.snapshot).toBeNull();
    expect(o.recovery.damage).toEqual([expect.objectContaining({ file: s1 })]);
    expect(o.at('warning').some((l) => /recovering from the segments alone/.test(l.msg))).toBe(true);
    await o.journal.close();
    unlink.release();
    await running;

    // 2. The newest is damaged, an older complete one and the segments since it remain.
    for (let n = 10; n < 20; n++) await add(enqueue(n));
    unlink = fs.hold('unlink', /^(journal|snapshot)-/);
    running = journal.compact();
    await unlink.reached;
    const s2 = journalFiles(dir).filter((f) => f.startsWith('snapshot-')).at(-1)!;
    expect(s2).not.toBe(s1);
    o = await openJournal(flipInCopy(s2));
    expect(o.state).toEqual(model(history));
    expect(o.recovery.snapshot).toBe(s1);
    expect(o.at('warning').some((l) => /recovering from an older snapshot/.test(l.msg))).toBe(true);
    await o.journal.close();
    unlink.release();
    await running;

    // 3. Nothing older is left: the damaged snapshot's complete records are kept.
    await add(enqueue(20));
    o = await openJournal(flipInCopy(s2));
    expect(o.recovery.snapshot).toBe(s2);
    const kept = o.state.sessions.get('a')!.pending.map((m) => m.id);
    // Every record before the damaged one, then the segment after the snapshot.
    expect(kept).toEqual([...Array.from({ length: 19 }, (_, i) => `m${i}`), 'm20']);
    expect(o.at('warning').some((l) => /keeping its complete records/.test(l.msg))).toBe(true);
    await o.journal.close();
    await journal.close();
  });
});
