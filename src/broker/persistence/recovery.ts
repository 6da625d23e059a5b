/**
 * Rebuild the durable state from a directory: the newest complete snapshot, then every
 * segment after it, in order. Damage in a file never stops the broker: a damaged stretch
 * (a flipped byte, a zeroed sector) costs the records it hit, with a WARNING naming the
 * file, the offset and the bytes lost, and the intact records after it are replayed. A
 * torn tail (a crash mid-write) is dropped, and the segment truncated there so the
 * warning is given once. Later segments start on a record boundary of their own and are
 * still replayed. A file that cannot be read at all (a directory or a dangling link
 * under a journal file's name, a failing disk) stops the start with its path: replaying
 * without it would lose what it holds for good at the next compaction.
 */
import { join } from 'node:path';
import type { Logger } from '../../log/logger.js';
import { DurableState, type Pruned } from './durable-state.js';
import { persistenceError } from './errors.js';
import { classify, type DirListing } from './file-names.js';
import type { JournalFs } from './journal-fs.js';
import { decodeRecords, type DecodeResult } from './record-codec.js';
import { FORMAT_VERSION } from './records.js';

/** Records dropped from one file. */
export interface DamageReport {
  file: string;
  offset: number;
  bytesDropped: number;
  reason: string;
}

/** What recovery did, for the start-up log and for tests. */
export interface RecoveryReport {
  /** The snapshot the state started from, or null. */
  snapshot: string | null;
  /** Segments replayed after it, in order. */
  segments: string[];
  /** Records applied (snapshot and segments). */
  records: number;
  damage: DamageReport[];
  /** Intact frames that held no record this version knows, skipped one by one. */
  skipped: { file: string; offset: number; reason: string }[];
  /** What had expired while the broker was down and was not revived. */
  expired: Pruned;
  /** Files made obsolete by a compaction that was interrupted before it removed them. */
  removed: string[];
}

/** The outcome of {@link recover}. */
export interface Recovered {
  state: DurableState;
  report: RecoveryReport;
  /** Sequence number for the next segment: above every existing one. */
  nextSeq: number;
  /** Journal files kept, with their sizes (for disk-use statistics). */
  files: Map<string, number>;
}

/** Missing segment numbers named in a warning, at most. */
const MAX_LISTED_MISSING = 20;

interface SnapshotCandidate {
  name: string;
  seq: number;
  decoded: DecodeResult;
  /** Why it cannot be used whole, or null when it is complete. */
  problem: string | null;
}

/** Read and replay `dir`; see the module comment. `now` decides what has expired. */
export async function recover(dir: string, fs: JournalFs, log: Logger, now: number): Promise<Recovered> {
  const files = new Map<string, number>();
  const read = async (name: string): Promise<Buffer> => {
    try {
      const data = await fs.readFile(join(dir, name));
      files.set(name, data.length);
      return data;
    } catch (err) {
      throw persistenceError(err, 'reading', join(dir, name));
    }
  };
  let names: string[];
  try {
    names = await fs.readdir(dir);
  } catch (err) {
    throw persistenceError(err, 'listing', dir);
  }
  const listing = classify(names);
  const report: RecoveryReport = { snapshot: null, segments: [], records: 0, damage: [], skipped: [], expired: { messages: 0, retained: 0, sessions: 0 }, removed: [] };
  const state = new DurableState();

  for (const temp of listing.temps) await removeFile(fs, dir, temp, log, 'an interrupted snapshot');

  const base = await chooseSnapshot(listing, read, log);
  if (base.damaged) report.damage.push(base.damaged);
  if (base.snapshot) {
    const s = base.snapshot;
    report.snapshot = s.name;
    for (const { record, bytes } of s.decoded.records) {
      if (record.type === 'snapshot' || record.type === 'snapshot_end') continue;
      state.apply(record, bytes);
      report.records++;
    }
    noteSkipped(report, s.name, s.decoded, log);
  }

  for (const seg of listing.segments) {
    if (seg.seq < base.seq) continue;
    const data = await read(seg.name);
    const decoded = decodeRecords(data);
    report.segments.push(seg.name);
    for (const { record, bytes, offset } of decoded.records) {
      if (record.type === 'snapshot' || record.type === 'snapshot_end') {
        report.skipped.push({ file: seg.name, offset, reason: 'snapshot record in a segment' });
        log.warning('journal record skipped: a snapshot record in a segment', { file: seg.name, offset });
        continue;
      }
      state.apply(record, bytes);
      report.records++;
    }
    noteSkipped(report, seg.name, decoded, log);
    files.set(seg.name, decoded.validBytes);
    for (const gap of decoded.gaps) {
      report.damage.push({ file: seg.name, ...gap });
      // Left in the file (new records go to a new segment): an operator may want to look,
      // and the next compaction leaves the segment behind.
      log.warning('journal segment is damaged in the middle; keeping every intact record before and after the damage', {
        file: join(dir, seg.name), offset: gap.offset, bytes_dropped: gap.bytesDropped, reason: gap.reason,
      });
    }
    if (decoded.damage) {
      const d = damageOf(seg.name, decoded, decoded.damage.reason);
      report.damage.push(d);
      log.warning('journal segment is damaged; keeping every record before the damage and dropping the rest', {
        file: join(dir, seg.name), offset: d.offset, bytes_dropped: d.bytesDropped, reason: d.reason,
      });
      await truncateAt(fs, join(dir, seg.name), decoded.validBytes, log);
    }
  }

  // Files older than a complete snapshot are covered by it: a compaction ended before it
  // removed them. A damaged snapshot removes nothing (an operator may want to look).
  if (base.snapshot && !base.snapshot.problem) {
    for (const f of [...listing.segments, ...listing.snapshots]) {
      if (f.seq >= base.seq || !(await removeFile(fs, dir, f.name, log, 'a file older than the snapshot'))) continue;
      report.removed.push(f.name);
      files.delete(f.name);
    }
  }

  report.expired = state.prune(now);
  const maxSeg = listing.segments.at(-1)?.seq ?? 0;
  const maxSnap = listing.snapshots.at(-1)?.seq ?? 1;
  return { state, report, nextSeq: Math.max(maxSeg + 1, maxSnap, 1), files };
}

