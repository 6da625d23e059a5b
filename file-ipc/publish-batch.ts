/**
 * From decoded lines to accepted publishes, and the saved position that acknowledges them.
 * Lines are parsed and grouped into batches of at most `batchLines` publishes, and up to
 * `maxInFlight` batches are out at the broker at once: while the broker works on one, the
 * next is parsed and sent, so neither side waits for the other on a backlog (with one
 * batch at a time, each side idled while the other worked). Answers are taken in send
 * order, and only once the broker accepted a batch is its progress acknowledged: its
 * unpublishable lines go to the dead-letter file, the counters move and the track's
 * confirmed offset moves past it. The position is saved once {@link SAVE_EVERY_BATCHES}
 * full batches' worth of lines are accepted and whenever a read's batches are all
 * answered (a save, a file write and a rename, costs the CPU of publishing some 50 lines).
 *
 * A rejected batch leaves the track where it was; the batches sent after it are not
 * acknowledged either, even if the broker took them, so the same lines are read and
 * published again after a backoff, from the first one not confirmed: nothing is lost,
 * and what repeats carries the same queue_id. Until the broker accepts a batch again,
 * one batch at a time is sent. A line the broker refuses for good (a payload over its
 * size limit, a topic it does not allow) is dead-lettered like an unparsable one rather
 * than retried forever with every later line stuck behind it.
 */
import type { EventEmitter } from 'node:events';
import { advanceTrack, positionOf, type Track } from './continuity.js';
import type { DeadLetterFile } from './dead-letter.js';
import type { DecodedLine } from './decoder.js';
import type { BacklogProgress } from './backlog-progress.js';
import type { LineParser } from './line-parser.js';
import { LineIds, linePublish, objectLinePublish } from './line-publish.js';
import type { PositionStore } from './position-store.js';
import type { InvalidLine, PublishBatch, PublishRefusal, QueuePublish, QueueTailerEvents, QueueTailerStats } from './tailer-types.js';

/** Topic on which lines that cannot be published are reported. */
export const INVALID_LINE_TOPIC = 'bridge.queue.invalid';

/**
 * Characters of a line put in its `bridge.queue.invalid` report; the dead-letter file has
 * all of it. A longer report could itself be over the broker's message size (a cut piece
 * of an overlong line is 1 MiB) and be refused in turn.
 */
export const REPORT_LINE_CHARS = 1000;

/**
 * Full batches' worth of accepted lines between two position saves during a long read
 * (or {@link SAVE_EVERY_BYTES}, whichever comes first); a read that ends saves at once.
 * Together with `maxInFlight` this bounds what a crash can repeat. Counted in lines, not
 * batches: lines are handed over a decoded piece at a time, and each piece's last lines
 * make a short batch, which on a backlog of short lines was every other batch (a save
 * costs the tail some 250 µs of CPU).
 */
export const SAVE_EVERY_BATCHES = 4;

/**
 * Accepted bytes after which the position is saved during a long read, however few lines
 * they are: a batch ends with its decoded piece of 32 KiB, so four batches of long lines
 * were about this much, and a crash repeats no more than that.
 */
export const SAVE_EVERY_BYTES = 128 * 1024;

const PUBLISH_RETRY_MIN_MS = 100;
const PUBLISH_RETRY_MAX_MS = 5000;


/** One batch built from consecutive lines. */
interface Batch {
  items: QueuePublish[];
  /** Per item: the line it publishes (or reports). */
  lines: DecodedLine[];
  /** Indexes of the items that are reports of unpublishable lines. */
  reports: number[];
  /** Unpublishable lines (dead-lettered once the batch is accepted). */
  invalid: InvalidLine[];
  published: number;
  empty: number;
  /** Lines published or reported that were decoded and parsed as text. */
  readAsText: number;
  /** The last line taken (published, invalid or empty). */
  last: DecodedLine;
  /** Index of the first line after the batch. */
  end: number;
}

/** What the broker made of a batch: its refusals for good, or the error that rejected it. */
type Answer = { ok: true; refused: readonly PublishRefusal[] } | { ok: false; error: unknown };

/** A batch sent (or, when it has nothing to publish, only built), waiting to be acknowledged. */
interface Sent {
  batch: Batch;
  track: Track;
  head: Buffer;
  progress: BacklogProgress | null;
  answer: Promise<Answer>;
}

