/**
 * Serialises the answer to one frame: a single response, or a batch's array of them.
 *
 * Each response is serialised on its own and a batch is joined as bytes, so no answer
 * needs one JavaScript string of its whole size (V8 caps strings at about 512 MiB; a batch
 * of large `subscriptions` answers went past that and crashed the broker). The join stops
 * as soon as the frame would exceed what the connection may hold unsent: such an answer
 * could never be sent, and building it first would cost the memory the limit protects.
 */
import { HEADER_BYTES } from '../protocol/framing.js';
import type { RpcId, RpcResponseObject } from '../protocol/jsonrpc.js';
import { RawJson } from '../protocol/raw-json.js';

/** Serialise one response; must not throw (it answers -32603 instead). */
export type ResponseSerialiser = (response: RpcResponseObject) => string;

const OPEN = 0x5b; // [
const COMMA = 0x2c; // ,
const CLOSE = 0x5d; // ]

/**
 * The frame for `answer`, or the number of bytes it reached when it would be larger than
 * `maxBytes` (then nothing is sent and the caller closes the connection).
 */
export function encodeAnswerFrame(
  answer: RpcResponseObject | readonly RpcResponseObject[],
  maxBytes: number,
  serialise: ResponseSerialiser,
): Buffer | { tooLarge: number } {
  if (!Array.isArray(answer)) {
    const single = answer as RpcResponseObject;
    // A reply's result that is still the responder's JSON text goes out as those bytes.
    if (single.result instanceof RawJson) return encodeRawResult(single.id, single.result, maxBytes);
    const text = serialise(single);
    const bytes = Buffer.byteLength(text, 'utf8');
    if (bytes > maxBytes) return { tooLarge: bytes };
    const frame = Buffer.allocUnsafe(HEADER_BYTES + bytes);
    frame.writeUInt32BE(bytes, 0);
    frame.write(text, HEADER_BYTES, 'utf8');
    return frame;
  }
  const parts: Buffer[] = [];
  let bytes = 1 + answer.length; // brackets and commas
  for (const response of answer) {
    const part = Buffer.from(serialise(response), 'utf8');
    bytes += part.length;
    if (bytes > maxBytes) return { tooLarge: bytes };
    parts.push(part);
  }
  const frame = Buffer.allocUnsafe(HEADER_BYTES + bytes);
  frame.writeUInt32BE(bytes, 0);
  let off = HEADER_BYTES;
  frame[off++] = OPEN;
  parts.forEach((part, i) => {
    if (i > 0) frame[off++] = COMMA;
    off += part.copy(frame, off);
  });
  frame[off] = CLOSE;
  return frame;
}

/** `{"jsonrpc":"2.0","result":<raw>,"id":<id>}` as a frame, like `JSON.stringify` would write it. */
function encodeRawResult(id: RpcId, result: RawJson, maxBytes: number): Buffer | { tooLarge: number } {
  const head = '{"jsonrpc":"2.0","result":';
  const tail = `,"id":${JSON.stringify(id)}}`;
  const bytes = head.length + result.length + Buffer.byteLength(tail, 'utf8');
  if (bytes > maxBytes) return { tooLarge: bytes };
  const frame = Buffer.allocUnsafe(HEADER_BYTES + bytes);
  frame.writeUInt32BE(bytes, 0);
  let off = HEADER_BYTES + frame.write(head, HEADER_BYTES, 'latin1');
  off += result.copyTo(frame, off);
  frame.write(tail, off, 'utf8');
  return frame;
}
