/**
 * Writes groups of framed records to the current journal segment, fsyncs them by policy,
 * and starts a new segment when one is full or after a failure.
 *
 * Writes go to explicit positions, not through an append-mode handle, so a failed write
 * can be cut off: after ENOSPC half a group may be on disk, and a later record behind
 * that half would make it damage in the middle, reported at every start. The segment is
 * truncated back to its last good size and abandoned; the next group opens a fresh
 * segment. One the failure left empty is removed, so a disk that stays full does not
 * fill the directory with empty files. If even the truncate fails, the half record is
 * the tail of a closed segment, which recovery drops with a warning while still
 * replaying the segments after it.
 *
 * A segment is created with O_EXCL and, unless the policy is `never`, the directory is
 * fsynced after it: on POSIX a file's data can be durable while its directory entry is
 * not, and the records inside would vanish with it.
 */
import { join } from 'node:path';
import type { Logger } from '../../log/logger.js';
import type { FsyncPolicy } from './commit-queue.js';
import { persistenceError } from './errors.js';
import { segmentName } from './file-names.js';
import type { JournalFileHandle, JournalFs } from './journal-fs.js';

interface OpenSegment {
  name: string;
  path: string;
  handle: JournalFileHandle;
  size: number;
}

export interface SegmentWriterOptions {
  dir: string;
  fs: JournalFs;
  log: Logger;
  policy: FsyncPolicy;
  /** Start a new segment once the current one reaches this size. */
  segmentBytes: number;
  /** Number of the first segment to create. */
  firstSeq: number;
  /** Told every segment's size as it changes (disk-use statistics). */
  onSize(name: string, size: number): void;
  /** Told a segment is gone (one a failed write left empty). */
  onRemoved(name: string): void;
}

export class SegmentWriter {
  private current: OpenSegment | null = null;
  private seq: number;
  /** Completed writes and fsyncs of segment data (for stats). */
  writes = 0;
  fsyncs = 0;

  constructor(private readonly o: SegmentWriterOptions) {
    this.seq = o.firstSeq;
  }

  /** The number the next new segment gets: every later append goes to it or after it. */
  get nextSeq(): number {
    return this.seq;
  }

  /** The segment being written, if one is open. */
  get currentName(): string | null {
    return this.current?.name ?? null;
  }

  /**
   * Write `buf` at the end of the current segment (opening one if needed), then fsync
   * unless the policy is `never`.
   * @throws PersistenceError; the journal stays usable: the next write opens a new segment
   */
  async write(buf: Buffer): Promise<void> {
    const seg = this.current ?? (await this.openNext());
    const at = seg.size;
    try {
      for (let done = 0; done < buf.length; ) {
        const { bytesWritten } = await seg.handle.write(buf, done, buf.length - done, at + done);
        if (bytesWritten <= 0) throw Object.assign(new Error('the write made no progress'), { code: 'EIO' });
        done += bytesWritten;
      }
      this.writes++;
      if (this.o.policy !== 'never') {
        await seg.handle.sync();
        this.fsyncs++;
      }
    } catch (err) {
      const e = persistenceError(err, 'writing journal segment', seg.path);
      await this.abandon(seg, at);
      throw e;
    }
    seg.size = at + buf.length;
    this.o.onSize(seg.name, seg.size);
    if (seg.size >= this.o.segmentBytes) await this.rotate();
  }

  /** Close the current segment; the next write starts segment {@link nextSeq}. */
  async rotate(): Promise<void> {
    const seg = this.current;
    if (!seg) return;
    this.current = null;
    try {
      await seg.handle.close();
    } catch (err) {
      // Everything in it was written (and fsynced by policy) before: only the handle leaks.
      this.o.log.warning('cannot close a full journal segment', { file: seg.path, error: err });
    }
  }

  private async openNext(): Promise<OpenSegment> {
    for (let attempt = 0; ; attempt++) {
      const name = segmentName(this.seq);
      const path = join(this.o.dir, name);
      let handle: JournalFileHandle;
      try {
        handle = await this.o.fs.open(path, 'wx');
      } catch (err) {
        // A file of that number can only be left over from outside interference: skip it.
        if ((err as NodeJS.ErrnoException).code === 'EEXIST' && attempt < 3) {
          this.seq++;
          continue;
        }
        throw persistenceError(err, 'creating journal segment', path);
      }
      this.seq++;
      const seg: OpenSegment = { name, path, handle, size: 0 };
      this.o.onSize(name, 0);
      if (this.o.policy !== 'never') {
        try {
          await this.o.fs.syncDir(this.o.dir);
        } catch (err) {
          const e = persistenceError(err, 'syncing the directory after creating', path);
          await this.abandon(seg, 0);
          throw e;
        }
      }
      this.current = seg;
      return seg;
    }
  }

  /** After a failed write: cut the segment back to `size` and stop using it. */
  private async abandon(seg: OpenSegment, size: number): Promise<void> {
    if (this.current === seg) this.current = null;
    let cut = true;
    try {
      await seg.handle.truncate(size);
    } catch (err) {
      cut = false;
      this.o.log.warning('cannot cut a failed write off a journal segment; the next start drops it as a damaged tail', {
        file: seg.path, offset: size, error: err,
      });
    }
    try {
      await seg.handle.close();
    } catch (err) {
      this.o.log.warning('cannot close a journal segment after a failed write', { file: seg.path, error: err });
    }
    if (cut && size === 0 && (await this.removeEmpty(seg))) return;
    this.o.onSize(seg.name, size);
  }

  /** Remove a segment that holds nothing; true when it is gone. */
  private async removeEmpty(seg: OpenSegment): Promise<boolean> {
    try {
      await this.o.fs.unlink(seg.path);
    } catch (err) {
      // Harmless: an empty segment replays as nothing.
      this.o.log.debug('cannot remove an empty journal segment after a failed write', { file: seg.path, error: err });
      return false;
    }
    this.o.onRemoved(seg.name);
    return true;
  }
}
