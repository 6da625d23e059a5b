/**
 * Reading a queue file without ever holding it open. AutoHotkey opens the file with share
 * mode 0 for every FileAppend, so while any other process has a handle the append fails
 * (silently in v1: the line is lost). Every access here is open, fstat, read the wanted
 * bytes, close, in one call, and no handle outlives that call.
 *
 * A file is recognised by its identity: device + inode, and on Linux and macOS also the
 * creation time, because there a deleted file's inode number is reused by the very next
 * file created in the folder. Not on Windows: NTFS keeps a deleted file's creation time
 * for a new file of the same name created within 15 s ("tunnelling"), and Wine reports
 * the last write as the creation time, so every append would look like a new file. The
 * NTFS file id (`ino`, read as a 64-bit bigint) carries a sequence number that changes
 * when its record is reused, and the tailer also compares the file's first bytes, so a
 * re-created file is still told apart.
 */
import * as fsp from 'node:fs/promises';
import type { BigIntStats } from 'node:fs';
import { basename, dirname, extname, join } from 'node:path';
import { isBusyError, retryBusy, type RetryOptions } from './retry.js';

/** The subset of an open file handle this module uses (a stub in tests). */
export interface QueueFileHandle {
  stat(options: { bigint: true }): Promise<BigIntStats>;
  read(buffer: Buffer, offset: number, length: number, position: number): Promise<{ bytesRead: number }>;
  close(): Promise<void>;
}

/** The subset of `node:fs/promises` this module uses, injectable for tests. */
export interface QueueFs {
  open(path: string, flags: 'r'): Promise<QueueFileHandle>;
  stat(path: string, options: { bigint: true }): Promise<BigIntStats>;
  readdir(path: string): Promise<string[]>;
}

/** The real file system. */
export const nodeQueueFs: QueueFs = {
  open: (path, flags) => fsp.open(path, flags),
  stat: (path, options) => fsp.stat(path, options),
  readdir: (path) => fsp.readdir(path),
};

/**
 * A stable text key for a file: `<dev>-<ino>` in hex, plus `-<birthtime ns>` off
 * Windows. Two paths with the same key are the same file; off Windows a re-created file
 * gets a new key even when the OS hands out the old inode number again.
 */
export function identityKey(st: BigIntStats, platform: NodeJS.Platform = process.platform): string {
  const key = `${st.dev.toString(16)}-${st.ino.toString(16)}`;
  return platform === 'win32' ? key : `${key}-${st.birthtimeNs.toString(16)}`;
}

/**
 * A saved key in the form this platform uses now: positions saved on Windows by an
 * older version carry a creation time that is no longer part of the key there.
 */
export function currentIdentityKey(saved: string, platform: NodeJS.Platform = process.platform): string {
  return platform === 'win32' ? saved.split('-').slice(0, 2).join('-') : saved;
}

/** What one {@link readSlice} call asks for. */
export interface SliceRequest {
  /** First byte to read. */
  offset: number;
  /** Read at most this many bytes from `offset` (fewer when the file is shorter). */
  maxBytes: number;
  /** Also read the file's first `headBytes` bytes (to notice a rewritten file). */
  headBytes?: number;
  /** Also read `length` bytes at `position` (to check the bytes just before a saved offset). */
  probe?: { position: number; length: number };
  /**
   * Read the data into this buffer when it is large enough (`maxBytes`, plus the probe's
   * length when the probe ends at `offset`: both are then read at once); the slice's
   * `data` is then a view of it, valid until the next read into it. A reader that reads chunk after chunk
   * reuses one buffer instead of leaving each chunk to the garbage collector (memory that
   * piled up outside the JS heap until a full collection).
   */
  into?: Buffer;
}

/** What one {@link readSlice} call found, all from the same open handle. */
export interface Slice {
  /** {@link identityKey} of the file actually opened. */
  identity: string;
  /** Size at the moment of the read (from fstat on the open handle). */
  size: number;
  /** Last modification time in ns (from the same fstat). */
  mtimeNs: bigint;
  /** Bytes read from `offset` (empty when the file is not longer than `offset`). */
  data: Buffer;
  /** The first `headBytes` bytes, or fewer when the file is shorter. */
  head: Buffer;
  /** The probed bytes, or `null` when no probe was asked or the file is too short for it. */
  probe: Buffer | null;
}

const EMPTY: Buffer = Buffer.alloc(0);

async function readFully(handle: QueueFileHandle, position: number, length: number, into?: Buffer): Promise<Buffer> {
  const buf = into && into.length >= length ? into.subarray(0, length) : Buffer.allocUnsafe(length);
  let filled = 0;
  while (filled < length) {
    const { bytesRead } = await handle.read(buf, filled, length - filled, position + filled);
    if (bytesRead === 0) break; // the file shrank between fstat and read: take what there is
    filled += bytesRead;
  }
  return filled === length ? buf : buf.subarray(0, filled);
}

/**
 * The error a read of a queue path that is a directory gives, the same on every OS: Linux
 * opens a directory and fails only at the read, Windows may refuse the open as a sharing
 * violation would (EPERM), which must not be retried like one.
 */
