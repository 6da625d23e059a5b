/**
 * A queue line read from its bytes (file-ipc/line-scan.ts, `objectLinePublish`) must be
 * the publish the text path makes of the same line (`LineParser.parse` of the decoded
 * text, then `linePublish`): the same topic, the same payload bytes with the same
 * `queue_id`. Lines it does not read (null) go the text path, so the tests check both that
 * the common lines are read from bytes and that whatever is read agrees with the text path,
 * over chosen lines and a seeded fuzz of edits.
 */
import { describe, expect, it } from 'vitest';
import type { PayloadWriter } from '../../src/client/index.js';
import { QueueDecoder, type DecodedLine } from '../../file-ipc/decoder.js';
import { LineParser } from '../../file-ipc/line-parser.js';
import { LineIds, linePublish, objectLinePublish } from '../../file-ipc/line-publish.js';
import type { QueuePublish } from '../../file-ipc/tailer-types.js';
import { Rng } from '../helpers/fuzz/prng.js';

const ids = new LineIds('2049-131-1733220000000.0');
type Encoding = 'utf-8' | 'windows-1252';

/** `text` (or raw bytes) as the decoder hands it over from a file in `encoding`, at offset 40. */
function lineOf(text: string | Buffer, encoding: Encoding): DecodedLine {
  const body = typeof text === 'string' ? Buffer.from(text, encoding === 'utf-8' ? 'utf8' : 'latin1') : text;
  const lines = new QueueDecoder({ defaultEncoding: encoding, offset: 40 }).push(Buffer.concat([body, Buffer.from('\n')]));
  expect(lines).toHaveLength(1);
  return lines[0]!;
}

/** What a publish's `writePayload` writes, as one buffer. */
function written(p: QueuePublish): Buffer {
  const parts: Buffer[] = [];
  const out: PayloadWriter = {
    bytes: (src, start, end) => parts.push(Buffer.from(src.subarray(start, end))),
    uint: (n) => parts.push(Buffer.from(String(n))),
  };
  p.writePayload!(out);
  return Buffer.concat(parts);
}

/** The line's publish both ways: from its bytes (null when not read so) and from its text (null when none). */
function bothWays(line: DecodedLine, parser = new LineParser()): { fromBytes: QueuePublish | null; fromText: QueuePublish | null } {
  const fromBytes = objectLinePublish(line, parser, ids);
  const parsed = parser.parse(line.text);
  return { fromBytes, fromText: parsed.kind === 'publish' ? linePublish(parsed, ids, line.start) : null };
}

/** Read from bytes, and the same publish as from the text. */
function expectReadAlike(line: DecodedLine, parser?: LineParser): QueuePublish {
  const { fromBytes, fromText } = bothWays(line, parser);
  expect(fromBytes, `read from bytes: ${JSON.stringify(line.text)}`).not.toBeNull();
  expectSame(fromBytes!, fromText, line);
  return fromBytes!;
}

function expectSame(fromBytes: QueuePublish, fromText: QueuePublish | null, line: DecodedLine): void {
  const what = JSON.stringify(line.text);
  expect(fromText, `the text path publishes ${what} too`).not.toBeNull();
  expect(fromText!.payloadJson, `the text path sends ${what} as its JSON text`).toBeDefined();
  expect(fromBytes.topic, what).toBe(fromText!.topic);
  expect(fromBytes.queueId, what).toBe(fromText!.queueId);
  expect(fromBytes.payloadJson, what).toBe(fromText!.payloadJson);
  expect(written(fromBytes).equals(Buffer.from(fromText!.payloadJson!, 'utf8')), what).toBe(true);
  expect(fromBytes.payload, what).toEqual(fromText!.payload);
}

const BOTH: Encoding[] = ['utf-8', 'windows-1252'];

