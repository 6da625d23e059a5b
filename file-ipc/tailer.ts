/**
 * QueueTailer: follows one legacy FileAppend queue file and publishes every line, at least
 * once and in file order, across crashes, truncation, replacement and rotation.
 *
 * When to read is read-triggers.ts's job (watcher events, a trailing re-read, a safety
 * poll, timed wakes); every trigger only marks the tailer dirty, and one serialised loop
 * here does the reading, so two reads never overlap. The options, counters and events
 * are in tailer-types.ts.
 *
 * Each read starts at the confirmed offset (everything before it was accepted by the
 * broker), opens the file, reads, closes at once, decodes complete lines, publishes them
 * in batches of at most `batchLines`, and after each accepted batch saves the position.
 * A rejected batch is retried later from the same offset, so nothing is lost or reordered.
 */
import { EventEmitter } from 'node:events';
import { resolve } from 'node:path';
import type { Logger } from '../src/log/logger.js';
import { DeadLetterFile, type DeadLetter } from './dead-letter.js';
import {
  DEFAULT_MAX_LINE_BYTES,
  DEFAULT_QUEUE_ENCODING,
  QueueDecoder,
  assertQueueEncoding,
  newlineBytes,
  type DecodedLine,
  type DecoderState,
} from './decoder.js';
import { LineParser } from './line-parser.js';
import { PositionStore, type QueuePosition } from './position-store.js';
import { currentIdentityKey, findByIdentity, readSlice, type QueueFs, type Slice, nodeQueueFs } from './queue-file.js';
import { ReadTriggers } from './read-triggers.js';
import type { PublishBatch, QueuePublish, QueueTailerEvents, QueueTailerOptions, QueueTailerStats } from './tailer-types.js';
import { isBusyError } from './retry.js';

export type { PublishBatch, QueuePublish, QueueTailerEvents, QueueTailerOptions, QueueTailerStats } from './tailer-types.js';

/** Topic on which lines that cannot be published are reported. */
export const INVALID_LINE_TOPIC = 'bridge.queue.invalid';

interface Track {
  identity: string;
  generation: number;
  /** Confirmed offset: everything before it was accepted. */
  offset: number;
  state: DecoderState;
  atNewline: boolean;
  /** The file's first min(HEAD_BYTES, offset) bytes. */
  head: Buffer;
}

type StepResult = 'done' | 'again';
type ConsumeResult = 'eof' | 'changed' | 'failed';

const HEAD_BYTES = 64;
const BACKLOG_LOG_BYTES = 1024 * 1024;
const PROGRESS_LOG_MS = 5000;
const PUBLISH_RETRY_MIN_MS = 100;
const PUBLISH_RETRY_MAX_MS = 5000;
const MAX_STEPS_PER_CYCLE = 16;