/**
 * The newest complete snapshot. When the newest one is damaged, an older complete one
 * (or none at all, from segment 1) is used instead if every segment since it is still
 * there; otherwise the damaged one's complete records are the best there is.
 */
async function chooseSnapshot(
  listing: DirListing,
  read: (name: string) => Promise<Buffer>,
  log: Logger,
): Promise<{ snapshot: SnapshotCandidate | null; seq: number; damaged?: DamageReport }> {
  const snaps = [...listing.snapshots].reverse();
  const newest = snaps[0];
  if (!newest) return { snapshot: null, seq: 1 };
  const first = await candidate(newest.name, newest.seq, read);
  if (!first.problem) return { snapshot: first, seq: first.seq };
  const damaged = damageOf(first.name, first.decoded, first.problem);
  const segs = new Set(listing.segments.map((s) => s.seq));
  const unbroken = (from: number): boolean => {
    for (let s = from; s < first.seq; s++) if (!segs.has(s)) return false;
    return true;
  };
  for (const older of snaps.slice(1)) {
    if (!unbroken(older.seq)) continue;
    const c = await candidate(older.name, older.seq, read);
    if (c.problem) continue;
    log.warning('newest snapshot is damaged; recovering from an older snapshot and the segments after it', {
      damaged: newest.name, reason: first.problem, using: older.name,
    });
    return { snapshot: c, seq: c.seq, damaged };
  }
  if (unbroken(1)) {
    log.warning('newest snapshot is damaged; recovering from the segments alone', { damaged: newest.name, reason: first.problem });
    return { snapshot: null, seq: 1, damaged };
  }
  if (first.decoded.records.length === 0) {
    // Nothing in it to keep (an empty or foreign file under a snapshot's name): whatever
    // segments are left before it are all there is, and better than nothing.
    const missing: number[] = [];
    for (let s = 1; s < first.seq && missing.length < MAX_LISTED_MISSING; s++) if (!segs.has(s)) missing.push(s);
    log.warning('newest snapshot holds no record; recovering from the segments that are left, some of them missing', {
      damaged: newest.name, reason: first.problem, missing_segments: missing,
    });
    return { snapshot: null, seq: 1, damaged };
  }
  log.warning('newest snapshot is damaged and nothing older can replace it; keeping its complete records', {
    file: newest.name, reason: first.problem, records_kept: first.decoded.records.length,
  });
  return { snapshot: first, seq: first.seq, damaged };
}

async function candidate(name: string, seq: number, read: (name: string) => Promise<Buffer>): Promise<SnapshotCandidate> {
  const decoded = decodeRecords(await read(name));
  const recs = decoded.records;
  const head = recs[0]?.record;
  const foot = recs.at(-1)?.record;
  let problem: string | null = null;
  if (decoded.damage) problem = decoded.damage.reason;
  else if (decoded.gaps.length > 0) problem = `${decoded.gaps[0]!.reason} at offset ${decoded.gaps[0]!.offset}`;
  else if (head?.type !== 'snapshot' || head.base !== seq) problem = 'no snapshot header for this file';
  else if (head.format !== FORMAT_VERSION) problem = `snapshot format ${head.format} is not ${FORMAT_VERSION}`;
  else if (foot?.type !== 'snapshot_end') problem = 'incomplete (no end record)';
  else if (foot.records !== recs.length - 2) problem = `end record counts ${foot.records} records, found ${recs.length - 2}`;
  return { name, seq, decoded, problem };
}

function damageOf(file: string, decoded: DecodeResult, reason: string): DamageReport {
  return { file, offset: decoded.damage?.offset ?? decoded.validBytes, bytesDropped: decoded.damage?.bytesDropped ?? 0, reason };
}

function noteSkipped(report: RecoveryReport, file: string, decoded: DecodeResult, log: Logger): void {
  for (const s of decoded.skipped) {
    report.skipped.push({ file, offset: s.offset, reason: s.reason });
    log.warning('journal record skipped: intact but not a record this version knows', { file, offset: s.offset, reason: s.reason });
  }
}

async function truncateAt(fs: JournalFs, path: string, length: number, log: Logger): Promise<void> {
  try {
    const handle = await fs.open(path, 'r+');
    try {
      await handle.truncate(length);
      await handle.sync();
    } finally {
      await handle.close();
    }
  } catch (err) {
    // New records never go to an old segment, so the damaged tail harms nothing: it is
    // only reported again at the next start.
    log.warning('cannot truncate the damaged journal segment; it will be reported again at the next start', { file: path, error: err });
  }
}

async function removeFile(fs: JournalFs, dir: string, name: string, log: Logger, what: string): Promise<boolean> {
  try {
    await fs.unlink(join(dir, name));
    log.info(`removed ${what}`, { file: join(dir, name) });
    return true;
  } catch (err) {
    log.warning(`cannot remove ${what}; the next compaction tries again`, { file: join(dir, name), error: err });
    return false;
  }
}
