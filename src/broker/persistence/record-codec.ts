/**
 * Framing of journal and snapshot files: every record is
 *
 *   [u32 LE body length][u32 LE CRC-32 of the length bytes and the body][body: UTF-8 JSON]
 *
 * A crash mid-write leaves a record whose length runs past the end of the file, or whose
 * CRC does not match (a sector written only in part, zeros where a file system extended
 * the file but never wrote the data). That is the file's end: the writer never appends
 * to a segment after a failed write. Damage in the middle (a flipped bit, a zeroed
 * sector) costs only the stretch it hit: decoding looks for the next intact record after
 * it (see {@link nextIntactRecord}) and goes on from there.
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
  /**
   * The damaged end of the data, from which no intact record follows; `null` when the
   * data ended on a record boundary.
   */
  damage: Damage | null;
  /** Damaged stretches with intact records after them, which decoding went on with. */
  gaps: Damage[];
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

const OPEN_BRACE = 0x7b;
const CLOSE_BRACE = 0x7d;

/**
 * Offset of the first intact record at or after `from`, or -1. A record's body is a JSON
 * object, so its first byte is `{` and its last `}`; that, a length that fits and the CRC
 * make a frame. Random damage passes that by chance about once in 2^40 tries. A record's
 * own JSON text (a damaged record skipped over) hardly can: the four bytes of a length
 * would all be text, a tab (0x09) at the least, so the length at least 151 MB, more than
 * follows it in any file but a huge snapshot, and the CRC would still have to match.
 */
function nextIntactRecord(data: Buffer, from: number): number {
  let open = data.indexOf(OPEN_BRACE, from + HEADER_BYTES);
  while (open >= 0) {
    const at = open - HEADER_BYTES;
    const length = data.readUInt32LE(at);
    if (length >= 2 && length <= MAX_BODY_BYTES && length <= data.length - open && data[open + length - 1] === CLOSE_BRACE) {
      if (checksum(data.subarray(at, open + length), length) === data.readUInt32LE(at + 4)) return at;
    }
    open = data.indexOf(OPEN_BRACE, open + 1);
  }
  return -1;
}

/**
 * Decode every whole record of `data`. Damage with intact records after it is a gap,
 * skipped; damage with none after it ends the data.
 */
export function decodeRecords(data: Buffer): DecodeResult {
  const records: DecodedRecord[] = [];
  const skipped: DecodeResult['skipped'] = [];
  const gaps: Damage[] = [];
  let pos = 0;
  let validBytes = 0;
  let damage: Damage | null = null;
  const bad = (reason: string): void => {
    const next = nextIntactRecord(data, pos + 1);
    if (next < 0) {
      damage = { offset: pos, bytesDropped: data.length - pos, reason };
      pos = data.length;
    } else {
      gaps.push({ offset: pos, bytesDropped: next - pos, reason });
      pos = next;
    }
  };
  while (pos < data.length) {
    if (data.length - pos < HEADER_BYTES) {
      bad('torn record header');
      continue;
    }
    const length = data.readUInt32LE(pos);
    if (length === 0 || length > MAX_BODY_BYTES) {
      bad(`impossible record length ${length}`);
      continue;
    }
    if (data.length - pos - HEADER_BYTES < length) {
      bad('torn record (shorter than its length)');
      continue;
    }
    const frame = data.subarray(pos, pos + HEADER_BYTES + length);
    if (checksum(frame, length) !== data.readUInt32LE(pos + 4)) {
      bad('checksum mismatch');
      continue;
    }
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
    validBytes = pos;
  }
  return { records, validBytes, damage, gaps, skipped };
}
