/**
 * The journal's options, results and statistics (the types phase 2 programs against).
 */
import type { Logger } from '../../log/logger.js';
import type { Clock } from '../../protocol/clock.js';
import type { FsyncPolicy } from './commit-queue.js';
import type { RecoveredState } from './durable-state.js';
import type { PersistenceErrorCode } from './errors.js';
import type { JournalFs } from './journal-fs.js';
import type { Journal } from './journal.js';
import type { RecoveryReport } from './recovery.js';

/** When the journal compacts by itself: the files exceed both `minBytes` and `ratio` x the live state. */
export interface AutoCompactOptions {
  /** Default 8 MiB. */
  minBytes?: number;
  /** Default 2. */
  ratio?: number;
}

/** How to open a journal. */
export interface JournalOptions {
  /** The persistence directory; created when missing. */
  dir: string;
  /** When an append counts as durable (default `batch`); see commit-queue.ts. */
  fsync?: FsyncPolicy;
  /** Group-commit window for `batch`, in ms (default 2). */
  batchWindowMs?: number;
  log: Logger;
  /** The file system (tests inject failures through it). */
  fs?: JournalFs;
  /** Time for TTLs, session expiry and the batch timer (tests pass a manual clock). */
  clock?: Clock;
  /** Segment size at which a new segment starts (default 16 MiB). */
  segmentBytes?: number;
  /** Compact automatically (the default) or only when {@link Journal.compact} is called (`false`). */
  autoCompact?: AutoCompactOptions | false;
}

/** What {@link Journal.open} returns. */
export interface OpenedJournal {
  journal: Journal;
  /** The recovered state, for the broker to rebuild its stores from (its own copy). */
  state: RecoveredState;
  recovery: RecoveryReport;
}

/** What a finished compaction did. */
export interface CompactionResult {
  snapshot: string;
  /** Records in the snapshot. */
  records: number;
  /** Journal files removed. */
  removed: string[];
  diskBytesBefore: number;
  diskBytesAfter: number;
  durationMs: number;
}

/** For `status`: what is stored and how the journal is doing. */
export interface JournalStats {
  dir: string;
  fsync: FsyncPolicy;
  retained: number;
  sessions: number;
  /** Distinct QoS 1 messages pending for at least one session. */
  messages: number;
  /** (session, message) pairs pending. */
  pendingDeliveries: number;
  /** About what a snapshot of the live state takes. */
  liveBytes: number;
  /** Journal files on disk (segments and snapshots). */
  diskBytes: number;
  files: number;
  appends: number;
  failedAppends: number;
  writes: number;
  fsyncs: number;
  compacting: boolean;
  lastCompaction: { at: string; durationMs: number; diskBytesBefore: number; diskBytesAfter: number } | null;
  /** The latest failure (append or compaction); stays after writes succeed again, with its time. */
  lastError: { code: PersistenceErrorCode; reason: string; at: string } | null;
}
