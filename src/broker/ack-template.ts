/**
 * A connection's ack template: the bytes before the message id of the last plain `ack`
 * notification it sent. A client acks every QoS 1 delivery with the same envelope
 * (`{"jsonrpc":"2.0","method":"ack","params":{"message_id":"` ... `"}}`; Python's has a
 * space after each `:` and `,`), so a frame that starts with exactly those bytes and ends
 * with `"}}` is the same call for another message: only the id needs reading. Before, each
 * ack took the full scan and a method call's context, about half of what it cost the broker.
 *
 * Learned only from a frame the full scan accepted (call-scan.ts) as an `ack` notification
 * whose params are `message_id` alone, written without escapes. An id is taken from a
 * matching frame only when it is 1-128 characters of `[0-9A-Za-z._:-]`, which JSON writes
 * as they are: any other frame takes the full path.
 */
import type { RpcCall } from '../protocol/jsonrpc.js';
import { FramePrefix } from './frame-prefix.js';

const QUOTE = 0x22;
const CLOSE_OBJECT = 0x7d;
/** Longer envelopes are not kept (a client that pads its frames). */
const MAX_PREFIX_BYTES = 256;
const MAX_ID_CHARS = 128;

/** Bytes an id may have to be taken from a templated frame: they need no escape and no decoding. */
const ID_BYTE = new Uint8Array(256);
for (const c of '0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ._:-') ID_BYTE[c.charCodeAt(0)] = 1;

/** True when `buf[start..end)` is 1-128 id bytes. */
function isPlainId(buf: Buffer, start: number, end: number): boolean {
  if (end <= start || end - start > MAX_ID_CHARS) return false;
  for (let i = start; i < end; i++) if (ID_BYTE[buf[i]!] !== 1) return false;
  return true;
}

/** The frame ends with `"}}`: the id's closing quote, then params and the call closed. */
const endsLikeAck = (buf: Buffer, end: number): boolean => buf[end - 1] === CLOSE_OBJECT && buf[end - 2] === CLOSE_OBJECT && buf[end - 3] === QUOTE;

export class AckTemplate {
  private constructor(private readonly prefix: FramePrefix) {}

  /**
   * The template of `call`, found in `buf[start..end)` by the full scan, or `null` when it
   * is not an `ack` notification of `message_id` alone, a plain id closed by exactly `"}}`.
   */
  static learn(call: RpcCall, buf: Buffer, start: number, end: number): AckTemplate | null {
    if (call.method !== 'ack' || call.id !== undefined || call.params === undefined || Array.isArray(call.params)) return null;
    const keys = Object.keys(call.params);
    const id = call.params.message_id;
    if (keys.length !== 1 || typeof id !== 'string' || !endsLikeAck(buf, end)) return null;
    const idStart = end - 3 - id.length;
    if (idStart - start > MAX_PREFIX_BYTES || buf[idStart - 1] !== QUOTE || !isPlainId(buf, idStart, end - 3)) return null;
    // The scan's string was these bytes, not an escaped spelling of them.
    if (buf.toString('latin1', idStart, end - 3) !== id) return null;
    return new AckTemplate(new FramePrefix(Buffer.from(buf.subarray(start, idStart))));
  }

  /**
   * Where the message id that the frame `buf[start..end)` acks starts when the frame
   * matches this template, -1 otherwise. The id runs to {@link ackedIdEnd}; its bytes are
   * plain (1-128 of `[0-9A-Za-z._:-]`), so read as Latin-1 they are the id.
   */
  idStart(buf: Buffer, start: number, end: number): number {
    const prefix = this.prefix;
    const idStart = start + prefix.length;
    const idEnd = ackedIdEnd(end);
    if (idEnd <= idStart || !endsLikeAck(buf, end) || !prefix.matches(buf, start) || !isPlainId(buf, idStart, idEnd)) return -1;
    return idStart;
  }
}

/** Where the id ends in a templated ack frame that ends at `end`: before its `"}}`. */
export const ackedIdEnd = (end: number): number => end - 3;
