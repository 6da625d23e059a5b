/**
 * Frames that are not JSON are answered -32700 and the connection stays open (the
 * contract). An AutoHotkey script with a broken JSON builder never reads that answer, so
 * the operator must learn of it from the log: the first few per connection are WARNINGs
 * naming the client and showing what it sent; then one WARNING says the rest go to
 * debug, so a script that sends nothing but broken frames cannot flood the log.
 */
import type { Logger } from '../log/logger.js';
import { safeExcerpt } from '../protocol/excerpt.js';
import type { Connection } from './connection.js';

/** Unparsable frames logged at warning per connection before the rest go to debug. */
export const LOUD_BAD_FRAMES = 3;

/** Logs unparsable frames, loudly for the first few of each connection. */
export class BadFrameLog {
  private readonly counts = new WeakMap<Connection, number>();

  constructor(private readonly log: Logger) {}

  /**
   * One frame that did not parse.
   * @param bytes the frame's length
   * @param text the frame as decoded (empty for an empty frame or one that could not be decoded)
   * @param error what the parser said
   */
  report(conn: Connection, bytes: number, text: string, error: unknown): void {
    const count = (this.counts.get(conn) ?? 0) + 1;
    this.counts.set(conn, count);
    const fields = {
      conn: conn.id,
      client_id: conn.clientId,
      remote: conn.remote,
      bytes,
      excerpt: safeExcerpt(text),
      // V8 quotes the input in its message: the same care as for the excerpt.
      error: safeExcerpt(error instanceof Error ? error.message : String(error), 200),
    };
    if (count <= LOUD_BAD_FRAMES) {
      this.log.warning('frame is not JSON; answered -32700 (parse error)', fields);
      return;
    }
    if (count === LOUD_BAD_FRAMES + 1) {
      this.log.warning('more frames that are not JSON on this connection; further ones are logged at debug only', {
        conn: conn.id,
        client_id: conn.clientId,
        remote: conn.remote,
        logged: LOUD_BAD_FRAMES,
      });
    }
    this.log.debug('frame is not JSON; answered -32700 (parse error)', fields);
  }
}
