/**
 * Compaction's file work: write the live state as a snapshot, then remove what it
 * replaces. The journal captures the state and rotates segments in a commit-queue
 * barrier (see journal.ts); appends go on into the new segment while this runs.
 *
 * Crash safety rests on the order: the snapshot is written to a temp file, fsynced,
 * renamed into place and the directory fsynced; only then are older segments and
 * snapshots removed. A crash before the rename leaves the old files complete (the temp
 * file is deleted on the next open); a crash after it leaves files the next open knows
 * to be obsolete. The snapshot is fsynced whatever the policy: removing the segments it
 * replaces would otherwise turn a power loss into the loss of everything.
 */
import { join } from 'node:path';
import type { Logger } from '../../log/logger.js';
import { persistenceError } from './errors.js';
import { classify, snapshotName, TEMP_SUFFIX } from './file-names.js';
import type { JournalFileHandle, JournalFs } from './journal-fs.js';
import { encodeRecord } from './record-codec.js';
import { FORMAT_VERSION, type JournalRecord } from './records.js';

/** Bytes encoded before each write: small enough that publishing never waits long for the event loop. */
const CHUNK_BYTES = 256 * 1024;

/** A snapshot that is in place and durable. */
export interface WrittenSnapshot {
  name: string;
  bytes: number;
  records: number;
}

/**
 * Write `records` as the snapshot for segments below `base`.
 * @throws PersistenceError (the temp file is removed; nothing else changed)
 */
export async function writeSnapshot(fs: JournalFs, dir: string, base: number, records: Iterable<JournalRecord>, now: number, log: Logger): Promise<WrittenSnapshot> {
  const name = snapshotName(base);
  const path = join(dir, name);
  const temp = path + TEMP_SUFFIX;
  const handle = await openTemp(fs, temp);
  let pos = 0;
  let count = 0;
  try {
    let chunk: Buffer[] = [];
    let chunkBytes = 0;
    const add = async (buf: Buffer, force = false): Promise<void> => {
      chunk.push(buf);
      chunkBytes += buf.length;
      if (chunkBytes < CHUNK_BYTES && !force) return;
      const data = Buffer.concat(chunk, chunkBytes);
      chunk = [];
      chunkBytes = 0;
      for (let done = 0; done < data.length; ) {
        const { bytesWritten } = await handle.write(data, done, data.length - done, pos + done);
        if (bytesWritten <= 0) throw Object.assign(new Error('the write made no progress'), { code: 'EIO' });
        done += bytesWritten;
      }
      pos += data.length;
    };
    await add(encodeRecord({ type: 'snapshot', format: FORMAT_VERSION, base, createdAt: now }));
    for (const r of records) {
      await add(encodeRecord(r));
      count++;
    }
    await add(encodeRecord({ type: 'snapshot_end', records: count }), true);
    await handle.sync();
  } catch (err) {
    await discardTemp(fs, handle, temp, log);
    throw persistenceError(err, 'writing snapshot', temp);
  }
  try {
    await handle.close();
    await fs.rename(temp, path);
  } catch (err) {
    await fs.unlink(temp).catch((e: unknown) => log.warning('cannot remove an unfinished snapshot', { file: temp, error: e }));
    throw persistenceError(err, 'putting in place snapshot', path);
  }
  try {
    await fs.syncDir(dir);
  } catch (err) {
    // The rename may not be durable yet, so nothing may be removed on its strength.
    throw persistenceError(err, 'syncing the directory after writing', path);
  }
  return { name, bytes: pos, records: count };
}

async function openTemp(fs: JournalFs, temp: string): Promise<JournalFileHandle> {
  try {
    return await fs.open(temp, 'wx');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw persistenceError(err, 'creating snapshot', temp);
  }
  // Left by an earlier attempt whose clean-up failed: it is ours to replace.
  try {
    await fs.unlink(temp);
    return await fs.open(temp, 'wx');
  } catch (err) {
    throw persistenceError(err, 'creating snapshot', temp);
  }
}

async function discardTemp(fs: JournalFs, handle: JournalFileHandle, temp: string, log: Logger): Promise<void> {
  // The write error is the one the caller gets; clean-up failures are logged beside it.
  await handle.close().catch((e: unknown) => log.warning('cannot close an unfinished snapshot', { file: temp, error: e }));
  await fs.unlink(temp).catch((e: unknown) => log.warning('cannot remove an unfinished snapshot; the next start removes it', { file: temp, error: e }));
}

/**
 * Remove the segments and snapshots numbered below `base` among `names`. Failures are
 * logged and skipped: the files are obsolete, and the next compaction or start retries.
 * @returns the names removed
 */
export async function removeObsolete(fs: JournalFs, dir: string, base: number, names: Iterable<string>, log: Logger): Promise<string[]> {
  const listing = classify([...names]);
  const removed: string[] = [];
  for (const f of [...listing.segments, ...listing.snapshots]) {
    if (f.seq >= base) continue;
    try {
      await fs.unlink(join(dir, f.name));
      removed.push(f.name);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') removed.push(f.name);
      else log.warning('cannot remove a file the new snapshot replaces; the next compaction tries again', { file: join(dir, f.name), error: err });
    }
  }
  if (removed.length > 0) {
    await fs.syncDir(dir).catch((err: unknown) => log.warning('cannot sync the directory after removing old journal files', { dir, error: err }));
  }
  return removed;
}
