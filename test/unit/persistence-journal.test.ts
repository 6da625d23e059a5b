import { mkdirSync, readFileSync, renameSync, statSync, truncateSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { PersistenceError, type JournalRecord } from '../../src/broker/persistence/index.js';
import { decodeRecords } from '../../src/broker/persistence/record-codec.js';
import { ManualClock } from '../helpers/manual-clock.js';
import { TestJournalFs } from '../helpers/journal-fs.js';
import { journalBytesOnDisk, journalFiles, model, msg, openJournal, T0, useTempDirs } from '../helpers/journal-bed.js';
import { compareRawJsonByValue } from '../helpers/raw-json-equality.js';

// Stored payloads come back as the text they were stored in.
compareRawJsonByValue();

const tempDir = useTempDirs();
const SEG1 = 'journal-0000000001.log';
const SEGMENTS = /^journal-\d+\.log$/;

const HISTORY: JournalRecord[] = [
  { type: 'session', clientId: 'a', patterns: ['t.*', 'x'], expiresAt: null },
  { type: 'session', clientId: 'b', patterns: ['#'], expiresAt: T0 + 3_600_000 },
  { type: 'retain', message: msg('r1', { topic: 'status', qos: 0 }) },
  { type: 'enqueue', message: msg('m1', { replyTo: 'rt' }), clientIds: ['a', 'b'] },
  { type: 'enqueue', message: msg('m2', { expiresAt: T0 + 60_000 }), clientIds: ['a'] },
  { type: 'ack', clientId: 'a', messageId: 'm1' },
  { type: 'retain', message: msg('r2', { topic: 'other' }) },
  { type: 'unretain', topic: 'other' },
  { type: 'session', clientId: 'c', patterns: ['c'], expiresAt: null },
  { type: 'enqueue', message: msg('m3'), clientIds: ['c', 'b'] },
  { type: 'drop', clientId: 'b', messageId: 'm3' },
  { type: 'session_end', clientId: 'c' },
];

async function writeHistory(dir: string, records: readonly JournalRecord[], options = {}): Promise<void> {
  // `never`: these tests are about what is in the files, not when it got there.
  const { journal } = await openJournal(dir, { fsync: 'never', ...options });
  await Promise.all(records.map((r) => journal.append(r)));
  await journal.close();
}

const settled = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

describe('Journal: round trip and recovery', () => {
  it('brings back the state of every record type after a reopen', async () => {
    const dir = tempDir();
    await writeHistory(dir, HISTORY);
    const { journal, state, recovery, at } = await openJournal(dir, { clock: new ManualClock(T0) });
    expect(state).toEqual(model(HISTORY, T0));
    expect(state.sessions.get('a')?.pending.map((m) => m.id)).toEqual(['m2']);
    expect(state.sessions.get('b')?.pending.map((m) => m.id)).toEqual(['m1']);
    expect(recovery).toMatchObject({ records: HISTORY.length, damage: [], skipped: [], segments: [SEG1], snapshot: null });
    expect(at('warning')).toEqual([]);
    await journal.close();
  });

  it('keeps every record before a tail torn at any byte of the last record, and warns once', async () => {
    const source = tempDir();
    await writeHistory(source, HISTORY);
    const full = readFileSync(join(source, SEG1));
    const lastStart = decodeRecords(full).records.at(-1)!.offset;
    const kept = model(HISTORY.slice(0, -1), T0);
    for (let cut = lastStart + 1; cut < full.length; cut++) {
      const dir = tempDir();
      writeFileSync(join(dir, SEG1), full.subarray(0, cut));
      const { journal, state, recovery, at } = await openJournal(dir, { clock: new ManualClock(T0), fsync: 'always' });
      expect(state, `cut at ${cut}`).toEqual(kept);
      expect(recovery.damage).toEqual([{ file: SEG1, offset: lastStart, bytesDropped: cut - lastStart, reason: expect.any(String) }]);
      expect(at('warning')).toEqual([expect.objectContaining({ file: join(dir, SEG1), offset: lastStart, bytes_dropped: cut - lastStart })]);
      expect(statSync(join(dir, SEG1)).size).toBe(lastStart); // cut on disk: the warning is not repeated
      // The journal goes on: a new record after the damage survives the next reopen.
      await journal.append({ type: 'unretain', topic: 'status' });
      await journal.close();
      const again = await openJournal(dir, { clock: new ManualClock(T0) });
      expect(again.recovery.damage).toEqual([]);
      expect(again.state).toEqual(model([...HISTORY.slice(0, -1), { type: 'unretain', topic: 'status' }], T0));
      await again.journal.close();
    }
  });

  it('loses only the middle record a flipped byte hits, keeps the file as it is, and says so at every start', async () => {
    const source = tempDir();
    await writeHistory(source, HISTORY);
    const full = readFileSync(join(source, SEG1));
    const recs = decodeRecords(full).records;
    const victim = 6;
    const from = recs[victim]!.offset;
    const to = recs[victim + 1]!.offset;
    for (let at = from; at < to; at++) {
      const dir = tempDir();
      const bad = Buffer.from(full);
      bad[at]! ^= 0x01;
      writeFileSync(join(dir, SEG1), bad);
      const { journal, state, recovery } = await openJournal(dir, { clock: new ManualClock(T0) });
      expect(state, `flip at ${at}`).toEqual(model([...HISTORY.slice(0, victim), ...HISTORY.slice(victim + 1)], T0));
      expect(recovery.damage).toEqual([{ file: SEG1, offset: from, bytesDropped: to - from, reason: expect.any(String) }]);
      await journal.close();
      // Nothing intact was cut away: the damaged bytes are still there to look at.
      expect(readFileSync(join(dir, SEG1)).equals(bad)).toBe(true);
    }
    const dir = tempDir();
    const bad = Buffer.from(full);
    bad[from + 9]! ^= 0x01;
    writeFileSync(join(dir, SEG1), bad);
    await (await openJournal(dir, { clock: new ManualClock(T0) })).journal.close();
    const again = await openJournal(dir, { clock: new ManualClock(T0) });
    expect(again.recovery.damage).toEqual([expect.objectContaining({ file: SEG1, offset: from })]);
    await again.journal.close();
  });

  it('a file under a newer snapshot name that holds no record does not hide the segments before it', async () => {
    for (const junk of [Buffer.alloc(0), Buffer.from('not a snapshot at all\n')]) {
      const dir = tempDir();
      await writeHistory(dir, HISTORY);
      writeFileSync(join(dir, 'snapshot-0000000005.snap'), junk);
      const { journal, state, recovery, at } = await openJournal(dir, { clock: new ManualClock(T0), fsync: 'always' });
      expect(state).toEqual(model(HISTORY, T0));
      expect(recovery.segments).toEqual([SEG1]);
      expect(at('warning')).toEqual([expect.objectContaining({ damaged: 'snapshot-0000000005.snap', missing_segments: [2, 3, 4] })]);
      // What is written now survives the next start beside it.
      const more: JournalRecord = { type: 'unretain', topic: HISTORY.find((r) => r.type === 'retain')!.message.topic };
      await journal.append(more);
      await journal.close();
      const again = await openJournal(dir, { clock: new ManualClock(T0) });
      expect(again.state).toEqual(model([...HISTORY, more], T0));
      await again.journal.close();
    }
  });

  it('goes on past segment 9999999999, and reads the longer names back', async () => {
    const dir = tempDir();
    await writeHistory(dir, HISTORY);
    renameSync(join(dir, SEG1), join(dir, 'journal-9999999999.log'));
    const { journal } = await openJournal(dir, { clock: new ManualClock(T0), fsync: 'always' });
    const more: JournalRecord = { type: 'session_end', clientId: 'late' };
    await journal.append({ type: 'session', clientId: 'late', patterns: ['x'], expiresAt: null });
    await journal.append(more);
    await journal.close();
    expect(journalFiles(dir)).toContain('journal-10000000000.log');
    const again = await openJournal(dir, { clock: new ManualClock(T0) });
    expect(again.recovery.segments).toEqual(['journal-9999999999.log', 'journal-10000000000.log']);
    expect(again.state).toEqual(model([...HISTORY, { type: 'session', clientId: 'late', patterns: ['x'], expiresAt: null }, more], T0));
    await again.journal.close();
  });

  it('says in plain words when the directory is a file, or a journal file is a directory', async () => {
    const file = join(tempDir(), 'not-a-dir');
    writeFileSync(file, 'x');
    await expect(openJournal(file)).rejects.toMatchObject({ name: 'PersistenceError', code: 'ENOTDIR', message: expect.stringMatching(/not a directory \(ENOTDIR\) while creating the persistence directory/) });
    const dir = tempDir();
    await writeHistory(dir, HISTORY);
    mkdirSync(join(dir, 'journal-0000000002.log'));
    await expect(openJournal(dir)).rejects.toMatchObject({ code: 'EISDIR', message: expect.stringMatching(/is a directory \(EISDIR\) while reading .*journal-0000000002\.log/) });
  });

  it('replays the segments after a damaged one', async () => {
    const dir = tempDir();
    // Tiny segments: every group commit of a record or two starts a new one.
    const { journal } = await openJournal(dir, { fsync: 'always', segmentBytes: 1 });
    for (const r of HISTORY) await journal.append(r);
    await journal.close();
    const files = journalFiles(dir);
    expect(files.length).toBe(HISTORY.length);
    const third = join(dir, files[2]!);
    truncateSync(third, statSync(third).size - 3);
    const reopened = await openJournal(dir, { clock: new ManualClock(T0) });
    expect(reopened.state).toEqual(model([...HISTORY.slice(0, 2), ...HISTORY.slice(3)], T0));
    expect(reopened.recovery.damage).toEqual([expect.objectContaining({ file: files[2], offset: 0 })]);
    await reopened.journal.close();
  });

  it('does not revive a message, retained message or session that expired while it was closed', async () => {
    const dir = tempDir();
    const records: JournalRecord[] = [
      { type: 'session', clientId: 'detached', patterns: ['#'], expiresAt: T0 + 2000 },
      { type: 'session', clientId: 'attached', patterns: ['#'], expiresAt: null },
      { type: 'enqueue', message: msg('ttl', { expiresAt: T0 + 1000 }), clientIds: ['attached', 'detached'] },
      { type: 'enqueue', message: msg('keep'), clientIds: ['attached'] },
      { type: 'retain', message: msg('rttl', { topic: 'r', expiresAt: T0 + 1000 }) },
    ];
    await writeHistory(dir, records);
    const reopenAt = async (t: number) => {
      const o = await openJournal(dir, { clock: new ManualClock(t) });
      await o.journal.close();
      return o;
    };
    const before = await reopenAt(T0 + 999);
    expect(before.state.sessions.get('attached')?.pending.map((m) => m.id)).toEqual(['ttl', 'keep']);
    expect(before.state.retained.has('r')).toBe(true);
    const expired = await reopenAt(T0 + 1000);
    expect(expired.state.sessions.get('attached')?.pending.map((m) => m.id)).toEqual(['keep']);
    expect(expired.state.sessions.get('detached')?.pending).toEqual([]);
    expect(expired.state.retained.size).toBe(0);
    expect(expired.recovery.expired).toEqual({ messages: 1, retained: 1, sessions: 0 });
    const gone = await reopenAt(T0 + 2000);
    expect([...gone.state.sessions.keys()]).toEqual(['attached']);
  });
});

describe('Journal: fsync policies, counted through the file system', () => {
  const appendMany = (journal: { append(r: JournalRecord): Promise<void> }, n: number, from = 0) =>
    Array.from({ length: n }, (_, i) => journal.append({ type: 'enqueue', message: msg(`m${from + i}`), clientIds: ['a'] }));

  it('always: one write and one fsync per append, each resolving after its own fsync', async () => {
    const fs = new TestJournalFs();
    const { journal } = await openJournal(tempDir(), { fs, fsync: 'always' });
    const syncsAtResolve: number[] = [];
    await Promise.all(appendMany(journal, 20).map((p, i) => p.then(() => (syncsAtResolve[i] = fs.calls.sync))));
    expect([fs.count('write', SEGMENTS), fs.count('sync', SEGMENTS), fs.calls.syncDir]).toEqual([20, 20, 1]); // syncDir: the new segment's entry
    syncsAtResolve.forEach((n, i) => expect(n).toBeGreaterThanOrEqual(i + 1));
    expect(journal.stats()).toMatchObject({ appends: 20, writes: 20, fsyncs: 20 });
    await journal.close();
  });

  it('batch: concurrent appends share one write and one fsync, and all resolve only after it', async () => {
    const fs = new TestJournalFs();
    const clock = new ManualClock(T0);
    const { journal } = await openJournal(tempDir(), { fs, clock, fsync: 'batch', batchWindowMs: 3 });
    const done = new Set<number>();
    const first = appendMany(journal, 50).map((p, i) => p.then(() => done.add(i)));
    await clock.timerIn(3);
    expect(fs.count('write', SEGMENTS)).toBe(0); // nothing goes before the window closes
    const gate = fs.hold('sync', /^journal-/);
    clock.advance(3);
    await gate.reached;
    const second = appendMany(journal, 50, 50).map((p, i) => p.then(() => done.add(50 + i)));
    await settled();
    expect(done.size).toBe(0); // written, but not yet durable: nobody is told so
    gate.release();
    await Promise.all([...first, ...second]);
    // The second 50 arrived during the first fsync and went together right after it.
    expect([fs.count('write', SEGMENTS), fs.count('sync', SEGMENTS)]).toEqual([2, 2]);
    expect(journal.stats().fsyncs).toBe(2);
    await journal.close();
  });

  it('batch with real timers: 200 concurrent appends take one fsync', async () => {
    const fs = new TestJournalFs();
    const { journal } = await openJournal(tempDir(), { fs, fsync: 'batch' });
    await Promise.all(appendMany(journal, 200));
    expect([fs.count('write', SEGMENTS), fs.count('sync', SEGMENTS)]).toEqual([1, 1]);
    await journal.close();
  });

  it('never: no fsync at all, and the records are still there on reopen', async () => {
    const fs = new TestJournalFs();
    const dir = tempDir();
    const { journal } = await openJournal(dir, { fs, fsync: 'never' });
    await Promise.all(appendMany(journal, 30));
    await journal.close();
    expect([fs.calls.sync, fs.calls.syncDir]).toEqual([0, 0]);
    expect(fs.count('write', SEGMENTS)).toBeGreaterThanOrEqual(1);
    const again = await openJournal(dir);
    expect(again.state.sessions.get('a')?.pending).toHaveLength(30);
    await again.journal.close();
  });
});

describe('Journal: failures', () => {
  const rec = (id: string): JournalRecord => ({ type: 'enqueue', message: msg(id), clientIds: ['a'] });

  it('a full disk rejects appends with ENOSPC and the reason; once space is back, appends succeed', async () => {
    const fs = new TestJournalFs();
    const dir = tempDir();
    const { journal, at } = await openJournal(dir, { fs, fsync: 'always' });
    await journal.append(rec('m0'));
    fs.fail('write', 'ENOSPC', { partial: 0.5 }); // half of each record reaches the disk, then it is full
    const failed = await Promise.allSettled([journal.append(rec('m1')), journal.append(rec('m2'))]);
    for (const f of failed) {
      expect(f.status).toBe('rejected');
      const err = (f as PromiseRejectedResult).reason as PersistenceError;
      expect(err).toBeInstanceOf(PersistenceError);
      expect(err.code).toBe('ENOSPC');
      expect(err.reason).toMatch(/^disk full \(ENOSPC\) while writing journal segment .*journal-\d+\.log$/);
    }
    expect(at('warning').filter((l) => l.code === 'ENOSPC')).toHaveLength(1); // one warning per streak
    expect(journal.stats()).toMatchObject({ failedAppends: 2, lastError: { code: 'ENOSPC' } });
    // A disk that stays full: every failed write opens a new segment, and none is left behind empty.
    fs.fail('write', 'ENOSPC');
    const segmentsBefore = journalFiles(dir).length;
    for (let k = 0; k < 5; k++) await expect(journal.append(rec(`full${k}`))).rejects.toMatchObject({ code: 'ENOSPC' });
    expect(journalFiles(dir).length).toBe(segmentsBefore);
    fs.heal();
    await journal.append(rec('m3'));
    expect(at('info').some((l) => /succeed again/.test(l.msg))).toBe(true);
    await journal.close();
    const again = await openJournal(dir);
    expect(again.recovery.damage).toEqual([]); // the half records were cut off
    expect(again.state).toEqual(model([rec('m0'), rec('m3')]));
    await again.journal.close();
  });

  it('an unwritable directory rejects with EACCES, and the next append tries afresh', async () => {
    const fs = new TestJournalFs();
    const dir = tempDir();
    const { journal } = await openJournal(dir, { fs });
    fs.fail('open', 'EACCES', { file: /^journal-/ });
    const err = await journal.append(rec('m1')).then(() => null, (e: unknown) => e as PersistenceError);
    expect(err).toMatchObject({ name: 'PersistenceError', code: 'EACCES' });
    expect(err!.reason).toMatch(/^permission denied \(EACCES\) while creating journal segment /);
    fs.heal();
    await journal.append(rec('m2'));
    await journal.close();
    const again = await openJournal(dir);
    expect(again.state).toEqual(model([rec('m2')]));
    await again.journal.close();
  });

  it('a failed fsync rejects, and the record it could not make durable is not replayed', async () => {
    const fs = new TestJournalFs();
    const dir = tempDir();
    const { journal } = await openJournal(dir, { fs, fsync: 'always' });
    await journal.append(rec('m0'));
    fs.fail('sync', 'EIO', { times: 1, file: /^journal-/ });
    await expect(journal.append(rec('m1'))).rejects.toMatchObject({ code: 'EIO' });
    await journal.append(rec('m2'));
    await journal.close();
    const again = await openJournal(dir);
    expect(again.state).toEqual(model([rec('m0'), rec('m2')]));
    await again.journal.close();
  });

  it('when even the cut fails, the half record is dropped at the next start and the later segment is kept', async () => {
    const fs = new TestJournalFs();
    const dir = tempDir();
    const { journal, at } = await openJournal(dir, { fs, fsync: 'always' });
    await journal.append(rec('m0'));
    fs.fail('write', 'ENOSPC', { times: 1, partial: 0.5 });
    fs.fail('truncate', 'EIO', { times: 1 });
    await expect(journal.append(rec('m1'))).rejects.toMatchObject({ code: 'ENOSPC' });
    expect(at('warning').some((l) => /cannot cut a failed write/.test(l.msg))).toBe(true);
    await journal.append(rec('m2'));
    await journal.close();
    expect(journalFiles(dir)).toHaveLength(2);
    const again = await openJournal(dir);
    expect(again.state).toEqual(model([rec('m0'), rec('m2')]));
    expect(again.recovery.damage).toEqual([expect.objectContaining({ file: SEG1, reason: expect.stringMatching(/torn/) })]);
    await again.journal.close();
  });

  it('a record that cannot be serialised is refused with ENCODE and harms nothing', async () => {
    const { journal } = await openJournal(tempDir());
    await expect(journal.append({ type: 'retain', message: msg('big', { payload: 10n }) })).rejects.toMatchObject({ code: 'ENCODE' });
    await journal.append(rec('m1'));
    expect(journal.stats()).toMatchObject({ messages: 1, failedAppends: 0 });
    await journal.close();
  });
});

describe('Journal: close and stats', () => {
  it('close writes what is waiting in a batch window, then refuses appends and compactions', async () => {
    const clock = new ManualClock(T0);
    const dir = tempDir();
    const { journal } = await openJournal(dir, { clock, batchWindowMs: 50 });
    const waiting = journal.append({ type: 'retain', message: msg('r', { topic: 'x' }) });
    await clock.timerIn(50);
    await journal.close(); // no clock.advance: closing does not wait for the window
    await waiting;
    await expect(journal.append({ type: 'unretain', topic: 'x' })).rejects.toMatchObject({ code: 'CLOSED' });
    await expect(journal.compact()).rejects.toMatchObject({ code: 'CLOSED' });
    await journal.close();
    const again = await openJournal(dir, { clock });
    expect([...again.state.retained.keys()]).toEqual(['x']);
    await again.journal.close();
  });

  it('reports what is stored and the bytes on disk', async () => {
    const fs = new TestJournalFs();
    const dir = tempDir();
    const { journal } = await openJournal(dir, { fs, fsync: 'always', clock: new ManualClock(T0) });
    for (const r of HISTORY) await journal.append(r);
    const s = journal.stats();
    const expected = model(HISTORY, T0);
    expect(s).toMatchObject({
      dir, fsync: 'always', retained: expected.retained.size, sessions: expected.sessions.size,
      messages: 2, pendingDeliveries: 2, appends: HISTORY.length, failedAppends: 0, compacting: false, lastCompaction: null, lastError: null,
    });
    expect(s.diskBytes).toBe(journalBytesOnDisk(dir));
    expect(s.fsyncs).toBe(fs.calls.sync);
    expect(s.liveBytes).toBeGreaterThan(0);
    expect(s.liveBytes).toBeLessThan(s.diskBytes);
    await journal.close();
  });
});
