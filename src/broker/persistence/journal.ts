/**
 * The journal: open a persistence directory (lock, recover), append records durably,
 * compact, report, close. See index.ts for the file layout and the guarantees.
 *
 * The journal folds every record it made durable into its own {@link DurableState}.
 * That state is what a snapshot writes, so a compaction can never disagree with replay:
 * it holds exactly the records that reached the disk, whatever the broker did with the
 * ones that failed. Messages are shared with the broker, so the cost is the maps.
 */
import type { Logger } from '../../log/logger.js';
import { systemClock, type Clock } from '../../protocol/clock.js';
import { isoUtc } from '../../protocol/timestamp.js';
import { CommitQueue, type FsyncPolicy, type QueuedAppend } from './commit-queue.js';
import { removeObsolete, writeSnapshot } from './compaction.js';
import { DirLock } from './dir-lock.js';
import { snapshotRecordsOf, type DurableState } from './durable-state.js';
import { PersistenceError, persistenceError } from './errors.js';
import { nodeJournalFs, type JournalFs } from './journal-fs.js';
import { encodeRecord } from './record-codec.js';
import type { JournalRecord } from './records.js';
import { recover } from './recovery.js';
import { SegmentWriter } from './segment-writer.js';
import type { AutoCompactOptions, CompactionResult, JournalOptions, JournalStats, OpenedJournal } from './journal-types.js';

export type { AutoCompactOptions, CompactionResult, JournalOptions, JournalStats, OpenedJournal } from './journal-types.js';

const MAX_BATCH_BYTES = 1024 * 1024;

/**
 * An open, locked persistence directory. Get one with {@link Journal.open}; one process
 * (one broker) holds it until {@link Journal.close}.
 */
export class Journal {
  private readonly queue: CommitQueue;
  private readonly writer: SegmentWriter;
  private readonly auto: Required<AutoCompactOptions> | null;
  private compaction: Promise<CompactionResult> | null = null;
  private closing: Promise<void> | null = null;
  private appends = 0;
  private failedAppends = 0;
  private failing = false;
  /** After a failed automatic compaction, wait until the files grew this far. */
  private autoFloor = 0;
  private lastCompaction: JournalStats['lastCompaction'] = null;
  private lastError: JournalStats['lastError'] = null;

  private constructor(
    readonly dir: string,
    readonly policy: FsyncPolicy,
    private readonly fs: JournalFs,
    private readonly log: Logger,
    private readonly clock: Clock,
    private readonly lock: DirLock,
    private readonly state: DurableState,
    private readonly files: Map<string, number>,
    options: JournalOptions,
    firstSeq: number,
  ) {
    this.auto = options.autoCompact === false ? null : { minBytes: options.autoCompact?.minBytes ?? 8 * 1024 * 1024, ratio: options.autoCompact?.ratio ?? 2 };
    this.writer = new SegmentWriter({
      dir, fs, log, policy, firstSeq,
      segmentBytes: options.segmentBytes ?? 16 * 1024 * 1024,
      onSize: (name, size) => this.files.set(name, size),
      onRemoved: (name) => this.files.delete(name),
    });
    this.queue = new CommitQueue({
      policy, clock, maxBatchBytes: MAX_BATCH_BYTES,
      batchWindowMs: options.batchWindowMs ?? 2,
      flush: (group) => this.flush(group),
    });
  }

  /**
   * Lock `dir` and recover its state: the newest complete snapshot and the segments
   * after it, damaged tails cut off (WARNING with file, offset and bytes dropped), what
   * expired while the broker was down left out.
   * @throws PersistenceError `LOCKED` when another broker holds the directory (the
   *   message names its pid); a system code when the directory cannot be created or read
   */
  static async open(options: JournalOptions): Promise<OpenedJournal> {
    const fs = options.fs ?? nodeJournalFs;
    const clock = options.clock ?? systemClock;
    const { dir, log } = options;
    try {
      await fs.mkdir(dir);
    } catch (err) {
      throw persistenceError(err, 'creating the persistence directory', dir);
    }
    const lock = await DirLock.acquire(dir, { fs, log });
    try {
      const started = Date.now();
      const rec = await recover(dir, fs, log, clock.now());
      const journal = new Journal(dir, options.fsync ?? 'batch', fs, log, clock, lock, rec.state, rec.files, options, rec.nextSeq);
      const r = rec.report;
      log.info('state recovered', {
        dir, retained: rec.state.retainedCount, sessions: rec.state.sessionCount, messages: rec.state.messageCount,
        records: r.records, snapshot: r.snapshot, segments: r.segments.length, damaged_files: r.damage.length,
        expired_messages: r.expired.messages + r.expired.retained, expired_sessions: r.expired.sessions, ms: Date.now() - started,
      });
      return { journal, state: rec.state.recovered(), recovery: r };
    } catch (err) {
      await lock.release().catch((e: unknown) => log.warning('cannot release the persistence lock after a failed open', { dir, error: e }));
      throw err;
    }
  }

  /**
   * Append a record. Resolves once it is durable under the fsync policy; rejects with a
   * PersistenceError (the record is then not in the journal) on a full disk, a lost
   * permission, a closed journal. A failure does not wedge the journal: later appends
   * are tried afresh.
   */
  append(record: JournalRecord): Promise<void> {
    if (this.closing) return Promise.reject(new PersistenceError('CLOSED', `the journal in ${this.dir} is closed`));
    let buf: Buffer;
    try {
      buf = encodeRecord(record);
    } catch (err) {
      return Promise.reject(new PersistenceError('ENCODE', `cannot serialise a ${record.type} record: ${(err as Error).message}`, { cause: err }));
    }
    this.appends++;
    return this.queue.push(buf, record);
  }

