/**
 * Persistence (issue 11): retained messages, unacked QoS 1 messages per session and
 * sessions' subscriptions survive a restart, SIGKILL and a crash mid-write included.
 *
 * **Why a journal and not SQLite.** An append-only journal with compaction needs nothing
 * but `node:fs` and `node:zlib`. better-sqlite3 is a native addon: it would stop us from
 * shipping the single-file `bridge.exe`, and it brings a build toolchain to every install.
 *
 * **Layout** (one directory, locked by `journal.lock` holding the owner's pid):
 * segments `journal-NNNNNNNNNN.log` hold records in append order; a snapshot
 * `snapshot-NNNNNNNNNN.snap` holds the whole state as of the start of segment N. Every
 * record is framed as length + CRC-32 + JSON (record-codec.ts). Recovery reads the newest
 * complete snapshot and the segments from N on; a torn or corrupt tail is cut off at the
 * first bad record with a WARNING, and every complete record before it is kept.
 *
 * **Durability.** `append` resolves once the record is on disk under the fsync policy:
 * `always` (a write and an fsync per append), `batch` (appends within a few ms share one
 * write and one fsync; the default) or `never` (written, not fsynced: survives a killed
 * broker, not a power loss). Node's fsync is FlushFileBuffers on Windows. A failed write
 * rejects with a {@link PersistenceError} whose `code` says why (`ENOSPC`, `EACCES`...),
 * and the next append tries afresh.
 *
 * **Compaction** rotates to a new segment, writes the live state as a snapshot in the
 * background (temp file, fsync, rename, directory fsync) and then removes the older
 * files, so disk use follows what is live. Appends continue throughout.
 *
 * Use from the broker (phase 2):
 * ```ts
 * const { journal, state, recovery } = await Journal.open({ dir, fsync: 'batch', log: log.child('persistence') });
 * // rebuild RetainedStore from state.retained, sessions from state.sessions
 * await journal.append({ type: 'enqueue', message: msg, clientIds });   // before answering a QoS 1 publish
 * journal.stats();                                                      // for `status`
 * await journal.close();                                                // on stop; releases the lock
 * ```
 * @module
 */
export { Journal } from './journal.js';
export type { AutoCompactOptions, CompactionResult, JournalOptions, JournalStats, OpenedJournal } from './journal.js';
export type { FsyncPolicy } from './commit-queue.js';
export { PersistenceError, type PersistenceErrorCode } from './errors.js';
export type { RecoveredSession, RecoveredState } from './durable-state.js';
export type { DamageReport, RecoveryReport } from './recovery.js';
export type {
  AckRecord,
  DropRecord,
  EnqueueRecord,
  JournalRecord,
  RetainRecord,
  SessionEndRecord,
  SessionRecord,
  UnretainRecord,
} from './records.js';
export { nodeJournalFs, type JournalFileHandle, type JournalFs } from './journal-fs.js';
export { LOCK_FILE } from './file-names.js';
