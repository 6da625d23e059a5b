/** The tailer's options, what it publishes, its counters and its events. */
import type { PayloadWriter } from '../src/client/index.js';
import type { Logger } from '../src/log/logger.js';
import type { QueueFs } from './queue-file.js';

/** Options of a {@link QueueTailer}. */
export interface QueueTailerOptions {
  /** The queue file (need not exist yet; its folder should). */
  file: string;
  /** Code page when the file has no BOM: any iconv-lite name (default `windows-1252`). */
  encoding?: string;
  /** Legacy topic name -> topic, applied before `prefix`. */
  topicMap?: Record<string, string>;
  /** Put in front of every topic after mapping (`legacy.`); a missing final `.` is added. */
  prefix?: string;
  /** Position state file (default `<file>.pos`). */
  positionFile?: string;
  /** Dead-letter file (default `<file>.dead`). */
  deadLetterFile?: string;
  /** A last line without newline is taken after this long without growth (default 2000 ms). */
  flushTimeoutMs?: number;
  /** Safety poll interval (default 1000 ms). */
  pollIntervalMs?: number;
  /** Look again this long after the last watcher event of a burst (default 20 ms). */
  trailingReadMs?: number;
  /** Most lines per publish batch (default 500). */
  batchLines?: number;
  /**
   * Most batches sent to the broker and not yet answered (default 2). More keeps both
   * sides busy on a backlog; after a rejected batch the lines sent behind it are sent
   * again (see the README), so this also bounds what a rejection can repeat.
   */
  maxBatchesInFlight?: number;
  /** A line longer than this many bytes is dead-lettered in pieces (default 1 MiB). */
  maxLineBytes?: number;
  /** Bytes read per open of the file (default 256 KiB); bounds memory on a backlog. */
  readChunkBytes?: number;
  /** Watch the folder with `fs.watch` (default true); false leaves the safety poll alone (tests, odd file systems). */
  watch?: boolean;
  /** Where the tailer logs (as component `queue`). */
  log: Logger;
  /** File system access, injectable for tests. */
  fs?: QueueFs;
}

/** One line to publish. */
export interface QueuePublish {
  topic: string;
  /**
   * Object payloads carry `queue_id` too (unless they had their own). Where `payloadJson`
   * is given, this is that text parsed on each read: a publisher sends the text.
   */
  payload: unknown;
  /**
   * The same payload as the JSON text the line had (with `queue_id` added the same way),
   * when the line's payload was JSON: what is sent, so the script's text is not
   * serialised again.
   */
  payloadJson?: string;
  /**
   * Writes that same JSON text from the line's bytes, when the line was read from them:
   * what is sent, so the line is never text at all (see line-scan.ts).
   */
  writePayload?(out: PayloadWriter): void;
  /** Stable id of the line: `<dev>-<ino>-<birthtime>.<generation>:<byte offset of the line start>`. */
  queueId: string;
}

/** An item the broker refused for good (a payload over its size limit, a topic it does not allow). */
export interface PublishRefusal {
  /** Index of the item in the batch. */
  index: number;
  /** The broker's reason, for the dead-letter file and the log. */
  reason: string;
}

/**
 * Resolves once the broker accepted every item, or accepted some and refused the others
 * for good: it resolves with those refusals, and their lines are dead-lettered instead of
 * retried (retrying could never succeed and would hold up every line behind them).
 * Rejecting makes the tailer retry the same lines (from the same offset, possibly with
 * more lines appended) later: do that for anything that may pass on another try (no
 * connection, a timeout, a broker that could not store the message).
 */
export type PublishBatch = (items: QueuePublish[]) => Promise<readonly PublishRefusal[] | void>;

/** Counters of a {@link QueueTailer}; lines are counted once the broker accepted them. */
export interface QueueTailerStats {
  /** Lines published to their own topic. */
  published: number;
  /** Lines that could not be published (dead-lettered and reported on `bridge.queue.invalid`), refused ones included. */
  invalid: number;
  /** Empty (or whitespace-only) lines skipped. */
  skippedEmpty: number;
  /** Bytes of the lines above (BOMs and line ends included). */
  bytesRead: number;
  /** Publish batches accepted. */
  batches: number;
  /** Publish batches rejected (each retried later). */
  publishFailures: number;
  /** Same file found truncated or rewritten: read again from 0. */
  truncations: number;
  /** Another file took the queue's name (replaced, re-created or rotated). */
  replacements: number;
  /** Rotated-away old files whose unread rest was read. */
  rotationsDrained: number;
  /** Dead-letter file writes that failed (the lines were still reported on the topic). */
  deadLetterErrors: number;
  /** Position saves that failed (retried on the next read). */
  positionSaveErrors: number;
  /** Reads that failed (retried on the next trigger). */
  readErrors: number;
}

/** A line that could not be published, and why. */
export interface InvalidLine {
  reason: string;
  line: string;
  queueId: string;
  offset: number;
}

/** Events: `batch`, `invalid`, `reset`, `rotated`, `idle` (see the README). */
export interface QueueTailerEvents {
  /**
   * A batch was accepted and the position advanced to `offset`. `readAsText`: its lines
   * that were decoded and parsed as text, not read from their bytes (see line-scan.ts).
   */
  batch: [info: { lines: number; published: number; invalid: number; readAsText: number; offset: number }];
  /**
   * A line could not be published. `deadLettered`: whether it was written to the
   * dead-letter file (when that write failed, the file's own problem was reported).
   */
  invalid: [info: InvalidLine & { deadLettered: boolean }];
  /** Reading restarts at byte 0 of a (new or rewritten) file. */
  reset: [info: { reason: string; identity: string; generation: number }];
  /** The unread rest of a rotated-away file was read from `path`. */
  rotated: [info: { path: string; identity: string }];
  /** A read loop ended with nothing more to read for now. */
  idle: [];
}
