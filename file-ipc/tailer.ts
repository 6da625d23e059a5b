/**
 * QueueTailer: follows one legacy FileAppend queue file and publishes every line, at least
 * once and in file order, across crashes, truncation, replacement and rotation.
 *
 * When to read is read-triggers.ts's job (watcher events, a trailing re-read, a safety
 * poll, timed wakes); every trigger only marks the tailer dirty, and one serialised loop
 * here does the reading, so two reads never overlap. A read asked for by a watcher event
 * or the poll first stats the file and opens it only when it changed since it was last
 * read to its end: every open is a moment in which AutoHotkey's exclusive FileAppend
 * would fail. The options, counters and events are in tailer-types.ts.
 *
 * Each read starts at the confirmed offset (everything before it was accepted by the
 * broker), opens the file, reads, closes at once, and first decides whether the file is
 * still the one the offset belongs to (continuity.ts). A file rotated away has its unread
 * rest read (rotation.ts) before the new one. Complete lines are decoded and handed to
 * publish-batch.ts, which publishes them in batches of at most `batchLines`, several in
 * flight, and saves the position as batches are accepted; every read waits for all its
 * batches' answers before it ends. A rejected batch is retried later from the confirmed
 * offset, so nothing is lost or reordered.
 */
import { EventEmitter } from 'node:events';
import { resolve } from 'node:path';
import type { Logger } from '../src/log/logger.js';
import { BacklogProgress } from './backlog-progress.js';
import { freshTrack, judge, sliceRequest, trackFromPosition, type Track } from './continuity.js';
import { DeadLetterFile } from './dead-letter.js';
import { DEFAULT_MAX_LINE_BYTES, DEFAULT_QUEUE_ENCODING, QueueDecoder, assertQueueEncoding } from './decoder.js';
import { LineParser } from './line-parser.js';
import { PositionStore } from './position-store.js';
import { BatchPublisher } from './publish-batch.js';
import { isDirectoryError, readSlice, statQueue, type QueueFs, type Slice, nodeQueueFs } from './queue-file.js';
import { ReadTriggers, type ReadReason } from './read-triggers.js';
import { RotationDrain, type ConsumeResult } from './rotation.js';
import type { PublishBatch, QueueTailerEvents, QueueTailerOptions, QueueTailerStats } from './tailer-types.js';
import { isBusyError } from './retry.js';

export type { PublishBatch, PublishRefusal, QueuePublish, QueueTailerEvents, QueueTailerOptions, QueueTailerStats } from './tailer-types.js';
export { INVALID_LINE_TOPIC } from './publish-batch.js';

type StepResult = 'done' | 'again';

/** Most reads in one loop pass before yielding to the event loop (a file that keeps changing). */
const MAX_STEPS_PER_CYCLE = 16;
/** The longest encoded newline (UTF-32). */
const MAX_NEWLINE_BYTES = 4;
/** Bytes of a chunk decoded at a time (see `consumeFrom`). */
const DECODE_PIECE_BYTES = 32 * 1024;
/** Default `trailingReadMs`. */
const DEFAULT_TRAILING_READ_MS = 20;
/** Default `batchLines`. */
const DEFAULT_BATCH_LINES = 500;
/** Default `maxBatchesInFlight`. */
const DEFAULT_BATCHES_IN_FLIGHT = 2;

/** Publishes the lines of one AutoHotkey FileAppend queue file. */
export class QueueTailer extends EventEmitter<QueueTailerEvents> {
  /** Counters; see {@link QueueTailerStats}. */
  readonly stats: QueueTailerStats = {
    published: 0, invalid: 0, skippedEmpty: 0, bytesRead: 0, batches: 0, publishFailures: 0, truncations: 0,
    replacements: 0, rotationsDrained: 0, deadLetterErrors: 0, positionSaveErrors: 0, readErrors: 0,
  };

  /** The queue file, absolute. */
  readonly file: string;
  private readonly log: Logger;
  private readonly encoding: string;
  private readonly positions: PositionStore;
  private readonly deadLetters: DeadLetterFile;
  private readonly flushTimeoutMs: number;
  private readonly maxLineBytes: number;
  private readonly chunkBytes: number;
  private readonly fs: QueueFs;
  private readonly publisher: BatchPublisher;
  private readonly rotation: RotationDrain;

  private cur: Track | null = null;
  /** The queue path was found missing and the old file was dealt with. */
  private gone = false;
  private lastSize = -1;
  private lastIdentity = '';
  private lastMtimeNs = -1n;
  private lastGrowthAt = 0;
  /**
   * The last read went to the end of the file at the queue path without a problem: until
   * the file's identity, size or modification time change, an event needs no read.
   */
  private upToDate = false;

