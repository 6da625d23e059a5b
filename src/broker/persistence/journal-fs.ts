/**
 * The file operations the persistence layer uses, behind an interface so tests can count
 * fsyncs and make a write fail with ENOSPC or EACCES on cue (like file-ipc's `QueueFs`).
 * Nothing else in this folder touches `node:fs`.
 */
import * as fsp from 'node:fs/promises';

/** An open file, written at explicit positions (never in append mode: see `SegmentWriter`). */
export interface JournalFileHandle {
  write(buffer: Uint8Array, offset: number, length: number, position: number): Promise<{ bytesWritten: number }>;
  /** fsync; FlushFileBuffers on Windows. */
  sync(): Promise<void>;
  truncate(length: number): Promise<void>;
  close(): Promise<void>;
}

/** The subset of `node:fs/promises` this layer uses, injectable for tests. */
export interface JournalFs {
  /** `wx`: create, failing with EEXIST when the file exists; `r+`: open an existing file for writing. */
  open(path: string, flags: 'wx' | 'r+'): Promise<JournalFileHandle>;
  readFile(path: string): Promise<Buffer>;
  readdir(path: string): Promise<string[]>;
  rename(from: string, to: string): Promise<void>;
  unlink(path: string): Promise<void>;
  mkdir(path: string): Promise<void>;
  /**
   * Make the directory's entries (a created, renamed or removed file) durable. A no-op
   * where the platform cannot: Windows cannot open a directory for FlushFileBuffers from
   * Node, and NTFS journals its metadata itself.
   */
  syncDir(path: string): Promise<void>;
}

/**
 * Errors from fsync on a directory that mean "this file system cannot do that", not
 * "the data is at risk": some network and FUSE file systems refuse directory fsync.
 */
const DIR_SYNC_UNSUPPORTED: ReadonlySet<string> = new Set(['EINVAL', 'ENOTSUP', 'EOPNOTSUPP']);

/** The real file system. */
export const nodeJournalFs: JournalFs = {
  open: (path, flags) => fsp.open(path, flags),
  readFile: (path) => fsp.readFile(path),
  readdir: (path) => fsp.readdir(path),
  rename: (from, to) => fsp.rename(from, to),
  unlink: (path) => fsp.unlink(path),
  mkdir: async (path) => {
    try {
      await fsp.mkdir(path, { recursive: true });
    } catch (err) {
      // A recursive mkdir says EEXIST only when the path is there as something other than
      // a directory (a file): "already exists" would read as if nothing were wrong.
      if ((err as NodeJS.ErrnoException).code === 'EEXIST') throw Object.assign(new Error(`${path} is not a directory`), { code: 'ENOTDIR', path });
      throw err;
    }
  },
  syncDir: async (path) => {
    if (process.platform === 'win32') return;
    const handle = await fsp.open(path, 'r');
    try {
      await handle.sync();
    } catch (err) {
      if (!DIR_SYNC_UNSUPPORTED.has((err as NodeJS.ErrnoException).code ?? '')) throw err;
    } finally {
      await handle.close();
    }
  },
};