const NOTHING_TO_SEND: Promise<Answer> = Promise.resolve({ ok: true, refused: [] });

/** What a {@link BatchPublisher} works with; the tailer owns all of it. */
export interface BatchPublisherOptions {
  /** The queue file (reported with invalid lines). */
  file: string;
  batchLines: number;
  /** Most batches sent and not yet answered. */
  maxInFlight: number;
  maxLineBytes: number;
  parser: LineParser;
  publish: PublishBatch;
  deadLetters: DeadLetterFile;
  positions: PositionStore;
  stats: QueueTailerStats;
  /** Where `batch` and `invalid` are emitted. */
  events: Pick<EventEmitter<QueueTailerEvents>, 'emit'>;
  /** Ask for a read in `ms` (when a backoff ends). */
  wakeIn(ms: number): void;
  /** Log a warning, rate-limited per `key`. */
  problem(key: string, msg: string, fields: Record<string, unknown>): void;
  /** The tailer is stopping: publish nothing more. */
  isStopped(): boolean;
}

/** Publishes decoded lines batch by batch and acknowledges each accepted batch, in order. */
export class BatchPublisher {
  private retryAt = 0;
  private retryDelay = PUBLISH_RETRY_MIN_MS;
  /** The last save failed: retried on the next read (and on stop). */
  private positionDirty = false;
  /** Batches out at the broker, oldest first. */
  private readonly sent: Sent[] = [];
  /** A batch was rejected: nothing more is sent or acknowledged until {@link settle}. */
  private broken = false;
  /**
   * After a rejection, one batch at a time until the broker accepts one again: a broker
   * that is down gets one batch per retry, not a pipeline full of them, and a rejection
   * is not followed by later lines that the broker might take first.
   */
  private probing = false;
  /** The ids of the file generation read last: a backlog's pieces share them. */
  private ids: LineIds | null = null;
  /** The track of the last accepted batch, when its position is not saved yet. */
  private unsavedTrack: Track | null = null;
  /** Lines and bytes accepted since the last save. */
  private unsavedLines = 0;
  private unsavedBytes = 0;

  constructor(private readonly opts: BatchPublisherOptions) {}

  /** Milliseconds until a rejected batch may be tried again; 0 or less when it may now. */
  backoffLeft(): number {
    return this.retryAt - Date.now();
  }

  /**
   * Publish `lines` (decoded from `track`'s file at its offset) in batches, advancing
   * `track` as batches are accepted, in order. Returns once every batch is sent, with up
   * to `maxInFlight` of them still unanswered: {@link settle} waits for those. Resolves
   * false when a batch was rejected or the tailer is stopping: the rest is not sent, and
   * is read again later from the confirmed offset.
   * @param head the file's first bytes, read with the lines
   */
  async deliver(lines: DecodedLine[], track: Track, head: Buffer, progress: BacklogProgress | null): Promise<boolean> {
    const ids = this.idsOf(track);
    for (let i = 0; i < lines.length; ) {
      if (this.broken || this.opts.isStopped()) return false;
      const batch = this.build(lines, i, ids);
      if (!batch) break;
      i = batch.end;
      this.sent.push({ batch, track, head, progress, answer: batch.items.length > 0 ? this.send(batch.items) : NOTHING_TO_SEND });
      const depth = this.probing ? 1 : this.opts.maxInFlight;
      while (this.sent.length >= depth) {
        if (!(await this.acknowledgeOldest())) return false;
      }
    }
    return !this.broken;
  }

  /**
   * Wait for the answers to every batch sent and acknowledge them in order. Resolves true
   * when all were accepted; false when one was rejected (the track stays at the first
   * line not accepted; the lines from there are read and sent again after the backoff).
   */
  async settle(): Promise<boolean> {
    while (this.sent.length > 0) await this.acknowledgeOldest();
    if (this.unsavedTrack) await this.savePosition(this.unsavedTrack);
    const ok = !this.broken;
    this.broken = false;
    return ok;
  }

