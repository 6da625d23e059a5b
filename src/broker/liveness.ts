/**
 * Timers that close connections which stopped living up to the protocol: no `connect`
 * within `connection_timeout`, or silence for `heartbeat_timeout` after the client
 * started pinging. Timers re-arm lazily from `lastActivity`, so traffic costs only a
 * `Date.now()` per chunk rather than a timer reset per frame.
 */
import type { Connection } from './connection.js';

function arm(conn: Connection, ms: number, fn: () => void): void {
  const t = setTimeout(() => {
    conn.timers.delete(t);
    fn();
  }, ms);
  t.unref();
  conn.timers.add(t);
}

/** Close `conn` if it has not sent `connect` after `timeoutMs`. */
export function watchConnectTimeout(conn: Connection, timeoutMs: number, onTimeout: () => void): void {
  arm(conn, timeoutMs, () => {
    if (!conn.session && !conn.isClosing) onTimeout();
  });
}

/** Close `conn` once it has been silent for `timeoutMs`. */
export function watchHeartbeat(conn: Connection, timeoutMs: number, onTimeout: () => void): void {
  const check = (): void => {
    if (conn.isClosing) return;
    const idle = Date.now() - conn.lastActivity;
    if (idle >= timeoutMs) onTimeout();
    else arm(conn, timeoutMs - idle, check);
  };
  arm(conn, timeoutMs, check);
}