function withQueueId(payload: unknown, queueId: string): unknown {
  if (typeof payload !== 'object' || payload === null || Array.isArray(payload)) return payload;
  if (Object.hasOwn(payload, 'queue_id')) return payload;
  return { ...(payload as Record<string, unknown>), queue_id: queueId };
}

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
  private readonly parser: LineParser;
  private readonly positions: PositionStore;
  private readonly deadLetters: DeadLetterFile;
  private readonly flushTimeoutMs: number;
  private readonly pollIntervalMs: number;
  private readonly batchLines: number;
  private readonly maxLineBytes: number;
  private readonly chunkBytes: number;
  private readonly fs: QueueFs;

  private cur: Track | null = null;
  /** The queue path was found missing and the old file was dealt with. */
  private gone = false;
  private positionDirty = false;
  private lastSize = -1;
  private lastIdentity = '';
  private lastGrowthAt = 0;
  private retryAt = 0;
  private retryDelay = PUBLISH_RETRY_MIN_MS;

  private started = false;
  private stopped = false;
  private dirty = false;
  private loop: Promise<void> | null = null;
  private readonly triggers: ReadTriggers;
  private lastProblem = '';
  private lastProblemAt = 0;

  /**
   * @param opts see {@link QueueTailerOptions}
   * @param publish delivers a batch to the broker (see {@link PublishBatch})
   * @throws RangeError for an unknown encoding, an invalid prefix or topic map target
   */
  constructor(opts: QueueTailerOptions, private readonly publish: PublishBatch) {
    super();
    this.file = resolve(opts.file);
    this.log = opts.log.child('queue');
    this.encoding = opts.encoding ?? DEFAULT_QUEUE_ENCODING;
    assertQueueEncoding(this.encoding);
    this.parser = new LineParser({ topicMap: opts.topicMap, prefix: opts.prefix });
    const positionFile = resolve(opts.positionFile ?? `${this.file}.pos`);
    const deadFile = resolve(opts.deadLetterFile ?? `${this.file}.dead`);
    this.positions = new PositionStore(positionFile, this.file, this.log);
    this.deadLetters = new DeadLetterFile(deadFile);
    this.flushTimeoutMs = Math.max(0, opts.flushTimeoutMs ?? 2000);
    this.pollIntervalMs = Math.max(10, opts.pollIntervalMs ?? 1000);
    this.batchLines = Math.max(1, Math.floor(opts.batchLines ?? 500));
    this.maxLineBytes = Math.max(16, opts.maxLineBytes ?? DEFAULT_MAX_LINE_BYTES);
    this.chunkBytes = Math.max(4096, opts.readChunkBytes ?? 256 * 1024);
    this.fs = opts.fs ?? nodeQueueFs;
    this.triggers = new ReadTriggers({
      file: this.file,
      useWatcher: opts.watch ?? true,
      pollIntervalMs: this.pollIntervalMs,
      trailingReadMs: Math.max(0, opts.trailingReadMs ?? 60),
      kick: () => this.kick(),
      onNoFolder: (folder) =>
        this.log.warning('queue folder does not exist; only the safety poll will notice the queue file', { folder, poll_ms: this.pollIntervalMs }),
      onWatchError: (err) => this.problem('watch', 'file watcher error; the safety poll continues', { error: err }),
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
    if (saved) this.cur = this.fromSaved(saved);
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
    if (this.positionDirty) await this.savePosition();
  }

  /** Resolves when the read loop has nothing left to do for now. */
  async settled(): Promise<void> {
    while (this.loop) await this.loop;
  }

  /** Ask for a read now (also what every watcher event and the poll do). */
  kick(): void {
    if (this.stopped || !this.started) return;
    this.dirty = true;
    if (this.loop) return;
    this.loop = this.runLoop().finally(() => {
      this.loop = null;
      // A kick that arrived while the loop was finishing its last await.
      if (this.dirty && !this.stopped) this.kick();
    });
  }

  private async runLoop(): Promise<void> {
    while (this.dirty && !this.stopped) {
      this.dirty = false;
      try {
        await this.cycle();
      } catch (err) {
        this.stats.readErrors++;
        // AutoHotkey held the file longer than the retries waited: try again soon.
        if (isBusyError(err)) this.triggers.wakeIn(50);
        this.problem(`read:${(err as NodeJS.ErrnoException).code ?? String(err)}`, 'cannot read queue file; will retry', { file: this.file, error: err });
      }
    }
    if (!this.stopped) this.emit('idle');
  }

  private async cycle(): Promise<void> {
    if (Date.now() < this.retryAt) {
      // Publish backoff: come back when it ends (an earlier wake-up may have used the timer).
      this.triggers.wakeIn(this.retryAt - Date.now());
      return;
    }
    if (this.positionDirty) await this.savePosition();
    for (let i = 0; i < MAX_STEPS_PER_CYCLE && !this.stopped; i++) {
      if ((await this.step()) === 'done') return;
    }
    this.dirty = true; // kept changing under us: yield to the event loop, then go on
  }

  // ---- reading --------------------------------------------------------------------------

  private effectiveEncoding(state: DecoderState): string {
    return state.source === 'bom' ? state.encoding : this.encoding;
  }

  private sliceRequest(track: Track | null, offset: number): Parameters<typeof readSlice>[1] {
    if (!track || !track.atNewline) return { offset, maxBytes: this.chunkBytes, headBytes: HEAD_BYTES };
    const nl = newlineBytes(this.effectiveEncoding(track.state)).length;
    return { offset, maxBytes: this.chunkBytes, headBytes: HEAD_BYTES, probe: { position: track.offset - nl, length: nl } };
  }

  private noteSize(slice: Slice): void {
    if (slice.identity !== this.lastIdentity || slice.size !== this.lastSize) {
      this.lastIdentity = slice.identity;
      this.lastSize = slice.size;
      this.lastGrowthAt = Date.now();
    }
  }

  /** One decision on the queue path: read, or handle a missing / replaced / rewritten file. */
  private async step(): Promise<StepResult> {
    const track = this.cur;
    const slice = await readSlice(this.file, this.sliceRequest(track, track?.offset ?? 0), this.fs);
    // The size seen by the previous read of this same file: tells how much a truncation lost.
    const prevSize = slice && slice.identity === this.lastIdentity ? this.lastSize : -1;
    if (!slice) {
      if (track && !this.gone) {
        if (!(await this.drainRotated(track, 'the queue file disappeared'))) return 'done';
        this.gone = true;
      }
      return 'done';
    }
    this.noteSize(slice);
    if (!track) {
      this.cur = this.freshTrack(slice.identity, 0);
      return (await this.consume(this.file, this.cur, slice, false)) === 'changed' ? 'again' : 'done';
    }
    if (slice.identity !== track.identity) {
      // Another file has the name now. Finish the old one first, wherever it went.
      if (!this.gone && !(await this.drainRotated(track, 'another file took the queue name'))) return 'done';
      this.stats.replacements++;
      await this.resetTo(this.freshTrack(slice.identity, 0), 'a new file has the queue name', 'info');
      return 'again';
    }
    this.gone = false;
    const why = this.discontinuity(track, slice);
    if (why) {
      this.stats.truncations++;
      if (prevSize > track.offset) {
        this.log.warning('queue file was rewritten before all of it was delivered; those bytes are gone', { file: this.file, unread_bytes: prevSize - track.offset });
      }
      await this.resetTo(this.freshTrack(track.identity, track.generation + 1), why, 'warning');
      return 'again';
    }
    return (await this.consume(this.file, track, slice, false)) === 'changed' ? 'again' : 'done';
  }

  /** Why the saved offset no longer fits this same file, or null when it does. */
  private discontinuity(track: Track, slice: Slice): string | null {
    if (slice.size < track.offset) return `truncated (size ${slice.size} < offset ${track.offset})`;
    if (track.head.length > 0 && !slice.head.subarray(0, track.head.length).equals(track.head)) {
      return 'rewritten (its first bytes changed)';
    }
    if (track.atNewline && track.offset > 0) {
      const nl = newlineBytes(this.effectiveEncoding(track.state));
      if (!slice.probe || !slice.probe.equals(nl)) return 'rewritten (no line end before the saved offset)';
    }
    return null;
  }

  private freshTrack(identity: string, generation: number): Track {
    return {
      identity, generation, offset: 0, atNewline: false, head: Buffer.alloc(0),
      state: { encoding: this.encoding, source: 'default', midLine: false },
    };
  }

  private fromSaved(p: QueuePosition): Track {
    return {
      identity: currentIdentityKey(p.identity),
      generation: p.generation,
      offset: p.offset,
      state: p.state,
      atNewline: p.atNewline,
      head: Buffer.from(p.head, 'base64'),
    };
  }

  private async resetTo(track: Track, reason: string, level: 'info' | 'warning'): Promise<void> {
    this.cur = track;
    this.gone = false;
    this.log[level]('queue file starts over; reading it from the beginning', { file: this.file, reason, identity: track.identity, generation: track.generation });
    this.emit('reset', { reason, identity: track.identity, generation: track.generation });
    await this.savePosition();
  }

  /**
   * The file that had the queue's name is no longer there: look for it by identity in the
   * same folder (renamed by a rotating tool) and read its unread rest, including a final
   * line without newline (nobody appends to it by that name any more). Resolves false
   * when a publish failed and the drain must be tried again later.
   */
  private async drainRotated(track: Track, why: string): Promise<boolean> {
    const exclude = [this.positions.path, `${this.positions.path}.tmp`, this.deadLetters.path];
    const found = await findByIdentity(this.file, track.identity, exclude, this.fs);
    if (!found) {
      this.log.info('queue file is gone and no renamed copy was found in its folder', { file: this.file, reason: why, offset: track.offset });
      return true;
    }
    for (let i = 0; i < MAX_STEPS_PER_CYCLE && !this.stopped; i++) {
      const slice = await readSlice(found, this.sliceRequest(track, track.offset), this.fs);
      if (!slice || slice.identity !== track.identity) return true; // gone meanwhile
      const broken = this.discontinuity(track, slice);
      if (broken) {
        this.log.warning('rotated queue file changed; its rest is not read', { file: found, reason: broken });
        return true;
      }
      const r = await this.consume(found, track, slice, true);
      if (r === 'failed') return false;
      if (r === 'eof') {
        this.stats.rotationsDrained++;
        this.log.info('read the rest of the rotated queue file', { file: found, offset: track.offset });
        this.emit('rotated', { path: found, identity: track.identity });
        return true;
      }
    }
    return false;
  }

  /**
   * Decode from `first` (read at `track.offset`) to the end of the file, publishing batch
   * by batch. `final`: the file will not grow (a rotated file), so a partial last line is
   * taken at once instead of after the flush timeout.
   */
  private async consume(path: string, track: Track, first: Slice, final: boolean): Promise<ConsumeResult> {
    const decoder = new QueueDecoder({ defaultEncoding: this.encoding, maxLineBytes: this.maxLineBytes, offset: track.offset, state: track.state });
    const head = first.head;
    const progress = this.startProgress(first.size - track.offset, track.offset);
    let slice = first;
    for (;;) {
      if (slice.data.length > 0) {
        const ok = await this.deliver(decoder.push(slice.data), track, head, progress);
        if (!ok) return 'failed';
      }
      if (decoder.offset >= slice.size) break; // at the end (as of this read)
      const next = await readSlice(path, { offset: decoder.offset, maxBytes: this.chunkBytes }, this.fs);
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
          if (!(await this.deliver(lines, track, head, progress))) return 'failed';
        }
      } else if (Number.isFinite(this.flushTimeoutMs)) {
        this.triggers.wakeIn(this.flushTimeoutMs - quietFor + 5);
      }
    }
    this.endProgress(progress);
    return 'eof';
  }

  /** Publish `lines` in batches, advancing `track` after each accepted batch. */
  private async deliver(lines: DecodedLine[], track: Track, head: Buffer, progress: Progress | null): Promise<boolean> {
    for (let i = 0; i < lines.length; ) {
      if (this.stopped) return false;
      const items: QueuePublish[] = [];
      const dead: DeadLetter[] = [];
      const invalid: Array<{ reason: string; line: string; queueId: string; offset: number }> = [];
      let published = 0;
      let empty = 0;
      let last: DecodedLine | undefined;
      const fileId = `${track.identity}.${track.generation}`;
      for (; i < lines.length && items.length < this.batchLines; i++) {
        const line = lines[i]!;
        last = line;
        const queueId = `${fileId}:${line.start}`;
        const parsed = line.cut === 'overflow' || line.cut === 'continuation'
          ? { kind: 'invalid' as const, reason: `line longer than ${this.maxLineBytes} bytes (this is one piece of it)` }
          : this.parser.parse(line.text);
        if (parsed.kind === 'empty') {
          empty++;
        } else if (parsed.kind === 'publish') {
          items.push({ topic: parsed.topic, payload: withQueueId(parsed.payload, queueId), queueId });
          published++;
        } else {
          items.push({ topic: INVALID_LINE_TOPIC, payload: { file: this.file, line: line.text, reason: parsed.reason, offset: line.start, queue_id: queueId }, queueId });
          dead.push({ raw: line.text, reason: parsed.reason, queueId });
          invalid.push({ reason: parsed.reason, line: line.text, queueId, offset: line.start });
        }
      }
      if (!last) break;
      if (items.length > 0) {
        try {
          await this.publish(items);
        } catch (err) {
          this.stats.publishFailures++;
          this.retryAt = Date.now() + this.retryDelay;
          this.triggers.wakeIn(this.retryDelay);
          this.problem('publish', 'broker did not accept queue lines; retrying the same lines', { file: this.file, lines: items.length, retry_ms: this.retryDelay, error: err });
          this.retryDelay = Math.min(this.retryDelay * 2, PUBLISH_RETRY_MAX_MS);
          return false;
        }
        this.retryDelay = PUBLISH_RETRY_MIN_MS;
      }
      if (dead.length > 0) {
        try {
          await this.deadLetters.write(dead);
        } catch (err) {
          // Already reported on the topic; a dead-letter file we cannot write must not stop the queue.
          this.stats.deadLetterErrors++;
          this.problem('dead', 'cannot write the dead-letter file', { file: this.deadLetters.path, lines: dead.length, error: err });
        }
      }
      this.stats.published += published;
      this.stats.invalid += invalid.length;
      this.stats.skippedEmpty += empty;
      this.stats.bytesRead += last.end - track.offset;
      if (items.length > 0) this.stats.batches++;
      track.offset = last.end;
      track.state = last.state;
      track.atNewline = last.cut === undefined;
      if (track.head.length < Math.min(HEAD_BYTES, track.offset)) track.head = Buffer.from(head.subarray(0, Math.min(HEAD_BYTES, track.offset)));
      this.positionDirty = true;
      await this.savePosition();
      for (const info of invalid) this.emit('invalid', info);
      this.emit('batch', { lines: published + invalid.length + empty, published, invalid: invalid.length, offset: track.offset });
      if (progress) this.reportProgress(progress, published + invalid.length + empty, track.offset);
    }
    return true;
  }

  private async savePosition(): Promise<void> {
    const t = this.cur;
    if (!t) return;
    try {
      await this.positions.save({ identity: t.identity, generation: t.generation, offset: t.offset, state: t.state, atNewline: t.atNewline, head: t.head.toString('base64') });
      this.positionDirty = false;
    } catch (err) {
      // The lines are delivered; a lost save only means they may repeat after a crash.
      this.positionDirty = true;
      this.stats.positionSaveErrors++;
      this.problem('position', 'cannot save the queue position; will retry', { file: this.positions.path, error: err });
    }
  }

  // ---- logging --------------------------------------------------------------------------

  /** Log a problem, but the same one at most once a minute (a poll retries every second). */
  private problem(key: string, msg: string, fields: Record<string, unknown>): void {
    const now = Date.now();
    if (key === this.lastProblem && now - this.lastProblemAt < 60_000) return;
    this.lastProblem = key;
    this.lastProblemAt = now;
    this.log.warning(msg, fields);
  }

  private startProgress(backlog: number, from: number): Progress | null {
    if (backlog < BACKLOG_LOG_BYTES) return null;
    this.log.info('reading queue backlog', { file: this.file, bytes: backlog, from_offset: from });
    const now = Date.now();
    return { from, total: backlog, lines: 0, startedAt: now, loggedAt: now, nextTenth: 1 };
  }

  private reportProgress(p: Progress, lines: number, offset: number): void {
    p.lines += lines;
    const done = offset - p.from;
    const now = Date.now();
    const tenth = Math.floor((done / p.total) * 10);
    if (tenth < p.nextTenth && now - p.loggedAt < PROGRESS_LOG_MS) return;
    p.nextTenth = tenth + 1;
    p.loggedAt = now;
    const secs = Math.max(0.001, (now - p.startedAt) / 1000);
    this.log.info('queue backlog progress', {
      file: this.file, percent: Math.min(100, Math.round((done / p.total) * 100)), lines: p.lines, lines_per_s: Math.round(p.lines / secs),
    });
  }

  private endProgress(p: Progress | null): void {
    if (!p) return;
    const secs = Math.max(0.001, (Date.now() - p.startedAt) / 1000);
    this.log.info('queue backlog read', { file: this.file, lines: p.lines, seconds: Number(secs.toFixed(2)), lines_per_s: Math.round(p.lines / secs) });
  }
}

interface Progress {
  from: number;
  total: number;
  lines: number;
  startedAt: number;
  loggedAt: number;
  nextTenth: number;
}

