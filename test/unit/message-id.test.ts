/** Message ids (src/broker/message-id.ts): unique and shaped like a version 4 UUID. */
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { describe, expect, it, vi } from 'vitest';
import * as messageIds from '../../src/broker/message-id.js';
import { createMessage } from '../../src/broker/message.js';

/** The next id of `ids` (the module, or a fresh instance of it) as a string, the way a message makes it. */
function nextId(ids: typeof messageIds): string {
  const space = ids.currentIdSpace();
  return space.format(ids.nextMessageSeq());
}

const UUID_V4 = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;

describe('message ids', () => {
  it('100,000 ids are unique and all UUID-v4-shaped', () => {
    const seen = new Set<string>();
    for (let i = 0; i < 100_000; i++) {
      const id = nextId(messageIds);
      if (!UUID_V4.test(id)) expect.fail(`id #${i} ${JSON.stringify(id)} is not UUID-v4-shaped`);
      seen.add(id);
    }
    expect(seen.size).toBe(100_000);
  });

  it('keep the shape with every random prefix a broker process may draw', async () => {
    // Each fresh module instance draws its prefix once, as a new broker process does.
    const prefixes = new Set<string>();
    for (let n = 0; n < 200; n++) {
      vi.resetModules();
      const fresh = await import('../../src/broker/message-id.js');
      const id = nextId(fresh);
      expect(id).toMatch(UUID_V4);
      // The counter starts at 16^11, so its hex form always has 12 digits.
      expect(id.endsWith('-100000000000')).toBe(true);
      prefixes.add(id.slice(0, 24));
    }
    expect(prefixes.size).toBe(200);
  });

  it('differ between broker processes (each seeds its own generator)', async () => {
    const built = new URL('../../dist/src/broker/message-id.js', import.meta.url).href;
    const script = `import(${JSON.stringify(built)}).then((m) => console.log(m.currentIdSpace().prefix))`;
    const runs = await Promise.all([1, 2, 3].map(() => promisify(execFile)(process.execPath, ['-e', script])));
    const prefixes = runs.map((run) => run.stdout.trim());
    for (const prefix of prefixes) expect(`${prefix}100000000000`).toMatch(UUID_V4);
    expect(new Set(prefixes).size).toBe(3);
  });

  it('are what createMessage gives each message', () => {
    const a = createMessage({ topic: 't', payload: 1, sender: 's' });
    const b = createMessage({ topic: 't', payload: 1, sender: 's' });
    expect(a.id).toMatch(UUID_V4);
    expect(b.id).toMatch(UUID_V4);
    expect(a.id).not.toBe(b.id);
  });

  it('keep their sequence numbers small integers, written as bytes exactly as formatted', () => {
    const space = messageIds.currentIdSpace();
    const seq = messageIds.nextMessageSeq();
    // A small integer for V8 (below 2^30): no heap number per message.
    expect(Number.isInteger(seq) && seq >= 0 && seq < 2 ** 30).toBe(true);
    const frame = Buffer.alloc(40);
    for (const n of [0, 1, 15, 16, 2 ** 24 - 1, 2 ** 24, 2 ** 24 + 1, 123_456_789, 2 ** 30 - 1]) {
      const id = space.format(n);
      expect(id, String(n)).toMatch(UUID_V4);
      expect(id.slice(24)).toBe((16 ** 11 + n).toString(16));
      expect(messageIds.writeMessageId(space, n, frame, 2)).toBe(36);
      expect(frame.toString('latin1', 2, 38)).toBe(id);
      expect(messageIds.parseMessageSeq(space, id)).toBe(n);
      // Read from the bytes as a templated ack does: the same number, at any offset.
      const bytes = Buffer.from(`xx${id}"}}`, 'latin1');
      expect(messageIds.seqOfIdBytes(space, bytes, 2, 38), id).toBe(n);
    }
    // Plain hex ids of the same prefix outside this space's range: not its numbers, still plain.
    for (const tail of ['000000000000', 'fffffffffff0', (16 ** 11 - 1).toString(16).padStart(12, '0'), (16 ** 11 + 2 ** 30).toString(16)]) {
      expect(messageIds.parseMessageSeq(space, space.prefix + tail), tail).toBeNull();
      expect(messageIds.seqOfIdBytes(space, Buffer.from(space.prefix + tail, 'latin1'), 0, 36), tail).toBe(-1);
      expect(messageIds.isPlainMessageId(space.prefix + tail), tail).toBe(true);
    }
  });

  it("tell this process's ids from one that only starts like them (a foreign id must be escaped in frames)", () => {
    const own = nextId(messageIds);
    const prefix = messageIds.currentIdSpace().prefix;
    expect(messageIds.isPlainMessageId(own)).toBe(true);
    expect(messageIds.parseMessageSeq(messageIds.currentIdSpace(), own)).toBe(parseInt(own.slice(24), 16) - 16 ** 11);
    for (const foreign of [`${prefix}00000000000"`, `${prefix}0000000000\\n`, `${prefix}ABCDEF012345`, `${prefix}0123456789a`, `${prefix}0123456789abc`, own.replace(/^./, (c) => (c === 'a' ? 'b' : 'a'))]) {
      expect(messageIds.isPlainMessageId(foreign), foreign).toBe(false);
      expect(messageIds.parseMessageSeq(messageIds.currentIdSpace(), foreign), foreign).toBeNull();
      const bytes = Buffer.from(foreign, 'latin1');
      expect(messageIds.seqOfIdBytes(messageIds.currentIdSpace(), bytes, 0, bytes.length), foreign).toBe(-1);
    }
    // Its own id, cut or run on by a byte, is not one of its ids; nor is it in another space.
    const bytes = Buffer.from(`${own}0`, 'latin1');
    const space = messageIds.currentIdSpace();
    expect([messageIds.seqOfIdBytes(space, bytes, 0, 35), messageIds.seqOfIdBytes(space, bytes, 0, 37), messageIds.seqOfIdBytes(space, bytes, 1, 37)]).toEqual([-1, -1, -1]);
    expect(messageIds.seqOfIdBytes(new messageIds.IdSpace('ffffffff-ffff-4fff-8fff-'), bytes, 0, 36)).toBe(-1);
    expect(messageIds.idSpaceInUse()).toBe(space);
  });
});
