/**
 * One `bridge up` per client id and broker address for this user on this computer,
 * decided before anything asks the broker. The broker check (owner-probe.ts) sees only
 * bridges that have already connected: two copies started within the same second (the
 * logon launcher and a double-click on it during a slow logon) would both pass it, and
 * then take the client id from each other on every reconnect.
 *
 * The lock is a local server: a named pipe on Windows, an abstract socket on Linux (a
 * socket file elsewhere). Only one process can listen on a name, and the operating system
 * frees it when that process ends, however it ends: a bridge killed at logoff or shutdown
 * (which runs no stop code) leaves nothing stale for the next logon to misjudge. A second
 * copy that cannot listen asks the holder for its pid, to name it.
 */
import { createHash } from 'node:crypto';
import { rmSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';

/** Another `bridge up` of this user on this computer holds the id and address. */
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

/** A held lock; `release` frees it (ending the process frees it too). */
export interface InstanceLock {
  release(): Promise<void>;
}

const LOOPBACK = new Set(['localhost', '127.0.0.1', '::1', '[::1]']);

/**
 * The lock's name for this user, `clientId` and host:port. Hashed: ids and hosts may hold
 * any character, and loopback spellings are one broker. `BRIDGE_LOCK_SCOPE` is mixed in
 * when set: the tests give a process another scope to stand for another computer.
 */
export function instanceLockName(clientId: string, host: string, port: number, platform: NodeJS.Platform = process.platform): string {
  const where = LOOPBACK.has(host.toLowerCase()) ? 'loopback' : host.toLowerCase();
  const user = os.userInfo().username;
  const scope = process.env.BRIDGE_LOCK_SCOPE ?? '';
  const key = createHash('sha256').update(`${user}\0${scope}\0${clientId}\0${where}\0${port}`).digest('hex').slice(0, 24);
  if (platform === 'win32') return `\\\\.\\pipe\\ahk-bridge-up-${key}`;
  if (platform === 'linux') return `\0ahk-bridge-up-${key}`;
  return path.join(os.tmpdir(), `ahk-bridge-up-${key}.sock`);
}

/** Take the lock, or throw InstanceRunningError naming the holder's pid. */
export async function lockInstance(clientId: string, host: string, port: number): Promise<InstanceLock> {
  const name = instanceLockName(clientId, host, port);
  // Ask first: a holder that answers is running. Listening alone would do on Windows and
  // Linux (a second listener gets EADDRINUSE), but not under Wine, whose named pipes
  // accept a second server on the same name.
  const answering = await holderPid(name);
  if (answering !== null) throw new InstanceRunningError(clientId, answering);
  for (let attempt = 0; ; attempt++) {
    const server = net.createServer((socket) => socket.end(JSON.stringify({ pid: process.pid })));
    // A socket file left by a crash (only where there are socket files) is stale when
    // nobody answers on it: remove it once and listen again.
    try {
      await listen(server, name);
      // The lock must not keep a finished bridge alive.
      server.unref();
      return { release: () => new Promise<void>((resolve) => server.close(() => resolve())) };
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EADDRINUSE') throw err;
      const pid = await holderPid(name);
      if (pid === null && attempt === 0 && !name.startsWith('\\\\') && !name.startsWith('\0')) {
        rmSync(name, { force: true });
        continue;
      }
      throw new InstanceRunningError(clientId, pid ?? undefined);
    }
  }
}

function listen(server: net.Server, name: string): Promise<void> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(name, () => {
      server.off('error', reject);
      resolve();
    });
  });
}

/** The holder's pid, from what it answers; null when nobody answers within 2 s. */
function holderPid(name: string): Promise<number | null> {
  return new Promise((resolve) => {
    let text = '';
    const socket = net.connect(name);
    const timer = setTimeout(() => socket.destroy(), 2000);
    socket.setEncoding('utf8');
    socket.on('data', (chunk: string) => (text += chunk));
    socket.on('error', () => undefined); // ends in 'close', which answers
    socket.on('close', () => {
      clearTimeout(timer);
      try {
        const pid = (JSON.parse(text) as { pid?: unknown }).pid;
        resolve(typeof pid === 'number' ? pid : null);
      } catch {
        resolve(null);
      }
    });
  });
}
