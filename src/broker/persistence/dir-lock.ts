/**
 * One broker per persistence directory. Two writers on one journal would interleave
 * records and each compact the other's segments away, so the directory is locked with a
 * file, `journal.lock`, created exclusively (O_EXCL, CREATE_NEW on Windows) and holding
 * the owner's pid, host and start time.
 *
 * A broker killed with SIGKILL or TerminateProcess leaves its lock behind. Such a lock is
 * stale when its pid no longer runs (or is a zombie), or when it names this very process
 * but this process does not hold it (a container restarts the broker as pid 1 every
 * time). A stale lock is taken over with a warning. A lock from another host cannot be
 * checked and is refused, saying so.
 *
 * Takeover renames the stale file away before creating a new one: of two brokers that
 * find the same stale lock, only one rename succeeds, and one that moved a fresh lock by
 * mistake (the other won meanwhile) sees a content it did not judge and puts it back.
 */
import { readFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { join, resolve } from 'node:path';
import type { Logger } from '../../log/logger.js';
import { isoUtc } from '../../protocol/timestamp.js';
import { nodeCrypto } from '../crypto-on-demand.js';
import { PersistenceError, persistenceError } from './errors.js';
import { LOCK_FILE } from './file-names.js';
import type { JournalFileHandle, JournalFs } from './journal-fs.js';

/** What a lock file says about its owner. */
export interface LockOwner {
  pid: number;
  hostname: string;
  /** ISO time the owner took the lock. */
  startedAt: string;
  /** Random per acquisition: release removes the file only if it is still ours. */
  token: string;
}

/** Lock files this process holds, by resolved path: a second open here refuses at once. */
const held = new Set<string>();

/** Windows paths are case-insensitive: one directory must map to one key. */
const keyOf = (path: string): string => (process.platform === 'win32' ? resolve(path).toLowerCase() : resolve(path));

/** True while `pid` runs. A zombie (Linux: ended, not yet reaped) does not count. */
export function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ESRCH') return false;
    if (code === 'EPERM') return true; // it exists, owned by another user
    throw err;
  }
  if (process.platform !== 'linux') return true;
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return !stat.slice(stat.lastIndexOf(')') + 2).startsWith('Z');
  } catch {
    return false; // kill(0) saw it a moment ago and /proc no longer has it: it has just ended
  }
}

function parseOwner(text: string): LockOwner | null {
  try {
    const v = JSON.parse(text) as Partial<LockOwner> | null;
    if (!v || !Number.isSafeInteger(v.pid) || typeof v.hostname !== 'string' || typeof v.token !== 'string') return null;
    return { pid: v.pid!, hostname: v.hostname, startedAt: typeof v.startedAt === 'string' ? v.startedAt : 'an unknown time', token: v.token };
  } catch {
    return null;
  }
}

const isCode = (err: unknown, code: string): boolean => (err as NodeJS.ErrnoException | null)?.code === code;

/** What {@link DirLock.acquire} works with. */
export interface DirLockOptions {
  fs: JournalFs;
  log: Logger;
}

/** A held directory lock; {@link release} gives it back. */
export class DirLock {
  private released = false;

  private constructor(
    readonly path: string,
    readonly owner: LockOwner,
    private readonly fs: JournalFs,
    private readonly log: Logger,
  ) {}

  /**
   * Take the lock of `dir`, taking over a stale one.
   * @throws PersistenceError `LOCKED` naming the owner's pid when another live process
   *   (or this one) holds it; a system code when the file cannot be created
   */
  static async acquire(dir: string, options: DirLockOptions): Promise<DirLock> {
    const { fs, log } = options;
    const path = join(dir, LOCK_FILE);
    const key = keyOf(path);
    if (held.has(key)) {
      throw new PersistenceError('LOCKED', `persistence directory ${dir} is already open in this process (pid ${process.pid})`, { path });
    }
    const owner: LockOwner = { pid: process.pid, hostname: hostname(), startedAt: isoUtc(Date.now()), token: nodeCrypto().randomUUID() };
    // Each round either creates the lock, refuses, or removes one stale lock; a few rounds
    // cover a competitor taking over at the same moment.
    for (let round = 0; round < 8; round++) {
      if (await tryCreate(fs, path, owner, log)) {
        held.add(key);
        return new DirLock(path, owner, fs, log);
      }
      const text = await readOrNull(fs, path);
      if (text === null) continue; // released between our create and our read
      const found = parseOwner(text);
      if (!found) {
        // Created but not yet written by its owner, or the owner died in between.
        if (round < 4) {
          await new Promise((r) => setTimeout(r, 25 * (round + 1)));
          continue;
        }
        log.warning('persistence lock file is unreadable; taking it over', { file: path, content: text.slice(0, 80) });
      } else {
        const reason = liveOwnerReason(found, dir, path);
        if (reason) throw new PersistenceError('LOCKED', reason, { path });
        log.warning('taking over the persistence lock of a broker that is no longer running', {
          file: path, stale_pid: found.pid, since: found.startedAt,
        });
      }
      await removeStale(fs, path, text);
    }
    throw new PersistenceError('LOCKED', `persistence directory ${dir}: could not take ${path}; other brokers keep replacing it`, { path });
  }

