/**
 * Framing of journal and snapshot files: every record is
 *
 *   [u32 LE body length][u32 LE CRC-32 of the length bytes and the body][body: UTF-8 JSON]
 *
 * A crash mid-write leaves a record whose length runs past the end of the file, or whose
 * CRC does not match (a sector written only in part, zeros where a file system extended
 * the file but never wrote the data). Decoding stops at the first such record: nothing
 * after it can be framed with confidence, and everything before it is whole.
 */
import { crc32 } from 'node:zlib';
import { RawJson } from '../../protocol/raw-json.js';
import { valueSpan } from '../../protocol/value-span.js';
import { parseRecord, recordText, type FileRecord } from './records.js';

/** Bytes before each body. */
export const HEADER_BYTES = 8;
/**
 * Largest body accepted when reading. Far above any record the broker writes (a message
 * is at most `max_message_size`), so a larger length can only be damage.
 */
export const MAX_BODY_BYTES = 256 * 1024 * 1024;

/** One framed record: header and body, ready to write. */
export function frameBody(body: Buffer): Buffer {
  const out = Buffer.allocUnsafe(HEADER_BYTES + body.length);
  out.writeUInt32LE(body.length, 0);
  body.copy(out, HEADER_BYTES);
  out.writeUInt32LE(checksum(out, body.length), 4);
  return out;
}

function checksum(frame: Buffer, bodyLength: number): number {
  return crc32(frame.subarray(HEADER_BYTES, HEADER_BYTES + bodyLength), crc32(frame.subarray(0, 4)));
}

/**
 * Serialise and frame a record.
 * @throws TypeError when the record cannot be turned into JSON (a cycle, a BigInt);
 *   RangeError when it is larger than {@link MAX_BODY_BYTES}, which recovery would
 *   take for damage (dropping it and everything after it)
 */
export function encodeRecord(record: FileRecord): Buffer {
  const body = Buffer.from(recordText(record), 'utf8');
  if (body.length > MAX_BODY_BYTES) throw new RangeError(`record of ${body.length} bytes is larger than the ${MAX_BODY_BYTES} a journal record may hold`);
  return frameBody(body);
}

/** Where and why decoding stopped before the end of the data. */
export interface Damage {
  /** Offset of the first byte not accepted: the start of the bad record. */
  offset: number;
  /** Bytes from `offset` to the end of the data. */
  bytesDropped: number;
  reason: string;
}

/** A decoded record and its place in the file. */
export interface DecodedRecord {
  record: FileRecord;
  offset: number;
  /** Framed size (header + body). */
  bytes: number;
}

/** What {@link decodeRecords} found. */
export interface DecodeResult {
  records: DecodedRecord[];
  /** Length of the whole prefix: the offset after the last good record. */
  validBytes: number;
  /** Why decoding stopped early; `null` when the data ended on a record boundary. */
  damage: Damage | null;
  /**
   * Records whose frame is intact but whose JSON is not a record this version knows,
   * skipped one by one (the framing around them is still sound).
   */
  skipped: { offset: number; reason: string }[];
}

/**
 * The payload of the message in the record `frame`, as the text it was stored in: its
 * own copy, not a view that would hold the file's bytes.
 */
function storedPayload(frame: Buffer): RawJson {
  const span = valueSpan(frame, HEADER_BYTES, frame.length, ['message', 'payload']);
  // parseRecord asks only for a payload JSON.parse found there.
  if (span === null) throw new Error('a stored payload that JSON.parse read was not found in its record');
  const bytes = Buffer.from(frame.subarray(span[0], span[1]));
  return new RawJson(bytes, 0, bytes.length, false);
}

/** Decode every whole record of `data`, stopping at the first damaged one. */
export function decodeRecords(data: Buffer): DecodeResult {
  const records: DecodedRecord[] = [];
  const skipped: DecodeResult['skipped'] = [];
  let pos = 0;
  const stop = (reason: string): DecodeResult => ({ records, validBytes: pos, damage: { offset: pos, bytesDropped: data.length - pos, reason }, skipped });
  while (pos < data.length) {
    if (data.length - pos < HEADER_BYTES) return stop('torn record header');
    const length = data.readUInt32LE(pos);
    if (length === 0 || length > MAX_BODY_BYTES) return stop(`impossible record length ${length}`);
    if (data.length - pos - HEADER_BYTES < length) return stop('torn record (shorter than its length)');
    const frame = data.subarray(pos, pos + HEADER_BYTES + length);
    if (checksum(frame, length) !== data.readUInt32LE(pos + 4)) return stop('checksum mismatch');
    const bytes = HEADER_BYTES + length;
    let parsed: FileRecord | string;
    try {
      parsed = parseRecord(JSON.parse(frame.toString('utf8', HEADER_BYTES)), () => storedPayload(frame));
    } catch (err) {
      parsed = `invalid JSON: ${(err as Error).message}`;
    }
    if (typeof parsed === 'string') skipped.push({ offset: pos, reason: parsed });
    else records.push({ record: parsed, offset: pos, bytes });
    pos += bytes;
  }
  return { records, validBytes: pos, damage: null, skipped };
}
