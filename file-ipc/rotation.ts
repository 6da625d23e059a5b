/**
 * The file that had the queue's name is gone from it: deleted, or renamed by a rotating
 * tool (`queue.txt.1`, `queue-2024-05-01.txt`, ...) with or without a new file taking the
 * name. A renamed file is found by identity in the same folder and its unread rest is
 * read before anything else, including a final line without newline: nobody appends to
 * it by that name any more.
 */
import type { EventEmitter } from 'node:events';
import type { Logger } from '../src/log/logger.js';
import { discontinuity, sliceRequest, type Track } from './continuity.js';
import { findByIdentity, readSlice, type QueueFs, type Slice } from './queue-file.js';
import type { QueueTailerEvents, QueueTailerStats } from './tailer-types.js';

/**
 * How reading a file to its end ended: `eof` at the end, `changed` the file changed
 * under the read (read it again), `failed` a publish failed (retry later).
 */
export type ConsumeResult = 'eof' | 'changed' | 'failed';

/** What a {@link RotationDrain} works with; the tailer owns all of it. */
export interface RotationDrainOptions {
  /** The queue path. */
  file: string;
  /** Our own files in the queue's folder: never taken for the rotated queue. */
  exclude: readonly string[];
  fs: QueueFs;
  log: Logger;
  /** The configured code page. */
  encoding: string;
  /** Bytes per read. */
  chunkBytes: number;
  /** Most reads per drain (a file still changing is drained over several loop passes). */
  maxReads: number;
  stats: QueueTailerStats;
  /** Where `rotated` is emitted. */
  events: Pick<EventEmitter<QueueTailerEvents>, 'emit'>;
  /** Read `path` from `first` (read at `track.offset`) to its end, as a file that will not grow. */
  consume(path: string, track: Track, first: Slice): Promise<ConsumeResult>;
  /** The tailer is stopping. */
  isStopped(): boolean;
}

/** Reads the unread rest of a rotated-away queue file. */
export class RotationDrain {
  constructor(private readonly opts: RotationDrainOptions) {}

  /**
   * Find `track`'s file in the queue's folder and read it from the track's offset to its
   * end. Resolves true when that is done or there is nothing to read (the file is gone or
   * was changed); false when it must be tried again later (a publish failed, the tailer
   * is stopping, or the file kept changing).
   * @param why why the file is no longer at the queue path (logged)
   */
  async drain(track: Track, why: string): Promise<boolean> {
    const { file, fs, log, encoding, chunkBytes } = this.opts;
    let found = await findByIdentity(file, track.identity, this.opts.exclude, fs);
    if (!found) {
      log.info('queue file is gone and no renamed copy was found in its folder', { file, reason: why, offset: track.offset });
      return true;
    }
    for (let i = 0; i < this.opts.maxReads && !this.opts.isStopped(); i++) {
      const slice = await readSlice(found, sliceRequest(track, track.offset, chunkBytes, encoding), fs);
      if (!slice || slice.identity !== track.identity) {
        // Renamed again while its rest was read (a second rotation: queue.txt.1 became
        // queue.txt.2), or deleted: looked up by identity anew, as at the start.
        found = await findByIdentity(file, track.identity, this.opts.exclude, fs);
        if (!found) return true;
        continue;
      }
      const broken = discontinuity(track, slice, encoding);
      if (broken) {
        log.warning('rotated queue file changed; its rest is not read', { file: found, reason: broken });
        return true;
      }
      const r = await this.opts.consume(found, track, slice);
      if (r === 'failed') return false;
      if (r === 'eof') {
        this.opts.stats.rotationsDrained++;
        log.info('read the rest of the rotated queue file', { file: found, offset: track.offset });
        this.opts.events.emit('rotated', { path: found, identity: track.identity });
        return true;
      }
    }
    return false;
  }
}