  /** Remove the lock file if it is still ours. Idempotent. */
  async release(): Promise<void> {
    if (this.released) return;
    this.released = true;
    held.delete(keyOf(this.path));
    const text = await readOrNull(this.fs, this.path);
    if (text === null || parseOwner(text)?.token !== this.owner.token) {
      this.log.warning('persistence lock file was replaced or removed while this broker held it', { file: this.path });
      return;
    }
    try {
      await this.fs.unlink(this.path);
    } catch (err) {
      throw persistenceError(err, 'removing the lock file', this.path);
    }
  }
}

/** Why `owner` still holds the lock, or null when it is stale. */
function liveOwnerReason(owner: LockOwner, dir: string, path: string): string | null {
  if (owner.hostname !== hostname()) {
    return `persistence directory ${dir} is locked by pid ${owner.pid} on host ${owner.hostname} (since ${owner.startedAt}); ` +
      `if no broker runs there any more, delete ${path}`;
  }
  if (owner.pid === process.pid) return null; // not in `held`: a previous process that had our pid
  if (!processAlive(owner.pid)) return null;
  return `persistence directory ${dir} is in use by another broker: pid ${owner.pid} holds ${path} (since ${owner.startedAt}); ` +
    'stop that broker or choose another directory';
}

/** Create the lock file with `owner` inside; false when it already exists. */
async function tryCreate(fs: JournalFs, path: string, owner: LockOwner, log: Logger): Promise<boolean> {
  let handle: JournalFileHandle;
  try {
    handle = await fs.open(path, 'wx');
  } catch (err) {
    if (isCode(err, 'EEXIST')) return false;
    throw persistenceError(err, 'creating the lock file', path);
  }
  const body = Buffer.from(JSON.stringify(owner) + '\n');
  try {
    await handle.write(body, 0, body.length, 0);
    await handle.close();
  } catch (err) {
    // An empty lock would look "being written" to the next broker for a moment: remove it.
    // The write error is the one to report; a failure to clean up is logged beside it.
    await handle.close().catch((e: unknown) => log.debug('closing a lock file that could not be written failed', { file: path, error: e }));
    await fs.unlink(path).catch((e: unknown) => {
      log.warning('cannot remove a lock file that could not be written; the next start takes it over', { file: path, error: e });
    });
    throw persistenceError(err, 'writing the lock file', path);
  }
  return true;
}

async function readOrNull(fs: JournalFs, path: string): Promise<string | null> {
  try {
    return (await fs.readFile(path)).toString('utf8');
  } catch (err) {
    if (isCode(err, 'ENOENT')) return null;
    throw persistenceError(err, 'reading the lock file', path);
  }
}

/** Move the stale lock (content `judged`) out of the way, restoring it if it changed meanwhile. */
async function removeStale(fs: JournalFs, path: string, judged: string): Promise<void> {
  const aside = `${path}.stale-${process.pid}-${nodeCrypto().randomUUID().slice(0, 8)}`;
  try {
    await fs.rename(path, aside);
  } catch (err) {
    if (isCode(err, 'ENOENT')) return; // another broker moved it first
    throw persistenceError(err, 'moving a stale lock file aside', path);
  }
  const moved = await readOrNull(fs, aside);
  try {
    if (moved !== null && moved !== judged) await fs.rename(aside, path); // a live competitor's lock: put it back
    else await fs.unlink(aside);
  } catch (err) {
    throw persistenceError(err, 'restoring or removing a moved lock file', aside);
  }
}