  private started = false;
  private stopped = false;
  private dirty = false;
  /** A read was asked for that must open the file even if a stat says it is unchanged. */
  private mustRead = false;
  private loop: Promise<void> | null = null;
  private readonly triggers: ReadTriggers;
  private buffer: Buffer | null = null;
  private lastProblem = '';
  private lastProblemAt = 0;

  /**
   * @param opts see {@link QueueTailerOptions}
   * @param publish delivers a batch to the broker (see {@link PublishBatch})
   * @throws RangeError for an unknown encoding, an invalid prefix or topic map target
   */
  constructor(opts: QueueTailerOptions, publish: PublishBatch) {
    super();
    this.file = resolve(opts.file);
    this.log = opts.log.child('queue');
    this.encoding = opts.encoding ?? DEFAULT_QUEUE_ENCODING;
    assertQueueEncoding(this.encoding);
    const parser = new LineParser({ topicMap: opts.topicMap, prefix: opts.prefix });
    const positionFile = resolve(opts.positionFile ?? `${this.file}.pos`);
    const deadFile = resolve(opts.deadLetterFile ?? `${this.file}.dead`);
    this.positions = new PositionStore(positionFile, this.file, this.log);
    this.deadLetters = new DeadLetterFile(deadFile);
    this.flushTimeoutMs = Math.max(0, opts.flushTimeoutMs ?? 2000);
    const pollIntervalMs = Math.max(10, opts.pollIntervalMs ?? 1000);
    this.maxLineBytes = Math.max(16, opts.maxLineBytes ?? DEFAULT_MAX_LINE_BYTES);
    this.chunkBytes = Math.max(4096, opts.readChunkBytes ?? 256 * 1024);
    this.fs = opts.fs ?? nodeQueueFs;
    this.triggers = new ReadTriggers({
      file: this.file,
      useWatcher: opts.watch ?? true,
      pollIntervalMs,
      trailingReadMs: Math.max(0, opts.trailingReadMs ?? DEFAULT_TRAILING_READ_MS),
      kick: (reason) => this.request(reason),
      onNoFolder: (folder) =>
        this.log.warning('queue folder does not exist; until it does, only the safety poll notices the queue file', { folder, poll_ms: pollIntervalMs }),
      onWatchError: (err) => this.problem('watch', 'file watcher error; the safety poll continues', { error: err }),
    });
    this.publisher = new BatchPublisher({
      file: this.file,
      batchLines: Math.max(1, Math.floor(opts.batchLines ?? DEFAULT_BATCH_LINES)),
      maxInFlight: Math.max(1, Math.floor(opts.maxBatchesInFlight ?? DEFAULT_BATCHES_IN_FLIGHT)),
      maxLineBytes: this.maxLineBytes, parser, publish,
      deadLetters: this.deadLetters, positions: this.positions, stats: this.stats, events: this,
      wakeIn: (ms) => this.triggers.wakeIn(ms),
      problem: (key, msg, fields) => this.problem(key, msg, fields),
      isStopped: () => this.stopped,
    });
    this.rotation = new RotationDrain({
      file: this.file, exclude: [positionFile, `${positionFile}.tmp`, deadFile], fs: this.fs, log: this.log,
      encoding: this.encoding, chunkBytes: this.chunkBytes, maxReads: MAX_STEPS_PER_CYCLE, stats: this.stats, events: this,
      consume: (path, track, first) => this.consume(path, track, first, true),
      isStopped: () => this.stopped,
    });
  }

  /** The position file in use. */
  get positionFile(): string {
    return this.positions.path;
  }

  /** The dead-letter file in use. */
  get deadLetterFile(): string {
    return this.deadLetters.path;
  }

  /** Confirmed byte offset in the current file (everything before it was accepted). */
  get offset(): number {
    return this.cur?.offset ?? 0;
  }

  /**
   * Load the saved position, start watching, and begin reading (a backlog is read in the
   * background; `start` does not wait for it). Resolves once the watcher is ready.
   */
  async start(): Promise<void> {
    if (this.started) throw new Error('QueueTailer already started');
    this.started = true;
    const saved = await this.positions.load();
    if (saved) this.cur = trackFromPosition(saved);
    await this.triggers.start();
    if (this.stopped) return;
    this.kick();
    this.log.info('tailing queue file', {
      file: this.file, offset: this.cur?.offset ?? 0, encoding: this.encoding, position_file: this.positions.path,
    });
  }

