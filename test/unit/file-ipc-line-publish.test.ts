import { describe, expect, it } from 'vitest';
import { LineParser } from '../../file-ipc/line-parser.js';
import { LineIds, linePublish } from '../../file-ipc/line-publish.js';
import type { QueuePublish } from '../../file-ipc/tailer-types.js';

const parser = new LineParser();
const ids = new LineIds('2049-131-1733220000000.0');

function publishOf(line: string, offset: number, lineIds = ids): QueuePublish {
  const parsed = parser.parse(line);
  if (parsed.kind !== 'publish') throw new Error(`not a publish: ${line}`);
  return linePublish(parsed, lineIds, offset);
}

describe('linePublish', () => {
  it("splices the line's id into an object's own text, after its last member, keeping its bytes", () => {
    const p = publishOf('jobs.a|{"job":12345678901234567890, "x":"Ærø ✓"} ', 17);
    expect(p.payloadJson).toBe('{"job":12345678901234567890, "x":"Ærø ✓","queue_id":"2049-131-1733220000000.0:17"}');
    expect(p.queueId).toBe('2049-131-1733220000000.0:17');
    expect(p.topic).toBe('jobs.a');
    expect(p.payload).toEqual({ job: 12345678901234567890, x: 'Ærø ✓', queue_id: p.queueId });
  });

  it('gives an empty object, and one with space before its brace, a well-formed id member', () => {
    expect(publishOf('a.b|{}', 0).payloadJson).toBe('{"queue_id":"2049-131-1733220000000.0:0"}');
    expect(publishOf('a.b|{ \t}', 0).payloadJson).toBe('{ \t"queue_id":"2049-131-1733220000000.0:0"}');
    expect(publishOf('a.b|{"v":1 \r\n }', 0).payload).toEqual({ v: 1, queue_id: '2049-131-1733220000000.0:0' });
  });

  it('leaves an own queue_id, arrays and scalars as the script wrote them', () => {
    expect(publishOf('a.b|{"queue_id":"mine","v":1}', 5).payloadJson).toBe('{"queue_id":"mine","v":1}');
    expect(publishOf('a.b|[1,{"k":2}]', 5).payloadJson).toBe('[1,{"k":2}]');
    expect(publishOf('a.b|"text"', 5).payload).toBe('text');
    expect(publishOf('a.b|-0.5e3', 5).payload).toBe(-500);
  });

  it('gives a text payload {data} the id as a member, serialised by the client (no payloadJson)', () => {
    const p = publishOf('a.b|plain words', 9);
    expect(p.payloadJson).toBeUndefined();
    expect(p.payload).toEqual({ data: 'plain words', queue_id: '2049-131-1733220000000.0:9' });
  });

  it('writes offsets past 32 bits and up to 2^53 - 1 digit for digit', () => {
    for (const offset of [2 ** 32 + 5, 10 ** 15, Number.MAX_SAFE_INTEGER]) {
      const p = publishOf('a.b|{"v":1}', offset);
      expect(p.queueId).toBe(`2049-131-1733220000000.0:${BigInt(offset)}`);
      expect((p.payload as { queue_id: string }).queue_id).toBe(p.queueId);
    }
  });

  it('escapes a file id read back from a hand-edited position file, so the payload stays JSON', () => {
    const odd = new LineIds('we"ird\\id.3');
    const p = publishOf('a.b|{"v":1}', 4, odd);
    expect(p.payload).toEqual({ v: 1, queue_id: 'we"ird\\id.3:4' });
    expect(p.queueId).toBe('we"ird\\id.3:4');
  });
});
