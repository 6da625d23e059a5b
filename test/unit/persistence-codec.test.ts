import { describe, expect, it } from 'vitest';
import type { BrokerMessage } from '../../src/broker/message.js';
import { createMessage, deliveryFrame } from '../../src/broker/message.js';
import { decodeRecords, encodeRecord, frameBody, HEADER_BYTES } from '../../src/broker/persistence/record-codec.js';
import { RawJson } from '../../src/protocol/raw-json.js';
import type { FileRecord, JournalRecord } from '../../src/broker/persistence/records.js';
import { compareRawJsonByValue } from '../helpers/raw-json-equality.js';

// Stored payloads come back as the text they were stored in.
compareRawJsonByValue();

const msg = (id: string, extra: Partial<BrokerMessage> = {}): BrokerMessage => ({
  id, topic: `t/${id}`, payload: { n: id, list: [1, 'two', null], nested: { ok: true } }, sender: 'pub', timestamp: '2026-01-01T00:00:00.000Z', qos: 1, expiresAt: 0, ...extra,
});

/** One record of every type, with the message shapes that must survive a round trip. */
const EVERY_RECORD: JournalRecord[] = [
  { type: 'retain', message: msg('r1', { qos: 0, payload: 'text ✓ ünïcødé \u0000 "quoted"' }) },
  { type: 'unretain', topic: 'status/x' },
  { type: 'session', clientId: 'client-1', patterns: ['a.*', 'b.#', 'exact'], expiresAt: null },
  { type: 'session', clientId: 'client-2', patterns: [], expiresAt: 1_767_225_600_000 },
  { type: 'session_end', clientId: 'client-2' },
  { type: 'enqueue', message: msg('m1', { expiresAt: 1_767_225_660_000, replyTo: 'rt-1' }), clientIds: ['client-1', 'client-3'] },
  { type: 'enqueue', message: msg('m2', { payload: 12.5 }), clientIds: [] },
  { type: 'ack', clientId: 'client-1', messageId: 'm1' },
  { type: 'drop', clientId: 'client-3', messageId: 'm1' },
];

const concat = (records: readonly FileRecord[]): Buffer => Buffer.concat(records.map(encodeRecord));

