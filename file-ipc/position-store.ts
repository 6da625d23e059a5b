/**
 * The read position of one queue, persisted in a small JSON file (default `<queue>.pos`).
 * The tailer saves it only after the broker accepted the lines before it, so after a crash
 * the next run resumes at the first line that may not have been delivered.
 *
 * Written atomically: the JSON goes to `<file>.tmp`, which is then renamed over the old
 * file, so a crash mid-write leaves the previous position, never half a file. Windows
 * refuses the rename while another process (a virus scanner, an editor) has the target
 * open: retried. A missing, unreadable or corrupted file means "no position": the tailer
 * starts from byte 0 with a warning (lines may repeat, none is lost), and never crashes.
 * No fsync: after a power loss the file may be empty, which again only means repeats.
 */
import * as fs from 'node:fs';
import * as fsp from 'node:fs/promises';
import { resolve } from 'node:path';
import type { Logger } from '../src/log/logger.js';
import { isoUtc } from '../src/protocol/timestamp.js';
import type { DecoderState } from './decoder.js';
import { retryBusy, type RetryOptions } from './retry.js';

/** Where reading stopped: everything before `offset` was accepted by the broker. */
export interface QueuePosition {
  /** Identity key of the file `offset` belongs to (see `identityKey`). */
  identity: string;
  /**
   * How many times this same file (same identity) was found truncated or rewritten. Part
   * of every queue_id, so a line at an offset reused by new content gets a new id.
   */
  generation: number;
  /** Byte offset of the first line not yet accepted. */
  offset: number;
  /** Decoder state at `offset` (encoding and where it came from). */
  state: DecoderState;
  /** True when the bytes just before `offset` are a newline (checked to notice a rewrite). */
  atNewline: boolean;
  /** Base64 of the file's first min(64, offset) bytes (checked to notice a rewrite). */
  head: string;
}

/** The file operations used, injectable for tests. */
export interface PositionFs {
  readFile(path: string): Promise<string>;
  writeFile(path: string, data: string): Promise<void>;
  rename(from: string, to: string): Promise<void>;
  /** The path with every link, junction and substituted drive resolved; rejects for a path that does not exist. */
  realpath?(path: string): Promise<string>;
}

/**
 * The position is written through Node's callback API: a save (write and rename) cost the
 * tail 350 µs of CPU through `fs.promises`, whose FileHandle round trips to the thread
 * pool come on top, and 240 this way (measured alone on Linux); a backlog makes one every
 * 2,000 lines.
 */
const nodePositionFs: PositionFs = {
  readFile: (path) => fsp.readFile(path, 'utf8'),
  writeFile: (path, data) => new Promise((done, fail) => fs.writeFile(path, data, 'utf8', (err) => (err ? fail(err) : done()))),
  rename: (from, to) => new Promise((done, fail) => fs.rename(from, to, (err) => (err ? fail(err) : done()))),
  realpath: (path) => fsp.realpath(path),
};

const FORMAT_VERSION = 1;

function samePath(a: string, b: string): boolean {
  return process.platform === 'win32' ? a.toLowerCase() === b.toLowerCase() : a === b;
}

function isState(v: unknown): v is DecoderState {
  const s = v as DecoderState | null;
  return (
    typeof s === 'object' && s !== null && typeof s.encoding === 'string' &&
    (s.source === 'bom' || s.source === 'default') && typeof s.midLine === 'boolean'
  );
}

/** Why `v` is not a saved position of `queue`, or null when it is one. */
function invalidReason(v: unknown, queue: string): string | null {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) return 'not a JSON object';
  const o = v as Record<string, unknown>;
  if (o.version !== FORMAT_VERSION) return `unknown version ${JSON.stringify(o.version)}`;
  if (typeof o.queue !== 'string' || !samePath(o.queue, queue)) return `it belongs to another queue (${JSON.stringify(o.queue)})`;
  if (typeof o.identity !== 'string' || o.identity === '') return 'no file identity';
  if (!Number.isSafeInteger(o.generation) || (o.generation as number) < 0) return 'bad generation';
  if (!Number.isSafeInteger(o.offset) || (o.offset as number) < 0) return 'bad offset';
  if (!isState(o.state)) return 'bad decoder state';
  if (typeof o.atNewline !== 'boolean' || typeof o.head !== 'string') return 'bad check fields';
  return null;
}

/** Loads and saves one queue's position file. */
export class PositionStore {
  private readonly queue: string;

  /**
   * @param path the position file
   * @param queue the queue file it belongs to (stored inside, checked on load)
   */
  constructor(
    readonly path: string,
    queue: string,
    private readonly log: Logger,
    private readonly fs: PositionFs = nodePositionFs,
    private readonly retry: RetryOptions = {},
  ) {
    this.queue = resolve(queue);
  }

  /** The saved position, or null (with a warning when a file exists but is unusable). */
  async load(): Promise<QueuePosition | null> {
    let text: string;
    try {
      text = await retryBusy(() => this.fs.readFile(this.path), this.retry);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
      this.log.warning('cannot read queue position file; starting from the beginning of the queue', { file: this.path, error: err });
      return null;
    }
    let value: unknown;
    try {
      value = JSON.parse(text);
    } catch (err) {
      this.log.warning('queue position file is corrupted; starting from the beginning of the queue', { file: this.path, error: err });
      return null;
    }
    let reason = invalidReason(value, this.queue);
    if (reason !== null && (await this.sameQueueElsewhere(value))) reason = invalidReason({ ...(value as object), queue: this.queue }, this.queue);
    if (reason) {
      this.log.warning('queue position file is unusable; starting from the beginning of the queue', { file: this.path, reason });
      return null;
    }
    const o = value as QueuePosition;
    return { identity: o.identity, generation: o.generation, offset: o.offset, state: o.state, atNewline: o.atNewline, head: o.head };
  }

  /**
   * Whether a position saved under another spelling of the queue's path names this same
   * file: through a symlinked or junctioned folder, a substituted or mapped drive. Told by
   * both paths resolving to one; the saved file identity is checked after, as always.
   */
  private async sameQueueElsewhere(value: unknown): Promise<boolean> {
    const saved = (value as { queue?: unknown } | null)?.queue;
    const realpath = this.fs.realpath;
    if (typeof saved !== 'string' || !realpath) return false;
    try {
      const [a, b] = await Promise.all([realpath(saved), realpath(this.queue)]);
      return samePath(a, b);
    } catch {
      // Either path does not exist now: no telling, so not the same.
      return false;
    }
  }

  /** Save atomically (temp file + rename); rejects when it cannot be saved. */
  async save(position: QueuePosition): Promise<void> {
    const doc = { version: FORMAT_VERSION, queue: this.queue, ...position, saved: isoUtc(Date.now()) };
    const tmp = `${this.path}.tmp`;
    await retryBusy(() => this.fs.writeFile(tmp, JSON.stringify(doc) + '\n'), this.retry);
    await retryBusy(() => this.fs.rename(tmp, this.path), this.retry);
  }
}
