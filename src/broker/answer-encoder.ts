/**
 * Serialises the answer to one frame: a single response, or a batch's array of them.
 *
 * Each response is serialised on its own and a batch is joined as bytes, so no answer
 * needs one JavaScript string of its whole size (V8 caps strings at about 512 MiB; a batch
 * of large `subscriptions` answers went past that and crashed the broker). The join stops
 * as soon as the frame would exceed what the connection may hold unsent: such an answer
 * could never be sent, and building it first would cost the memory the limit protects.
 * A result that writes its own bytes (a publish's answer: its message id goes from the
 * message's sequence number to bytes with no string) is not serialised at all; a batch
 * of 500 publishes is answered with one allocation.
 */
import { HEADER_BYTES } from '../protocol/framing.js';
import type { RpcId, RpcResponseObject } from '../protocol/jsonrpc.js';
import { RawJson } from '../protocol/raw-json.js';

/**
 * A result that writes its JSON itself, byte for byte what `JSON.stringify` would make
 * of it.
 */
export interface SelfEncodingResult {
  /** Bytes of its JSON, or -1 when it cannot write itself (then it is serialised). */
  jsonBytes(): number;
  /** Write its JSON at `at`; returns the bytes written ({@link jsonBytes}). */
  writeJson(target: Buffer, at: number): number;
}

const isSelfEncoding = (result: unknown): result is SelfEncodingResult =>
  typeof result === 'object' && result !== null && typeof (result as Partial<SelfEncodingResult>).writeJson === 'function';

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
    const selfBytes = selfEncodedBytes(single);
    if (selfBytes >= 0) {
      const idJson = JSON.stringify(single.id);
      const bytes = selfBytes + Buffer.byteLength(idJson, 'utf8');
      if (bytes > maxBytes) return { tooLarge: bytes };
      const frame = Buffer.allocUnsafe(HEADER_BYTES + bytes);
      frame.writeUInt32BE(bytes, 0);
      writeSelfEncoded(frame, HEADER_BYTES, single.result as SelfEncodingResult, idJson);
      return frame;
    }
    const text = serialise(single);
    const bytes = Buffer.byteLength(text, 'utf8');
    if (bytes > maxBytes) return { tooLarge: bytes };
    const frame = Buffer.allocUnsafe(HEADER_BYTES + bytes);
    frame.writeUInt32BE(bytes, 0);
    frame.write(text, HEADER_BYTES, 'utf8');
    return frame;
  }
  const texts: string[] = [];
  const sizes: number[] = [];
  let bytes = 1 + answer.length; // brackets and commas
  for (const response of answer) {
    const selfBytes = selfEncodedBytes(response);
    // A self-encoding response keeps its id's JSON as its text.
    const text = selfBytes >= 0 ? JSON.stringify(response.id) : serialise(response);
    const size = selfBytes >= 0 ? selfBytes + Buffer.byteLength(text, 'utf8') : Buffer.byteLength(text, 'utf8');
    bytes += size;
    if (bytes > maxBytes) return { tooLarge: bytes };
    texts.push(text);
    sizes.push(selfBytes);
  }
  const frame = Buffer.allocUnsafe(HEADER_BYTES + bytes);
  frame.writeUInt32BE(bytes, 0);
  let off = HEADER_BYTES;
  frame[off++] = OPEN;
  for (let i = 0; i < answer.length; i++) {
    if (i > 0) frame[off++] = COMMA;
    off = sizes[i]! >= 0 ? writeSelfEncoded(frame, off, answer[i]!.result as SelfEncodingResult, texts[i]!) : off + frame.write(texts[i]!, off, 'utf8');
  }
  frame[off] = CLOSE;
  return frame;
}

const RESULT_HEAD = '{"jsonrpc":"2.0","result":';
const ID_HEAD = ',"id":';

/** Bytes of `response` without its id's JSON when its result writes itself, else -1. */
function selfEncodedBytes(response: RpcResponseObject): number {
  if (response.error !== undefined || !isSelfEncoding(response.result)) return -1;
  const n = response.result.jsonBytes();
  return n < 0 ? -1 : RESULT_HEAD.length + n + ID_HEAD.length + 1;
}

/** `{"jsonrpc":"2.0","result":<result>,"id":<idJson>}` at `off`; returns the offset past it. */
function writeSelfEncoded(frame: Buffer, off: number, result: SelfEncodingResult, idJson: string): number {
  off += frame.write(RESULT_HEAD, off, 'latin1');
  off += result.writeJson(frame, off);
  off += frame.write(ID_HEAD, off, 'latin1');
  off += frame.write(idJson, off, 'utf8');
  frame[off++] = 0x7d; // }
  return off;
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
