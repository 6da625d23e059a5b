/**
 * Our metadata in NATS headers, and what of a message from NATS is imported. A subject
 * in the engine's own space is plumbing, never an application message: the replies to
 * requests (the `_INBOX.` subjects clients, our brokers among them, receive QoS 1 acks
 * and answers on) and the `$` APIs (`$JS.`, `$SYS.`, ...). A `>` subscription sees all
 * of them.
 */

/** The headers our brokers send with what they export. */
export const H = {
  origin: 'Ahk-Origin',
  sender: 'Ahk-Sender',
  id: 'Ahk-Id',
  qos: 'Ahk-Qos',
  time: 'Ahk-Time',
  timeout: 'Ahk-Timeout',
  error: 'Ahk-Error',
  /** A QoS 1 publish: the importing broker answers once it has delivered it locally. */
  ack: 'Ahk-Ack',
  /** Published with retain (core NATS keeps nothing: the importing broker retains it). */
  retain: 'Ahk-Retain',
} as const;

/** True for a subject of the engine's own: request replies and the `$` APIs. */
export function isNatsPlumbing(subject: string): boolean {
  return subject.startsWith('$') || subject === '_INBOX' || subject.startsWith('_INBOX.');
}

/**
 * Why a topic cannot be a NATS subject (whitespace NATS cannot carry, a level NATS reads
 * as its wildcard, the engine's own space), or null when it crosses unchanged.
 */
export function subjectError(topic: string): string | null {
  if (/\s/.test(topic)) return 'whitespace';
  if (topic.split('.').includes('>')) return 'a ">" level (a NATS wildcard)';
  if (isNatsPlumbing(topic)) return "the engine's own space (_INBOX., $)";
  return null;
}
