/**
 * Our metadata in NATS headers, and what of a message from NATS is trusted. Anyone with
 * access to the NATS server can publish, so nothing that arrives is taken on its word:
 *
 * - A subject in the engine's own space is plumbing, never an application message: the
 *   replies to requests (the `_INBOX.` subjects clients, our brokers among them, receive
 *   QoS 1 acks and answers on) and the `$` APIs (`$JS.`, `$SYS.`, ...). A `>`
 *   subscription sees all of them.
 * - Any other subject must be a topic of ours (no wildcard character, no control
 *   character, no empty level) that could have crossed the other way (no `>` level).
 * - An `Ahk-` header that holds what our brokers never send is replaced by this broker's
 *   own value: the time of import, QoS 0, a fresh message id, sender `nats`, no origin.
 */
import type { MsgHdrs } from '@nats-io/transport-node';
import { isoTimestamp } from '../../protocol/timestamp.js';
import { topicError } from '../../protocol/topics.js';
import { nowTimestamp } from '../message.js';
import { SYSTEM_SENDER } from '../system-events.js';
import type { LinkMessage } from './upstream-link.js';

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
  /** Milliseconds the message had left to live when it was sent (absent: no ttl). */
  ttl: 'Ahk-Ttl',
  /** On a request: the requester is one of our brokers and takes {@link STATUS} replies. */
  wantStatus: 'Ahk-Want-Status',
  /** On a reply to a request that asked for it: one of {@link STATUS}, not the answer itself. */
  status: 'Ahk-Status',
} as const;

/** What a broker that got a request from one of ours says at once, before (or instead of) an answer. */
export const STATUS = {
  /** Nobody here can answer: the requester waits a moment for the other brokers' word. */
  none: 'none',
  /** Delivered to a responder here: the answer follows (or nothing, if it times out). */
  pending: 'pending',
} as const;

/** The sender of a message from a NATS publisher that is not one of our brokers. */
export const FOREIGN_SENDER = 'nats';

/** Longest sender, id or origin taken from a header (a client id's limit). */
const MAX_NAME = 128;
/** A request's timeout from a header may not exceed what a local request may ask for. */
const MAX_REQUEST_MS = 300_000;
const CONTROL = /[\u0000-\u001f\u007f]/;

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

/**
 * Why a subject that arrived (not plumbing) is not imported: it is not a valid topic
 * here, or is one that could not have been exported; null when it is imported as is.
 * The reasons are few and fixed, so they can key a rate-limited warning.
 */
export function importSubjectError(subject: string): string | null {
  return topicError(subject) ?? subjectError(subject);
}

export { printable } from './log-text.js';

const ISO_8601 = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})(\.\d{1,9})?(Z|[+-](\d{2}):(\d{2}))$/;

function daysIn(year: number, month: number): number {
  if (month === 2) return year % 4 === 0 && (year % 100 !== 0 || year % 400 === 0) ? 29 : 28;
  return month === 4 || month === 6 || month === 9 || month === 11 ? 30 : 31;
}

/**
 * The contract's form (`2024-01-15T10:30:00.000+00:00`) of an ISO 8601 date and time
 * with an explicit offset, or null when `text` is not one. A time without an offset
 * would be read in this PC's zone; a `Z` breaks Python before 3.11, so it is respelled.
 */
export function contractTimestamp(text: string): string | null {
  const m = ISO_8601.exec(text);
  if (m === null) return null;
  const [year, month, day, hour, minute, second] = m.slice(1, 7).map(Number) as [number, number, number, number, number, number];
  if (month < 1 || month > 12 || day < 1 || day > daysIn(year, month) || hour > 23 || minute > 59 || second > 59) return null;
  if (m[9] !== undefined && (Number(m[9]) > 23 || Number(m[10]) > 59)) return null;
  // Already in the contract's form (every timestamp our brokers send): kept as it came.
  if (m[7]?.length === 4 && m[8] === '+00:00') return text;
  return isoTimestamp(Date.parse(text));
}

/** A sender, id or origin as our brokers send them: 1-128 characters, none a control character. */
function isName(value: string): boolean {
  return value.length > 0 && value.length <= MAX_NAME && !CONTROL.test(value);
}

/** A message's metadata from NATS headers: the link message without its topic and payload. */
export type ImportedMeta = Omit<LinkMessage, 'topic' | 'payload'>;

/**
 * The metadata of a message from NATS. A header that is absent (a foreign publisher)
 * gets this broker's value quietly; one that is present and not what our brokers send
 * gets it too, and its name is added to `replaced` (for the log).
 */
export function importedMeta(h: MsgHdrs | undefined, now: number, replaced: string[]): ImportedMeta {
  const read = <T>(name: string, parse: (value: string) => T | null, fallback: () => T): T => {
    if (h === undefined || !h.has(name)) return fallback();
    const parsed = parse(h.get(name));
    if (parsed !== null) return parsed;
    replaced.push(name);
    return fallback();
  };
  const meta: ImportedMeta = {
    sender: read(H.sender, (v) => (isName(v) && v !== SYSTEM_SENDER ? v : null), () => FOREIGN_SENDER),
    id: read(H.id, (v) => (isName(v) ? v : null), () => crypto.randomUUID()),
    qos: read<0 | 1>(H.qos, (v) => (v === '1' ? 1 : v === '0' ? 0 : null), () => 0),
    timestamp: read(H.time, contractTimestamp, () => nowTimestamp(now)),
    origin: read<string | null>(H.origin, (v) => (isName(v) ? v : null), () => null),
  };
  if (read(H.retain, (v) => (v === '1' ? true : v === '0' ? false : null), () => false)) meta.retain = true;
  return meta;
}

/**
 * How long a request from NATS may be worked on, in ms: its `Ahk-Timeout` when that is
 * more than 0 and at most what a local request may ask for (300 s), else `fallback`
 * (the header's name is added to `replaced` when it was there and not valid).
 */
export function requestTimeoutOf(h: MsgHdrs | undefined, fallback: number, replaced: string[]): number {
  if (h === undefined || !h.has(H.timeout)) return fallback;
  const ms = Number(h.get(H.timeout));
  if (ms > 0 && ms <= MAX_REQUEST_MS) return ms;
  replaced.push(H.timeout);
  return fallback;
}