describe('record codec', () => {
  it('round-trips every record type, field for field', () => {
    const decoded = decodeRecords(concat(EVERY_RECORD));
    expect(decoded.damage).toBeNull();
    expect(decoded.skipped).toEqual([]);
    expect(decoded.records.map((r) => r.record)).toEqual(EVERY_RECORD);
  });

  it('round-trips a message the broker made, without its frame caches', () => {
    const m = createMessage({ topic: 'jobs.done', payload: { id: 7 }, sender: 'ahk', qos: 1, ttl: 30, replyTo: 'tok' }, 1_767_225_600_000);
    deliveryFrame(m); // the broker caches frames on the message: they must not be stored
    deliveryFrame(m, { retained: true });
    expect(m.frame).toBeInstanceOf(Buffer);
    const bytes = encodeRecord({ type: 'enqueue', message: m, clientIds: ['x'] });
    expect(bytes.toString('utf8')).not.toContain('frame');
    const [rec] = decodeRecords(bytes).records;
    expect(rec!.record).toEqual({
      type: 'enqueue',
      message: { id: m.id, topic: 'jobs.done', payload: { id: 7 }, sender: 'ahk', timestamp: m.timestamp, qos: 1, expiresAt: 1_767_225_630_000, replyTo: 'tok' },
      clientIds: ['x'],
    });
    expect(Object.keys((rec!.record as { message: object }).message)).not.toContain('frame');
  });

  it('keeps an absent payload absent (undefined), and a null payload null', () => {
    const { payload: _omit, ...noPayload } = msg('u');
    const out = decodeRecords(concat([
      { type: 'retain', message: noPayload as BrokerMessage },
      { type: 'retain', message: msg('n', { payload: null }) },
    ])).records.map((r) => (r.record as { message: BrokerMessage }).message.payload);
    expect(out).toEqual([undefined, null]);
  });

  it('keeps a raw payload as the text it came in: 1e400, -0, 1.0 and digits past a double', () => {
    const text = '{ "x" : [ 1e400 , -0 , 1.0 , 12345678901234567890 ] }';
    const raw = new RawJson(Buffer.from(`junk${text}junk`), 4, 4 + Buffer.byteLength(text), false);
    const records: JournalRecord[] = [
      { type: 'retain', message: msg('raw1', { payload: raw }) },
      { type: 'enqueue', message: msg('raw2', { payload: raw }), clientIds: ['c'] },
    ];
    // The file's bytes in memory of their own (Buffer.alloc never uses the shared pool).
    const encoded = concat(records);
    const file = Buffer.alloc(encoded.length);
    encoded.copy(file);
    const decoded = decodeRecords(file).records.map((r) => r.record as { message: BrokerMessage });
    for (const r of decoded) {
      expect(r.message.payload).toBeInstanceOf(RawJson);
      expect(String(r.message.payload)).toBe(text);
      // Its own bytes, not a view that would hold the file's.
      expect((r.message.payload as RawJson).bytes.buffer).not.toBe(file.buffer);
    }
  });

  it('reads a record written with its payload serialised from a value, as before', () => {
    const old = frameBody(Buffer.from(JSON.stringify({ type: 'retain', message: { ...msg('old'), payload: { a: [1, 'x'] } } })));
    const [r] = decodeRecords(old).records;
    expect(String((r!.record as { message: BrokerMessage }).message.payload)).toBe('{"a":[1,"x"]}');
  });

  it('frames as [length][crc][body] in little-endian', () => {
    const framed = frameBody(Buffer.from('{"type":"unretain","topic":"a"}'));
    expect(framed.readUInt32LE(0)).toBe(framed.length - HEADER_BYTES);
    expect(decodeRecords(framed).records).toHaveLength(1);
  });

  it('keeps every record before a tail cut at any byte of the last record', () => {
    const data = concat(EVERY_RECORD);
    const lastStart = data.length - encodeRecord(EVERY_RECORD.at(-1)!).length;
    for (let cut = lastStart; cut < data.length; cut++) {
      const d = decodeRecords(data.subarray(0, cut));
      expect(d.records.map((r) => r.record), `cut at ${cut}`).toEqual(EVERY_RECORD.slice(0, -1));
      expect(d.validBytes).toBe(lastStart);
      expect(d.damage, `cut at ${cut}`).toEqual(cut === lastStart ? null : { offset: lastStart, bytesDropped: cut - lastStart, reason: expect.any(String) });
    }
  });

  it('loses only the record a flipped byte hits, anywhere in it, and goes on with the records after it', () => {
    const data = concat(EVERY_RECORD);
    const starts = decodeRecords(data).records.map((r) => r.offset);
    const victim = 5; // a middle record
    const from = starts[victim]!;
    const to = starts[victim + 1]!;
    for (let at = from; at < to; at++) {
      const bad = Buffer.from(data);
      bad[at]! ^= 0x40;
      const d = decodeRecords(bad);
      expect(d.records.map((r) => r.record), `flip at ${at}`).toEqual(EVERY_RECORD.filter((_, k) => k !== victim));
      expect(d.gaps, `flip at ${at}`).toEqual([{ offset: from, bytesDropped: to - from, reason: expect.any(String) }]);
      expect(d.damage).toBeNull();
      expect(d.validBytes).toBe(data.length);
    }
  });

  it('goes on after a zeroed stretch in the middle (a sector lost), and after two', () => {
    const data = concat(EVERY_RECORD);
    const starts = decodeRecords(data).records.map((r) => r.offset);
    const bad = Buffer.from(data);
    // From inside record 2 to inside record 4, and record 7 from its middle on.
    bad.fill(0, starts[2]! + 3, starts[4]! + 5);
    bad.fill(0, starts[7]! + 9, starts[8]!);
    const d = decodeRecords(bad);
    expect(d.records.map((r) => r.record)).toEqual(EVERY_RECORD.filter((_, k) => k !== 2 && k !== 3 && k !== 4 && k !== 7));
    expect(d.gaps).toEqual([
      { offset: starts[2], bytesDropped: starts[5]! - starts[2]!, reason: expect.any(String) },
      { offset: starts[7], bytesDropped: starts[8]! - starts[7]!, reason: expect.any(String) },
    ]);
    expect(d.damage).toBeNull();
  });

  it('finds no record inside a damaged record whose text spells a whole frame', () => {
    // A payload holding a framed record as text: its control bytes are JSON-escaped, so
    // its length cannot be one that fits in the data.
    const inner = encodeRecord(EVERY_RECORD[0]!);
    const holder: FileRecord = { type: 'retain', message: msg('h', { payload: inner.toString('latin1') }) };
    const data = concat([holder, EVERY_RECORD[1]!]);
    const bad = Buffer.from(data);
    bad[4]! ^= 0x01; // the holder's CRC
    const d = decodeRecords(bad);
    expect(d.records.map((r) => r.record)).toEqual([EVERY_RECORD[1]]);
    expect(d.gaps).toEqual([{ offset: 0, bytesDropped: encodeRecord(holder).length, reason: 'checksum mismatch' }]);
  });

  it('treats zeros where a record should be (a file extended but never written) as damage', () => {
    const data = Buffer.concat([concat(EVERY_RECORD.slice(0, 2)), Buffer.alloc(4096)]);
    const d = decodeRecords(data);
    expect(d.records).toHaveLength(2);
    expect(d.damage).toMatchObject({ bytesDropped: 4096, reason: 'impossible record length 0' });
  });

  it('skips an intact frame that is not a known record, and goes on', () => {
    const data = Buffer.concat([
      encodeRecord(EVERY_RECORD[1]!),
      frameBody(Buffer.from('{"type":"from_the_future","x":1}')),
      frameBody(Buffer.from('{"type":"ack","clientId":5}')),
      frameBody(Buffer.from('not json')),
      encodeRecord(EVERY_RECORD[7]!),
    ]);
    const d = decodeRecords(data);
    expect(d.damage).toBeNull();
    expect(d.records.map((r) => r.record)).toEqual([EVERY_RECORD[1], EVERY_RECORD[7]]);
    expect(d.skipped.map((s) => s.reason)).toEqual([
      'unknown record type "from_the_future"',
      'ack: bad clientId or messageId',
      expect.stringMatching(/^invalid JSON/),
    ]);
  });

  it.each([
    ['qos 2', { qos: 2 }],
    ['a numeric id', { id: 5 }],
    ['a negative expiry', { expiresAt: -1 }],
    ['a non-string replyTo', { replyTo: 1 }],
  ])('refuses a message with %s', (_name, bad) => {
    const body = JSON.stringify({ type: 'retain', message: { ...msg('x'), ...bad } });
    const d = decodeRecords(frameBody(Buffer.from(body)));
    expect(d.records).toEqual([]);
    expect(d.skipped[0]?.reason).toBe('retain: bad message');
  });
});
