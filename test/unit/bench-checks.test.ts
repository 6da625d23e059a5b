/**
 * The bench's own bookkeeping on its hot paths: a wrong check there would hide a broker
 * that loses or mislabels lines, and a wrong ack would measure a broker that is asked
 * something else than the apps' clients ask it.
 */
import { describe, expect, it } from 'vitest';
import { Acker } from '../../bench/roles/acker.js';
import { endsWithOffset } from '../../bench/roles/queue-backlog.js';
import { callFrame } from '../../bench/wire.js';

describe('endsWithOffset', () => {
  it('says what endsWith(":" + offset) says', () => {
    const ids = ['f.0:0', 'f.0:7', 'f.0:10', 'f.0:61', 'f.0:12199939', 'x:100', ':5', '5', '', 'f.0:', 'f.0:0061', 'a:b:61', 'f.0:61 ', 'f.0;61'];
    const offsets = [0, 1, 5, 7, 10, 61, 100, 1000, 12199939, 2 ** 40];
    for (const id of ids) {
      for (const offset of offsets) expect(endsWithOffset(id, offset), `${JSON.stringify(id)} / ${offset}`).toBe(id.endsWith(`:${offset}`));
    }
  });

  it('takes the offset of every line of a backlog and refuses its neighbours', () => {
    for (let seq = 0; seq < 5000; seq++) {
      const offset = seq * 61;
      const id = `1234-5.0:${offset}`;
      expect(endsWithOffset(id, offset)).toBe(true);
      expect(endsWithOffset(id, offset + 61)).toBe(false);
      if (offset > 0) expect(endsWithOffset(id, offset * 10)).toBe(false);
      expect(endsWithOffset(`${id}1`, offset)).toBe(false);
    }
  });
});

describe('Acker', () => {
  /** Acks `ids` in one turn and resolves with what was written. */
  async function ackAll(ids: unknown[]): Promise<Buffer[]> {
    const writes: Buffer[] = [];
    const sink = { closed: false, write: (b: Buffer): boolean => writes.push(Buffer.from(b)) > 0 };
    const acker = new Acker(() => sink);
    for (const id of ids) acker.ack(id);
    await new Promise((resolve) => setImmediate(resolve));
    return writes;
  }

  it('writes the frames callFrame makes, in one write per turn', async () => {
    const ids = ['m-1', 'ab12cd34-0000000001', 'ünï"code\\\u2028', '𝄞'];
    const writes = await ackAll(ids);
    expect(writes).toHaveLength(1);
    expect(writes[0]).toEqual(Buffer.concat(ids.map((id) => callFrame(null, 'ack', { message_id: id }))));
  });

  it('grows its buffer past a turn of thousands of acks without losing one', async () => {
    const ids = Array.from({ length: 3000 }, (_, i) => `0123456789abcdef-${i.toString().padStart(12, '0')}`);
    const writes = await ackAll(ids);
    expect(writes).toHaveLength(1);
    expect(writes[0]).toEqual(Buffer.concat(ids.map((id) => callFrame(null, 'ack', { message_id: id }))));
  });

  it('skips ids that are not strings, as the broker would refuse them', async () => {
    expect(await ackAll([7, null, undefined])).toEqual([]);
    const writes = await ackAll([7, 'm-2']);
    expect(writes[0]).toEqual(callFrame(null, 'ack', { message_id: 'm-2' }));
  });
});
