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
import type { RpcResponseObject } from '../protocol/jsonrpc.js';
import { RawJson } from '../protocol/raw-json.js';
import { decimalLength, isDecimalInteger, writeDecimal } from '../protocol/decimal.js';

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
    const resultLength = bytesOfResult(single, true);
    if (resultLength >= 0) {
      const id = idOf(single);
      const bytes = RESPONSE_OVERHEAD + resultLength + idLength(id);
      if (bytes > maxBytes) return { tooLarge: bytes };
      const frame = Buffer.allocUnsafe(HEADER_BYTES + bytes);
      frame.writeUInt32BE(bytes, 0);
      writeResponse(frame, HEADER_BYTES, single.result as WrittenResult, id);
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
  // Per response: its serialised text, or its id (see idOf) when its result is written as bytes.
  const texts: Array<string | number> = [];
  const written: boolean[] = [];
  let bytes = 1 + answer.length; // brackets and commas
  for (const response of answer) {
    const resultLength = bytesOfResult(response, false);
    const text = resultLength >= 0 ? idOf(response) : serialise(response);
    bytes += (resultLength >= 0 ? RESPONSE_OVERHEAD + resultLength : 0) + idLength(text);
    if (bytes > maxBytes) return { tooLarge: bytes };
    texts.push(text);
    written.push(resultLength >= 0);
  }
  const frame = Buffer.allocUnsafe(HEADER_BYTES + bytes);
  frame.writeUInt32BE(bytes, 0);
  let off = HEADER_BYTES;
  frame[off++] = OPEN;
  for (let i = 0; i < answer.length; i++) {
    if (i > 0) frame[off++] = COMMA;
    const text = texts[i]!;
    off = written[i] ? writeResponse(frame, off, answer[i]!.result as WrittenResult, text) : off + frame.write(text as string, off, 'utf8');
  }
  frame[off] = CLOSE;
  return frame;
}

/** A result written into the frame as bytes: a responder's raw JSON, or one that writes itself. */
type WrittenResult = RawJson | SelfEncodingResult;

const RESULT_HEAD = Buffer.from('{"jsonrpc":"2.0","result":', 'latin1');
const ID_HEAD = Buffer.from(',"id":', 'latin1');
/** The bytes of a response around its result and its id's JSON. */
const RESPONSE_OVERHEAD = RESULT_HEAD.length + ID_HEAD.length + 1;

/**
 * Bytes of `response`'s result when it is written as bytes, else -1 (it is serialised):
 * one that writes itself, and a responder's raw JSON when `raw` (in a single answer; a
 * batch serialises raw results as values, as it always has).
 */
function bytesOfResult(response: RpcResponseObject, raw: boolean): number {
  if (response.error !== undefined) return -1;
  const result = response.result;
  if (result instanceof RawJson) return raw ? result.length : -1;
  return isSelfEncoding(result) ? result.jsonBytes() : -1;
}

/** A response's id as {@link writeResponse} takes it: a plain integer as it is, else its JSON text. */
const idOf = (response: RpcResponseObject): string | number => (isDecimalInteger(response.id) ? response.id : JSON.stringify(response.id));

/** Bytes of an id from {@link idOf}, or of a serialised response. */
const idLength = (id: string | number): number => (typeof id === 'number' ? decimalLength(id) : Buffer.byteLength(id, 'utf8'));

/**
 * `{"jsonrpc":"2.0","result":<result>,"id":<id>}` at `off`, like `JSON.stringify`; `id` is
 * its JSON text or a {@link isDecimalInteger} number. Returns the offset past it.
 */
function writeResponse(frame: Buffer, off: number, result: WrittenResult, id: string | number): number {
  // `set` for the fixed pieces: a native `write` per piece cost more than the rest.
  frame.set(RESULT_HEAD, off);
  off += RESULT_HEAD.length;
  off += result instanceof RawJson ? result.copyTo(frame, off) : result.writeJson(frame, off);
  frame.set(ID_HEAD, off);
  off += ID_HEAD.length;
  off = typeof id === 'number' ? writeDecimal(frame, off, id) : off + frame.write(id, off, 'utf8');
  frame[off++] = 0x7d; // }
  return off;
}