  /** Wait for the oldest batch's answer and acknowledge it; false once a batch was rejected. */
  private async acknowledgeOldest(): Promise<boolean> {
    const { stats, events } = this.opts;
    const { batch, track, head, progress, answer } = this.sent[0]!;
    const a = await answer;
    this.sent.shift();
    if (!a.ok) {
      stats.publishFailures++;
      if (!this.broken) this.backOff(a.error, batch.items.length);
      this.broken = true;
      return false;
    }
    // Accepted, but after a rejected batch: not confirmed, its lines are sent again.
    if (this.broken) return false;
    this.probing = false;
    this.retryDelay = PUBLISH_RETRY_MIN_MS;
    if (a.refused.length > 0) await this.takeRefused(batch, a.refused);
    const deadLettered = batch.invalid.length > 0 && (await this.writeDead(batch.invalid));
    const { published, empty, last } = batch;
    const invalid = batch.invalid.length;
    stats.published += published;
    stats.invalid += invalid;
    stats.skippedEmpty += empty;
    const bytes = last.end - track.offset;
    stats.bytesRead += bytes;
    if (batch.items.length > 0) stats.batches++;
    advanceTrack(track, last, head);
    this.unsavedTrack = track;
    this.unsavedLines += published + invalid + empty;
    this.unsavedBytes += bytes;
    if (this.unsavedLines >= SAVE_EVERY_BATCHES * this.opts.batchLines || this.unsavedBytes >= SAVE_EVERY_BYTES) await this.savePosition(track);
    for (const info of batch.invalid) events.emit('invalid', { ...info, deadLettered });
    events.emit('batch', { lines: published + invalid + empty, published, invalid, readAsText: batch.readAsText, offset: track.offset });
    progress?.report(published + invalid + empty, track.offset);
    return true;
  }

  /**
   * Save `track` as the confirmed position (also after a reset to a new file or
   * generation). Never rejects: a failed save is counted, logged and retried by
   * {@link savePositionIfFailed}.
   */
  async savePosition(track: Track | null): Promise<void> {
    if (!track) return;
    this.unsavedTrack = null;
    this.unsavedLines = 0;
    this.unsavedBytes = 0;
    try {
      await this.opts.positions.save(positionOf(track));
      this.positionDirty = false;
    } catch (err) {
      // The lines are delivered; a lost save only means they may repeat after a crash.
      this.positionDirty = true;
      this.opts.stats.positionSaveErrors++;
      this.opts.problem('position', 'cannot save the queue position; will retry', { file: this.opts.positions.path, error: err });
    }
  }

  /** Save `track` again when the last save failed. */
  async savePositionIfFailed(track: Track | null): Promise<void> {
    if (this.positionDirty) await this.savePosition(track);
  }

  /** The ids of `track`'s file generation (each makes its id texts and bytes once). */
  private idsOf(track: Track): LineIds {
    const fileId = `${track.identity}.${track.generation}`;
    if (this.ids?.fileId !== fileId) this.ids = new LineIds(fileId);
    return this.ids;
  }

  /** The batch starting at `lines[from]`, or null when there is no line left. */
  private build(lines: DecodedLine[], from: number, ids: LineIds): Batch | null {
    const { batchLines, maxLineBytes, parser } = this.opts;
    const batch: Omit<Batch, 'last' | 'end'> = { items: [], lines: [], reports: [], invalid: [], published: 0, empty: 0, readAsText: 0 };
    let last: DecodedLine | undefined;
    let i = from;
    for (; i < lines.length && batch.items.length < batchLines; i++) {
      const line = lines[i]!;
      last = line;
      const pieceOfLong = line.cut === 'overflow' || line.cut === 'continuation';
      // The common line, read from its bytes: decoding it into text, cutting and parsing
      // that and writing it back out as bytes was most of the tail's CPU per line.
      const read = pieceOfLong ? null : objectLinePublish(line, parser, ids);
      if (read !== null) {
        batch.items.push(read);
        batch.lines.push(line);
        batch.published++;
        continue;
      }
      const parsed = pieceOfLong
        ? { kind: 'invalid' as const, reason: `line longer than ${maxLineBytes} bytes (this is one piece of it)` }
        : parser.parse(line.text);
      if (parsed.kind === 'empty') {
        batch.empty++;
        continue;
      }
      batch.readAsText++;
      if (parsed.kind === 'publish') {
        batch.items.push(linePublish(parsed, ids, line.start));
        batch.lines.push(line);
        batch.published++;
      } else {
        const queueId = ids.of(line.start);
        batch.reports.push(batch.items.length);
        batch.items.push(this.report(line, parsed.reason, queueId));
        batch.lines.push(line);
        batch.invalid.push({ reason: parsed.reason, line: line.text, queueId, offset: line.start });
      }
    }
    return last ? { ...batch, last, end: i } : null;
  }