  /**
   * Write the live state as a snapshot and remove the files it replaces. Appends go on
   * meanwhile (into a new segment) and none is lost, whenever a crash comes. A call
   * while one runs joins it. Runs by itself when `autoCompact` is on.
   * @throws PersistenceError; the journal is unchanged and usable
   */
  compact(): Promise<CompactionResult> {
    if (this.closing) return Promise.reject(new PersistenceError('CLOSED', `the journal in ${this.dir} is closed`));
    this.compaction ??= this.runCompaction().finally(() => {
      this.compaction = null;
    });
    return this.compaction;
  }

  /** What is stored, and the journal's counters. */
  stats(): JournalStats {
    return {
      dir: this.dir,
      fsync: this.policy,
      retained: this.state.retainedCount,
      sessions: this.state.sessionCount,
      messages: this.state.messageCount,
      pendingDeliveries: this.state.deliveryCount,
      liveBytes: this.state.liveBytes,
      diskBytes: this.diskBytes(),
      files: this.files.size,
      appends: this.appends,
      failedAppends: this.failedAppends,
      writes: this.writer.writes,
      fsyncs: this.writer.fsyncs,
      compacting: this.compaction !== null,
      lastCompaction: this.lastCompaction,
      lastError: this.lastError,
    };
  }

  /**
   * Finish the appends already made (and a compaction in flight), close the segment and
   * release the lock. Appends made after this reject with `CLOSED`. Idempotent.
   */
  close(): Promise<void> {
    this.closing ??= (async () => {
      // Its outcome went to whoever called compact() (or to the log, for automatic ones).
      if (this.compaction) await this.compaction.then(noop, noop);
      await this.queue.barrier(() => this.writer.rotate());
      await this.lock.release();
    })();
    return this.closing;
  }

  private diskBytes(): number {
    let n = 0;
    for (const size of this.files.values()) n += size;
    return n;
  }

  private async flush(group: QueuedAppend[]): Promise<void> {
    const buf = group.length === 1 ? group[0]!.buf : Buffer.concat(group.map((a) => a.buf));
    try {
      await this.writer.write(buf);
    } catch (err) {
      const e = persistenceError(err, 'writing to', this.dir);
      this.noteFailure(e, group.length);
      for (const a of group) a.reject(e);
      return;
    }
    for (const a of group) this.state.apply(a.record, a.buf.length);
    for (const a of group) a.resolve();
    if (this.failing) {
      this.failing = false;
      this.log.info('journal writes succeed again', { dir: this.dir });
    }
    this.maybeAutoCompact();
  }

  private noteFailure(e: PersistenceError, appends: number): void {
    this.failedAppends += appends;
    const repeat = this.failing && this.lastError?.code === e.code;
    this.lastError = { code: e.code, reason: e.reason, at: isoUtc(this.clock.now()) };
    this.failing = true;
    // One warning per streak: a full disk fails every append until space comes back.
    if (repeat) this.log.debug('journal write failed again', { code: e.code, reason: e.reason });
    else this.log.warning('journal write failed; QoS 1 publishes are refused until writes succeed again', { code: e.code, reason: e.reason, appends });
  }

  private maybeAutoCompact(): void {
    if (!this.auto || this.compaction || this.closing) return;
    const disk = this.diskBytes();
    if (disk < this.auto.minBytes || disk < this.auto.ratio * this.state.liveBytes || disk < this.autoFloor) return;
    this.compact().catch((err: unknown) => {
      this.log.warning('automatic compaction failed; the journal grows until one succeeds', { error: err });
    });
  }

  private async runCompaction(): Promise<CompactionResult> {
    const started = Date.now();
    const before = this.diskBytes();
    // In the writer, between two appends: the captured records are exactly those of the
    // segments below `base`, and every later append goes to segment `base` or after.
    const { base, source } = await this.queue.barrier(async () => {
      this.state.prune(this.clock.now());
      const captured = this.state.capture();
      await this.writer.rotate();
      return { base: this.writer.nextSeq, source: captured };
    });
    try {
      const snap = await writeSnapshot(this.fs, this.dir, base, snapshotRecordsOf(source), this.clock.now(), this.log);
      this.files.set(snap.name, snap.bytes);
      const removed = await removeObsolete(this.fs, this.dir, base, this.files.keys(), this.log);
      for (const name of removed) this.files.delete(name);
      const result: CompactionResult = {
        snapshot: snap.name, records: snap.records, removed,
        diskBytesBefore: before, diskBytesAfter: this.diskBytes(), durationMs: Date.now() - started,
      };
      this.lastCompaction = {
        at: isoUtc(this.clock.now()), durationMs: result.durationMs,
        diskBytesBefore: result.diskBytesBefore, diskBytesAfter: result.diskBytesAfter,
      };
      this.log.info('compacted', {
        snapshot: snap.name, records: snap.records, removed: removed.length, bytes_before: before, bytes_after: result.diskBytesAfter, ms: result.durationMs,
      });
      return result;
    } catch (err) {
      const e = persistenceError(err, 'compacting', this.dir);
      this.lastError = { code: e.code, reason: e.reason, at: isoUtc(this.clock.now()) };
      if (this.auto) this.autoFloor = this.diskBytes() + this.auto.minBytes;
      throw e;
    }
  }
}

function noop(): void {}
