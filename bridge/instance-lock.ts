/**
 * One `bridge up` per client id and broker address on this machine, decided before
 * anything asks the broker. The broker check (owner-probe.ts) sees only bridges that have
 * already connected: two copies started within the same second (the logon launcher and a
 * double-click on it during a slow logon) would both pass it, and then take the client id
 * from each other on every reconnect. A lock file taken exclusively settles it: the
 * second copy finds the first one's pid there.
 *
 * The lock is the persistence journal's (`DirLock`: exclusive create, pid and host inside,
 * a dead owner's lock taken over), in a folder of the user's temporary directory named
 * after the id and address.
 */
import { mkdirSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { DirLock } from '../src/broker/persistence/dir-lock.js';
import { PersistenceError } from '../src/broker/persistence/errors.js';
import { LOCK_FILE } from '../src/broker/persistence/file-names.js';
import { nodeJournalFs } from '../src/broker/persistence/journal-fs.js';
import type { Logger } from '../src/log/logger.js';

/** Another `bridge up` of this machine holds the id and address. */
export class InstanceRunningError extends Error {
  override name = 'InstanceRunningError';
  readonly code = 'instance_running';

  constructor(
    readonly clientId: string,
    readonly pid: number | undefined,
  ) {
    super(`another bridge up runs on this computer as "${clientId}"${pid === undefined ? '' : ` (pid ${pid})`}`);
  }
}

/** The lock's folder for `clientId` at host:port; every character a file name could not take is encoded. */
export function instanceLockDir(clientId: string, host: string, port: number, base = tmpdir()): string {
  const safe = (s: string): string => s.toLowerCase().replace(/[^a-z0-9-]/g, (c) => `_${c.codePointAt(0)!.toString(16)}_`);
  return path.join(base, 'ahk-bridge', `up-${safe(clientId)}-${safe(host)}-${port}`);
}

/** Take the lock, or throw InstanceRunningError naming the holder's pid. */
export async function lockInstance(clientId: string, host: string, port: number, log: Logger, base?: string): Promise<DirLock> {
  const dir = instanceLockDir(clientId, host, port, base);
  mkdirSync(dir, { recursive: true });
  try {
    return await DirLock.acquire(dir, { fs: nodeJournalFs, log });
  } catch (err) {
    if (err instanceof PersistenceError && err.code === 'LOCKED') throw new InstanceRunningError(clientId, holderPid(dir));
    throw err;
  }
}

function holderPid(dir: string): number | undefined {
  try {
    const pid = (JSON.parse(readFileSync(path.join(dir, LOCK_FILE), 'utf8')) as { pid?: unknown }).pid;
    return typeof pid === 'number' ? pid : undefined;
  } catch {
    return undefined; // released meanwhile: the message goes without a pid
  }
}
