/**
 * Message ids: unique, shaped like a version 4 UUID (what the first broker sent, so a
 * client that checks the shape keeps working), and cheap. Each broker process draws 74
 * random bits once and counts in the last 48: a fresh random UUID per message cost a
 * visible share of the broker's time per message. Nothing relies on message ids being
 * unguessable (an `ack` only settles the acking client's own deliveries); `reply_to`
 * tokens, which must be, stay random (request-tracker.ts).
 */
import { randomBytes } from 'node:crypto';

const COUNTER_LIMIT = 2 ** 48;

let prefix = '';
let counter = COUNTER_LIMIT;

function newPrefix(): void {
  const r = randomBytes(10).toString('hex');
  const variant = '89ab'[parseInt(r[19]!, 16) & 3]!;
  prefix = `${r.slice(0, 8)}-${r.slice(8, 12)}-4${r.slice(12, 15)}-${variant}${r.slice(15, 18)}-`;
  counter = 0;
}

/** A new message id. */
export function newMessageId(): string {
  if (counter >= COUNTER_LIMIT) newPrefix();
  return prefix + (counter++).toString(16).padStart(12, '0');
}