  /** The `bridge.queue.invalid` report of an unpublishable line (its text shortened, see {@link REPORT_LINE_CHARS}). */
  private report(line: DecodedLine, reason: string, queueId: string): QueuePublish {
    const text = line.text;
    const cut = text.length > REPORT_LINE_CHARS;
    const payload = {
      file: this.opts.file,
      line: cut ? text.slice(0, REPORT_LINE_CHARS) : text,
      reason,
      offset: line.start,
      queue_id: queueId,
      ...(cut ? { line_truncated: true, line_chars: text.length } : {}),
    };
    return { topic: INVALID_LINE_TOPIC, payload, queueId };
  }

  /**
   * Turn the lines the broker refused for good into invalid lines: dead-lettered with the
   * broker's reason (with the rest of the batch), and reported on `bridge.queue.invalid`
   * once, without retry: the dead-letter file is their record.
   */
  private async takeRefused(batch: Omit<Batch, 'last' | 'end'>, refusals: readonly PublishRefusal[]): Promise<void> {
    const reports: QueuePublish[] = [];
    for (const { index, reason } of refusals) {
      const item = batch.items[index];
      const line = batch.lines[index];
      if (!item || !line) continue; // not an item of this batch: nothing to take back
      if (batch.reports.includes(index)) {
        // The line is already being dead-lettered for its own reason.
        this.opts.problem('report-refused', 'broker refused the report of an unpublishable queue line; the line is in the dead-letter file', {
          file: this.opts.file, offset: line.start, reason,
        });
        continue;
      }
      const why = `the broker refused it: ${reason}`;
      batch.published--;
      const queueId = item.queueId;
      batch.invalid.push({ reason: why, line: line.text, queueId, offset: line.start });
      reports.push(this.report(line, why, queueId));
    }
    // Dead letters in file order, the refused ones among the others.
    batch.invalid.sort((a, b) => a.offset - b.offset);
    if (reports.length === 0) return;
    let failure: unknown = null;
    try {
      const refused = await this.opts.publish(reports);
      if (refused && refused.length > 0) failure = refused[0]!.reason;
    } catch (err) {
      failure = err;
    }
    if (failure !== null) {
      this.opts.problem('report', 'could not report refused queue lines on bridge.queue.invalid; they are in the dead-letter file', {
        file: this.opts.file, lines: reports.length, error: failure,
      });
    }
  }

  /** Hand `items` to the broker; the answer never rejects. */
  private send(items: QueuePublish[]): Promise<Answer> {
    let p: Promise<readonly PublishRefusal[] | void>;
    try {
      p = this.opts.publish(items);
    } catch (error) {
      p = Promise.reject(error as Error);
    }
    return p.then(
      (refused) => ({ ok: true, refused: refused ?? [] }),
      (error: unknown) => ({ ok: false, error }),
    );
  }

  /** The first rejected batch of a run: wait before the same lines are tried again. */
  private backOff(error: unknown, lines: number): void {
    this.probing = true;
    this.retryAt = Date.now() + this.retryDelay;
    this.opts.wakeIn(this.retryDelay);
    this.opts.problem('publish', 'broker did not accept queue lines; retrying the same lines', {
      file: this.opts.file, lines, retry_ms: this.retryDelay, error,
    });
    this.retryDelay = Math.min(this.retryDelay * 2, PUBLISH_RETRY_MAX_MS);
  }

  /** Append the lines to the dead-letter file: false when that failed (counted and reported here). */
  private async writeDead(invalid: readonly InvalidLine[]): Promise<boolean> {
    const dead = invalid.map((i) => ({ raw: i.line, reason: i.reason, queueId: i.queueId }));
    try {
      await this.opts.deadLetters.write(dead);
      return true;
    } catch (err) {
      // Already reported on the topic; a dead-letter file we cannot write must not stop the queue.
      this.opts.stats.deadLetterErrors++;
      this.opts.problem('dead', 'cannot write the dead-letter file', { file: this.opts.deadLetters.path, lines: dead.length, error: err });
      return false;
    }
  }
}