describe('a queue line read from its bytes', () => {
  it('is the publish the text path makes, for the common lines, in UTF-8 and in a code page', () => {
    const common = [
      'JOB_ACTIVATED|{"job":123}',
      '  jobs.a \t|  {"job":12345678901234567890, "x":"y"} ',
      'a.b|{}',
      'a.b|{ \t}',
      'a.b|{"v":1 }',
      'a.b|{"queue_id":"mine","v":1}',
      'a.b|{"v":1,"queue_id":7}',
      'a.b|{"queue_idx":1,"xqueue_id":2}',
      'a.b|{"v":{"w":[1,2,{"x":null}]},"t":true,"f":false,"n":-0.5e3}',
      'a.b|{"s":"with \\"escapes\\", \\u00e9 and \\\\"}',
      'a.b|{"x":"p|q","y":"{}[]"}',
      'a.b|{"v":1}\r\r',
      `a.b|{"v":${'['.repeat(60)}${']'.repeat(60)}}`,
    ];
    for (const encoding of BOTH) {
      for (const text of common) expectReadAlike(lineOf(text, encoding));
    }
  });

  it('keeps an own queue_id and splices one after the last member otherwise, byte for byte', () => {
    const own = expectReadAlike(lineOf('a.b|{"queue_id":"mine","v":1}', 'utf-8'));
    expect(own.payloadJson).toBe('{"queue_id":"mine","v":1}');
    const spliced = expectReadAlike(lineOf('a.b|{"v":1 \t}', 'utf-8'));
    expect(spliced.payloadJson).toBe('{"v":1 \t,"queue_id":"2049-131-1733220000000.0:40"}');
    const empty = expectReadAlike(lineOf('a.b|{ }', 'utf-8'));
    expect(empty.payloadJson).toBe('{ "queue_id":"2049-131-1733220000000.0:40"}');
  });

  it('takes UTF-8 strings as they are in a UTF-8 file, and leaves a code page\'s other bytes to the decoder', () => {
    const text = 'a.b|{"x":"Ærø ✓ 😀"}';
    expectReadAlike(lineOf(text, 'utf-8'));
    const cp = lineOf('a.b|{"x":"Ærø"}', 'windows-1252');
    const { fromBytes, fromText } = bothWays(cp);
    expect(fromBytes).toBeNull();
    expect(fromText!.payload).toEqual({ x: 'Ærø', queue_id: '2049-131-1733220000000.0:40' });
    // Bytes of a code page that happen to form UTF-8 (é in UTF-8 read as Windows-1252).
    expect(bothWays(lineOf(Buffer.from('a.b|{"x":"é"}', 'utf8'), 'windows-1252')).fromBytes).toBeNull();
  });

  it('leaves every other line to the text path, which publishes or reports it', () => {
    const others = [
      'a.b|plain words',
      'a.b|[1,{"k":2}]',
      'a.b|"text"',
      'a.b|12',
      'a.b|123456789012345678901',
      'a.b|{"v":1} trailing',
      'a.b|{"v":1',
      'a.b|{"v":1,}',
      'a.b|{"v":01}',
      'a.b|{\'v\':1}',
      'a.b|\v{"v":1}',
      'a.b|{"v":1}\f',
      'a.b|{"qu\\u0065ue_id":"mine"}',
      'a.b|{"\\u0071ueue_id":"mine","v":1}',
      `a.b|{"v":${'['.repeat(70)}${']'.repeat(70)}}`,
      'ä.b|{"v":1}',
      '|{"v":1}',
      '  |{"v":1}',
      'a.b {"v":1}',
      '',
      '   ',
      'a..b|{"v":1}',
      'system.x|{"v":1}',
      '_internal.x|{"v":1}',
      '\x1cJOB|{"v":1}',
      'JOB\x1f|{"v":1}',
      '\x00JOB|{"v":1}',
    ];
    for (const encoding of BOTH) {
      for (const text of others) expect(bothWays(lineOf(text, encoding)).fromBytes, JSON.stringify(text)).toBeNull();
    }
    // An escaped name that spells queue_id is the script's own id: the text path keeps it.
    expect(bothWays(lineOf('a.b|{"\\u0071ueue_id":"mine","v":1}', 'utf-8')).fromText!.payloadJson).toBe('{"\\u0071ueue_id":"mine","v":1}');
    // Broken UTF-8 in a UTF-8 file: the decoder's replacement character, from the text path.
    const broken = lineOf(Buffer.concat([Buffer.from('a.b|{"x":"'), Buffer.from([0xff, 0xc3]), Buffer.from('"}')]), 'utf-8');
    const { fromBytes, fromText } = bothWays(broken);
    expect(fromBytes).toBeNull();
    expect((fromText!.payload as { x: string }).x).toBe('\ufffd\ufffd');
  });

  it('maps and prefixes names as the text path does, however they alternate', () => {
    const parser = new LineParser({ prefix: 'legacy', topicMap: { JOB: 'jobs.activated' } });
    const names = ['JOB', 'B', 'JOB', 'JOB', 'JO', 'JOBS', ' JOB ', 'B', 'bad..name', 'JOB'];
    const topics = names.map((name) => {
      const line = lineOf(`${name}|{"v":1}`, 'utf-8');
      const { fromBytes, fromText } = bothWays(line, parser);
      if (fromBytes === null) return fromText === null ? null : 'text path';
      expectSame(fromBytes, fromText, line);
      return fromBytes.topic;
    });
    expect(topics).toEqual([
      'legacy.jobs.activated', 'legacy.B', 'legacy.jobs.activated', 'legacy.jobs.activated', 'legacy.JO', 'legacy.JOBS',
      'legacy.jobs.activated', 'legacy.B', null, 'legacy.jobs.activated',
    ]);
  });

  it('agrees with the text path on 20,000 edited lines, and reads a fair share of them (seeded)', () => {
    const rng = new Rng(15_404);
    const templates = ['JOB|{"job":123,"name":"x"}', 'a.b|{}', ' a.b | {"v":[1,{"w":"s"}],"queue_id":"q"} ', 'T|{"s":"Ærø ✓"}'];
    const edits = ['{', '}', '[', ']', '"', ':', ',', ' ', '\t', '\\', '|', 'a', '1', '-', '.', 'e', '"queue_id":1', '\\u0041', 'é', '😀', '\v', '\f', '\r', '\x1c', '\x1f', '\x00', '\u00a0', 'null', '0'];
    const rawBytes = [0x80, 0xc3, 0xa9, 0xff, 0xe2];
    let read = 0;
    for (let n = 0; n < 20_000; n++) {
      const encoding = rng.pick(BOTH);
      let bytes = Buffer.from(rng.pick(templates), encoding === 'utf-8' ? 'utf8' : 'latin1');
      for (let k = rng.int(0, 3); k > 0; k--) {
        const at = rng.int(0, bytes.length);
        const cut = rng.chance(0.3) ? rng.int(0, 2) : 0;
        const piece = rng.chance(0.1) ? Buffer.from([rng.pick(rawBytes)]) : Buffer.from(rng.pick(edits), encoding === 'utf-8' ? 'utf8' : 'latin1');
        bytes = Buffer.concat([bytes.subarray(0, at), piece, bytes.subarray(Math.min(bytes.length, at + cut))]);
      }
      const body = Buffer.from(bytes.filter((b) => b !== 0x0a));
      const line = lineOf(body, encoding);
      const { fromBytes, fromText } = bothWays(line);
      if (fromBytes === null) continue;
      read++;
      expectSame(fromBytes, fromText, line);
    }
    expect(read).toBeGreaterThan(4000);
  });
});