  /**
   * Stop watching and wait for a read or publish in progress to end. Unconfirmed lines
   * (a partial last line, a batch not yet accepted) are read again by the next start.
   */
  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    await this.triggers.stop();
    await this.loop;
    await this.publisher.savePositionIfFailed(this.cur);
  }

  /** Resolves when the read loop has nothing left to do for now. */
  async settled(): Promise<void> {
    while (this.loop) await this.loop;
  }

  /** Ask for a read now, whether or not the file looks changed. */
  kick(): void {
    this.request('wake');
  }

  private request(reason: ReadReason): void {
    if (this.stopped || !this.started) return;
    this.dirty = true;
    if (reason === 'wake') this.mustRead = true;
    if (this.loop) return;
    this.loop = this.runLoop().finally(() => {
      this.loop = null;
      // A request that arrived while the loop was finishing its last await.
      if (this.dirty && !this.stopped) this.request(this.mustRead ? 'wake' : 'poll');
    });
  }

  private async runLoop(): Promise<void> {
    while (this.dirty && !this.stopped) {
      this.dirty = false;
      const mustRead = this.mustRead;
      this.mustRead = false;
      try {
        await this.cycle(mustRead);
      } catch (err) {
        this.upToDate = false;
        this.stats.readErrors++;
        if (isDirectoryError(err)) {
          // Not a file to read: the safety poll looks again, nothing sooner.
          this.problem('read:EISDIR', 'the queue path is a directory, not a file; waiting for a file there (checked every poll)', { file: this.file });
          continue;
        }
        // AutoHotkey held the file longer than the retries waited: try again soon.
        if (isBusyError(err)) this.triggers.wakeIn(50);
        this.problem(`read:${(err as NodeJS.ErrnoException).code ?? String(err)}`, 'cannot read queue file; will retry', { file: this.file, error: err });
      }
    }
    if (!this.stopped) this.emit('idle');
  }

  private async cycle(mustRead: boolean): Promise<void> {
    const backoff = this.publisher.backoffLeft();
    if (backoff > 0) {
      // Publish backoff: come back when it ends (an earlier wake-up may have used the timer).
      this.triggers.wakeIn(backoff);
      return;
    }
    if (!mustRead && this.upToDate && (await this.unchanged())) return;
    this.upToDate = false;
    await this.publisher.savePositionIfFailed(this.cur);
    for (let i = 0; i < MAX_STEPS_PER_CYCLE && !this.stopped; i++) {
      if ((await this.step()) === 'done') return;
    }
    // Kept changing under us: yield to the event loop, then go on.
    this.dirty = true;
    this.mustRead = true;
  }

  /**
   * True when the queue file is, by a stat (which opens no handle that could clash with
   * an exclusive FileAppend), still what the last read saw to its end. A second event
   * for the same append, the trailing look after a burst and a poll of a quiet file then
   * cost no open. A rewrite to the same size within the same mtime tick is left to the
   * poll's periodic full read.
   */
  private async unchanged(): Promise<boolean> {
    let st: Awaited<ReturnType<typeof statQueue>>;
    try {
      st = await statQueue(this.file, this.fs, { retries: 0 });
    } catch {
      return false; // the read says what is wrong
    }
    return st !== null && st.identity === this.lastIdentity && st.size === this.lastSize && st.mtimeNs === this.lastMtimeNs;
  }

  // ---- reading --------------------------------------------------------------------------

  private noteSize(slice: Slice): void {
    this.lastMtimeNs = slice.mtimeNs;
    if (slice.identity !== this.lastIdentity || slice.size !== this.lastSize) {
      this.lastIdentity = slice.identity;
      this.lastSize = slice.size;
      this.lastGrowthAt = Date.now();
    }
  }

  /** One decision on the queue path: read, or handle a missing / replaced / rewritten file. */
  private async step(): Promise<StepResult> {
    const track = this.cur;
    const slice = await readSlice(this.file, { ...sliceRequest(track, track?.offset ?? 0, this.chunkBytes, this.encoding), into: this.readBuffer() }, this.fs);
    // The size seen by the previous read of this same file: tells how much a truncation lost.
    const prevSize = slice && slice.identity === this.lastIdentity ? this.lastSize : -1;
    if (slice) this.noteSize(slice);
    const v = judge(track, slice, this.encoding);
    switch (v.kind) {
      case 'missing':
        if (track && !this.gone) {
          if (!(await this.rotation.drain(track, 'the queue file disappeared'))) return 'done';
          this.gone = true;
        }
        return 'done';
      case 'first':
        this.cur = freshTrack(v.slice.identity, 0, this.encoding);
        return this.readOn(this.cur, v.slice);
      case 'replaced':
        // Another file has the name now. Finish the old one first, wherever it went.
        if (!this.gone && !(await this.rotation.drain(v.track, 'another file took the queue name'))) return 'done';
        this.stats.replacements++;
        await this.resetTo(freshTrack(v.slice.identity, 0, this.encoding), 'a new file has the queue name', 'info');
        return 'again';
      case 'rewritten':
        this.gone = false;
        this.stats.truncations++;
        if (prevSize > v.track.offset) {
          this.log.warning('queue file was rewritten before all of it was delivered; those bytes are gone', { file: this.file, unread_bytes: prevSize - v.track.offset });
        }
        await this.resetTo(freshTrack(v.track.identity, v.track.generation + 1, this.encoding), v.reason, 'warning');
        return 'again';
      case 'same':
        this.gone = false;
        return this.readOn(v.track, v.slice);
    }
  }

  /**
   * The one buffer reads of the queue go into (allocated on first use). Reads never
   * overlap, and a read's bytes are decoded before the next read.
   */
  private readBuffer(): Buffer {
    // Room for a chunk and the newline probed just before it (see readSlice).
    this.buffer ??= Buffer.allocUnsafe(this.chunkBytes + MAX_NEWLINE_BYTES);
    return this.buffer;
  }

  private async readOn(track: Track, slice: Slice): Promise<StepResult> {
    const r = await this.consume(this.file, track, slice, false);
    if (r === 'eof') this.upToDate = true;
    return r === 'changed' ? 'again' : 'done';
  }

  private async resetTo(track: Track, reason: string, level: 'info' | 'warning'): Promise<void> {
    this.cur = track;
    this.gone = false;
    this.log[level]('queue file starts over; reading it from the beginning', { file: this.file, reason, identity: track.identity, generation: track.generation });
    this.emit('reset', { reason, identity: track.identity, generation: track.generation });
    await this.publisher.savePosition(track);
  }

  /**
   * Decode from `first` (read at `track.offset`) to the end of the file, publishing batch
   * by batch. `final`: the file will not grow (a rotated file), so a partial last line is
   * taken at once instead of after the flush timeout.
   */
  private async consume(path: string, track: Track, first: Slice, final: boolean): Promise<ConsumeResult> {
    const decoder = new QueueDecoder({ defaultEncoding: this.encoding, maxLineBytes: this.maxLineBytes, offset: track.offset, state: track.state });
    const progress = BacklogProgress.start(this.log, this.file, first.size - track.offset, track.offset);
    // Batches may still be out at the broker when a read below ends or fails: whatever
    // happens next (a reset, a rotation, a retry) starts from the confirmed offset.
    let r: ConsumeResult;
    try {
      r = await this.consumeFrom(path, track, first, final, decoder, progress);
    } catch (err) {
      await this.publisher.settle();
      throw err;
    }
    if (!(await this.publisher.settle())) return 'failed';
    if (r === 'eof') progress?.end();
    return r;
  }

  private async consumeFrom(
    path: string,
    track: Track,
    first: Slice,
    final: boolean,
    decoder: QueueDecoder,
    progress: BacklogProgress | null,
  ): Promise<ConsumeResult> {
    const head = first.head;
    let slice = first;
    for (;;) {
      // Decoded a piece at a time: the lines of a whole chunk, alive until its last batch
      // was sent, outlived young-generation collections on a backlog and grew the heap.
      for (let at = 0; at < slice.data.length; at += DECODE_PIECE_BYTES) {
        const lines = decoder.push(slice.data.subarray(at, at + DECODE_PIECE_BYTES));
        if (!(await this.publisher.deliver(lines, track, head, progress))) return 'failed';
      }
      if (decoder.offset >= slice.size) break; // at the end (as of this read)
      // `slice` is decoded: its bytes (perhaps in the same buffer) are not needed any more.
      const next = await readSlice(path, { offset: decoder.offset, maxBytes: this.chunkBytes, into: this.readBuffer() }, this.fs);
      if (!next || next.identity !== track.identity || next.size < decoder.offset) return 'changed';
      if (path === this.file) this.noteSize(next);
      slice = next;
    }
    if (decoder.pendingBytes > 0) {
      const quietFor = Date.now() - this.lastGrowthAt;
      if (final || quietFor >= this.flushTimeoutMs) {
        const lines = decoder.flush();
        if (lines.length > 0) {
          this.log.info('took a last line without newline', { file: path, offset: lines[0]!.start, waited_ms: final ? 0 : quietFor });
          if (!(await this.publisher.deliver(lines, track, head, progress))) return 'failed';
        }
      } else if (Number.isFinite(this.flushTimeoutMs)) {
        this.triggers.wakeIn(this.flushTimeoutMs - quietFor + 5);
      }
    }
    return 'eof';
  }

  /** Log a problem, but the same one at most once a minute (a poll retries every second). */
  private problem(key: string, msg: string, fields: Record<string, unknown>): void {
    const now = Date.now();
    if (key === this.lastProblem && now - this.lastProblemAt < 60_000) return;
    this.lastProblem = key;
    this.lastProblemAt = now;
    this.log.warning(msg, fields);
  }
}
