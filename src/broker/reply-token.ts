/**
 * `reply_to` tokens: 122 random bits, written as a version 4 UUID (as the first broker's
 * were, and as `crypto.randomUUID` would write them).
 *
 * A token must be unguessable, so each takes 16 fresh bytes from the operating system's
 * random source (`randomFillSync`, drawn for 128 tokens at a time, as Node does for
 * `randomUUID`). What differs from `randomUUID` is the writing: it joins 20 strings (one
 * per byte and dash) into one that is flattened again when the token becomes a map key;
 * here the 36 characters are written into a buffer and read out as one string, which
 * halves the cost of opening a request's token.
 */
import { nodeCrypto } from './crypto-on-demand.js';

const TOKENS_PER_DRAW = 128;
const RANDOM_BYTES = 16;
/** Token length: 32 hex digits and 4 dashes. */
export const REPLY_TOKEN_LENGTH = 36;
const HEX = Buffer.from('0123456789abcdef', 'latin1');
/** The dashes of the 8-4-4-4-12 groups come before these bytes. */
const DASH_BEFORE = [false, false, false, false, true, false, true, false, true, false, true, false, false, false, false, false];

let random: Buffer | null = null;
let used = 0;
const text = Buffer.allocUnsafe(REPLY_TOKEN_LENGTH);

/** A new unguessable reply token. */
export function newReplyToken(): string {
  if (random === null || used === random.length) {
    random ??= Buffer.allocUnsafeSlow(TOKENS_PER_DRAW * RANDOM_BYTES);
    nodeCrypto().randomFillSync(random);
    used = 0;
  }
  // Version 4, variant 10 (RFC 9562): the same 6 bits randomUUID fixes.
  random[used + 6] = (random[used + 6]! & 0x0f) | 0x40;
  random[used + 8] = (random[used + 8]! & 0x3f) | 0x80;
  let at = 0;
  for (let i = 0; i < RANDOM_BYTES; i++) {
    if (DASH_BEFORE[i]) text[at++] = 0x2d;
    const byte = random[used + i]!;
    text[at++] = HEX[byte >> 4]!;
    text[at++] = HEX[byte & 15]!;
  }
  used += RANDOM_BYTES;
  return text.toString('latin1', 0, REPLY_TOKEN_LENGTH);
}