export function isDirectoryError(err: unknown): boolean {
  return (err as NodeJS.ErrnoException | undefined)?.code === 'EISDIR';
}

function directoryError(path: string): NodeJS.ErrnoException {
  const err: NodeJS.ErrnoException = new Error(`EISDIR: the queue path is a directory: ${path}`);
  err.code = 'EISDIR';
  err.path = path;
  return err;
}

/** True when `path` is a directory now (false when it cannot be told). */
async function isDirectory(path: string, fs: QueueFs): Promise<boolean> {
  try {
    return (await fs.stat(path, { bigint: true })).isDirectory();
  } catch {
    return false; // gone or unreadable: the caller's own error stands
  }
}

/** True when `err` says the path does not exist (any more). */
export function isMissing(err: unknown): boolean {
  const code = (err as NodeJS.ErrnoException | undefined)?.code;
  return code === 'ENOENT' || code === 'ENOTDIR';
}

/**
 * Open `path`, read what `request` asks for, close. Opening is retried while another
 * process holds the file (Windows sharing violations). Resolves `null` when the file does
 * not exist. The buffer is sized from fstat, so a quiet file costs no large allocation.
 */
export async function readSlice(
  path: string,
  request: SliceRequest,
  fs: QueueFs = nodeQueueFs,
  retry: RetryOptions = {},
): Promise<Slice | null> {
  let handle: QueueFileHandle;
  try {
    handle = await retryBusy(() => fs.open(path, 'r'), retry);
  } catch (err) {
    if (isMissing(err)) return null;
    if (!isDirectoryError(err) && isBusyError(err) && (await isDirectory(path, fs))) throw directoryError(path);
    throw err;
  }
  try {
    const st = await handle.stat({ bigint: true });
    if (st.isDirectory()) throw directoryError(path);
    const size = Number(st.size);
    const head = request.headBytes ? await readFully(handle, 0, Math.min(request.headBytes, size)) : Buffer.alloc(0);
    let probe: Buffer | null = null;
    let data: Buffer = EMPTY;
    const p = request.probe;
    const wanted = Math.max(0, Math.min(request.maxBytes, size - request.offset));
    if (p && p.position >= 0 && p.position + p.length === request.offset && wanted > 0) {
      // The probe ends where the data starts: one read for both, one trip to the disk
      // thread less for every new line that arrives.
      const both = await readFully(handle, p.position, p.length + wanted, request.into);
      if (both.length >= p.length) {
        probe = Buffer.from(both.subarray(0, p.length));
        data = both.subarray(p.length);
      }
    } else {
      if (p && p.position >= 0 && p.position + p.length <= size) probe = await readFully(handle, p.position, p.length);
      if (wanted > 0) data = await readFully(handle, request.offset, wanted, request.into);
    }
    return { identity: identityKey(st), size, mtimeNs: st.mtimeNs, data, head, probe };
  } finally {
    // Close before anything else happens: AutoHotkey's next append fails while we hold it.
    await handle.close().catch(() => undefined);
  }
}

/**
 * Identity key, size and modification time (ns) of `path`, or `null` when it does not
 * exist. A stat opens no handle that takes part in file sharing (on Windows it asks for
 * attributes only), so it never makes an exclusive FileAppend fail.
 */
export async function statQueue(
  path: string,
  fs: QueueFs = nodeQueueFs,
  retry: RetryOptions = {},
): Promise<{ identity: string; size: number; mtimeNs: bigint } | null> {
  try {
    const st = await retryBusy(() => fs.stat(path, { bigint: true }), retry);
    return { identity: identityKey(st), size: Number(st.size), mtimeNs: st.mtimeNs };
  } catch (err) {
    if (isMissing(err)) return null;
    throw err;
  }
}

/**
 * Find the file with identity `key` in `path`'s folder: where a rotating tool renamed the
 * queue (`queue.txt.1`, `queue.1.txt`, `queue-2024-05-01.txt`, ...). Names that start with
 * the queue's stem are tried first; `exclude` names (our own state files) are skipped.
 * Resolves the full path, or `null` when the old file is gone.
 */
export async function findByIdentity(
  path: string,
  key: string,
  exclude: readonly string[] = [],
  fs: QueueFs = nodeQueueFs,
): Promise<string | null> {
  const dir = dirname(path);
  const self = basename(path);
  const stem = basename(path, extname(path)).toLowerCase();
  let names: string[];
  try {
    names = await fs.readdir(dir);
  } catch (err) {
    if (isMissing(err)) return null;
    throw err;
  }
  const skip = new Set([self, ...exclude.map((p) => basename(p))]);
  const candidates = names.filter((n) => !skip.has(n));
  // Likely rotation targets first, so a big folder is rarely stat'ed in full.
  candidates.sort((a, b) => Number(!a.toLowerCase().startsWith(stem)) - Number(!b.toLowerCase().startsWith(stem)));
  for (const name of candidates) {
    const full = join(dir, name);
    try {
      const st = await fs.stat(full, { bigint: true });
      if (st.isFile() && identityKey(st) === key) return full;
    } catch {
      // Vanished or unreadable between readdir and stat: not our file.
    }
  }
  return null;
}
