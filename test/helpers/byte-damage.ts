/**
 * Byte-level damage for the scanner tests, as the fuzz test does it: cuts, inserted and
 * replaced bytes, removed and duplicated spans, broken UTF-8, and a member repeated.
 */
import type { Rng } from './fuzz/prng.js';

/** Byte-level damage, as in the fuzz test: flips, cuts, inserts, duplicated spans, bad UTF-8. */
export function mutate(rng: Rng, body: Buffer): Buffer {
  const at = rng.int(0, body.length);
  switch (rng.int(0, 6)) {
    case 0:
      return body.subarray(0, rng.int(0, body.length - 1));
    case 1:
      return Buffer.concat([body.subarray(0, at), Buffer.from([rng.int(0, 255)]), body.subarray(at)]);
    case 2: {
      const i = Math.min(at, body.length - 1);
      const copy = Buffer.from(body);
      copy[i] = rng.pick([0x22, 0x5c, 0x7b, 0x7d, 0x2c, 0x3a, 0x20, 0x00, 0x80, 0xe9, rng.int(0, 255)]);
      return copy;
    }
    case 3:
      return Buffer.concat([body.subarray(0, at), body.subarray(at + rng.int(1, 4))]);
    case 4: {
      // Duplicate a span: often a whole member, giving duplicate keys.
      const from = rng.int(0, body.length);
      const to = Math.min(body.length, from + rng.int(1, 30));
      return Buffer.concat([body.subarray(0, at), body.subarray(from, to), body.subarray(at)]);
    }
    case 5:
      return Buffer.concat([body.subarray(0, at), Buffer.from(rng.pick([[0x80], [0xc3], [0xe9], [0xed, 0xa0, 0x80], [0xf4, 0x90, 0x80, 0x80], [0xef, 0xbb, 0xbf]])), body.subarray(at)]);
    default:
      // A member that repeats one already there (a duplicate key with another value).
      return Buffer.from(body.toString('latin1').replace(/"(topic|payload|method|id|qos|a)":/, (m) => `${m}0,${m}`), 'latin1');
  }
}
