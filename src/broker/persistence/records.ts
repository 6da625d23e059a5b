/**
 * What the journal stores: one record per change to durable state, as JSON. The message
 * fields are the broker's `BrokerMessage` fields under the same names, so a replayed
 * message is a `BrokerMessage` again; the frame caches are never stored (they are
 * rebuilt on first delivery).
 */
import type { BrokerMessage } from '../message.js';
import { RawJson } from '../../protocol/raw-json.js';

/** `msg` became its topic's retained message (a clearing payload clears the topic instead). */
export interface RetainRecord {
  type: 'retain';
  message: BrokerMessage;
}
/** The topic's retained message was cleared. */
export interface UnretainRecord {
  type: 'unretain';
  topic: string;
}
/**
 * A session was created or changed: its full pattern list, and when it expires.
 * `expiresAt` is `null` while a connection holds the session (it cannot expire then), or
 * the epoch ms at which a detached session is discarded (detach time + session_expiry).
 */
export interface SessionRecord {
  type: 'session';
  clientId: string;
  patterns: readonly string[];
  expiresAt: number | null;
}
/** The session was discarded, with every message still pending for it. */
export interface SessionEndRecord {
  type: 'session_end';
  clientId: string;
}
/** A QoS 1 message was routed to these sessions and is pending for each until acked or dropped. */
export interface EnqueueRecord {
  type: 'enqueue';
  message: BrokerMessage;
  clientIds: readonly string[];
}
/** The client acked the message: it is no longer pending for that session. */
export interface AckRecord {
  type: 'ack';
  clientId: string;
  messageId: string;
}
/** The broker gave up on the message for that session (queue limit, inflight limit, expiry). */
export interface DropRecord {
  type: 'drop';
  clientId: string;
  messageId: string;
}

/** Every change the broker journals. */
export type JournalRecord = RetainRecord | UnretainRecord | SessionRecord | SessionEndRecord | EnqueueRecord | AckRecord | DropRecord;

/** First record of a snapshot file: the state covers every segment numbered below `base`. */
export interface SnapshotHeader {
  type: 'snapshot';
  format: number;
  base: number;
  createdAt: number;
}
/** Last record of a snapshot file; a snapshot without it is incomplete. */
export interface SnapshotFooter {
  type: 'snapshot_end';
  records: number;
}

export type FileRecord = JournalRecord | SnapshotHeader | SnapshotFooter;

/** Version of the record layout, written in every snapshot header. */
export const FORMAT_VERSION = 1;

/** The stored fields of a message: the frame caches are left out. */
export function storedMessage(m: BrokerMessage): BrokerMessage {
  const out: BrokerMessage = {
    id: m.id,
    topic: m.topic,
    payload: m.payload,
    sender: m.sender,
    timestamp: m.timestamp,
    qos: m.qos,
    expiresAt: m.expiresAt,
  };
  if (m.replyTo !== undefined) (out as { replyTo?: string }).replyTo = m.replyTo;
  return out;
}

/** The JSON text of a record: messages without their frame caches. */
export function recordText(r: FileRecord): string {
  if (r.type === 'retain') return `{"type":"retain","message":${messageText(r.message)}}`;
  if (r.type === 'enqueue') return `{"type":"enqueue","message":${messageText(r.message)},"clientIds":${JSON.stringify(r.clientIds)}}`;
  return JSON.stringify(r);
}

/**
 * A message's stored fields as JSON text, its payload first. A payload kept raw goes in
 * as the text it came in: serialised from its value, it lost what JSON.parse cannot
 * hold (`1e400` became `null`, `-0` became `0`, digits past a double's were rounded).
 */
function messageText(m: BrokerMessage): string {
  const { payload, ...fields } = storedMessage(m);
  const text = JSON.stringify(fields);
  if (payload === undefined) return text;
  return `{"payload":${payload instanceof RawJson ? payload.toString() : JSON.stringify(payload)},${text.slice(1)}`;
}

type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);
const isStr = (v: unknown): v is string => typeof v === 'string';
const isStrList = (v: unknown): v is string[] => Array.isArray(v) && v.every(isStr);
const isTime = (v: unknown): v is number => typeof v === 'number' && Number.isFinite(v) && v >= 0;

/**
 * @param rawPayload the payload as the text it was stored in (a {@link RawJson}), for one
 *   that is not null
 */
function parseMessage(v: unknown, rawPayload: () => unknown): BrokerMessage | null {
  if (!isObj(v)) return null;
  const { id, topic, sender, timestamp, qos, expiresAt, replyTo } = v;
  if (!isStr(id) || !isStr(topic) || !isStr(sender) || !isStr(timestamp)) return null;
  if ((qos !== 0 && qos !== 1) || !isTime(expiresAt) || (replyTo !== undefined && !isStr(replyTo))) return null;
  // `payload` may be absent: JSON.stringify leaves out an undefined payload, and that is what it was.
  // null stays a value, as when it was published ("no payload" tests for it).
  const payload = v.payload === undefined || v.payload === null ? v.payload : rawPayload();
  const msg: BrokerMessage = { id, topic, payload, sender, timestamp, qos, expiresAt };
  if (replyTo !== undefined) (msg as { replyTo?: string }).replyTo = replyTo;
  return msg;
}

/**
 * A parsed record, or the reason the JSON is not one. Checked field by field: a record
 * is trusted only after its CRC matched, but a newer format or a bug must not put a
 * malformed message into the broker.
 */
export function parseRecord(v: unknown, rawPayload: () => unknown): FileRecord | string {
  if (!isObj(v)) return 'not a JSON object';
  switch (v.type) {
    case 'retain':
    case 'enqueue': {
      const message = parseMessage(v.message, rawPayload);
      if (!message) return `${v.type}: bad message`;
      if (v.type === 'retain') return { type: 'retain', message };
      return isStrList(v.clientIds) ? { type: 'enqueue', message, clientIds: v.clientIds } : 'enqueue: bad clientIds';
    }
    case 'unretain':
      return isStr(v.topic) ? { type: 'unretain', topic: v.topic } : 'unretain: bad topic';
    case 'session':
      if (!isStr(v.clientId) || !isStrList(v.patterns)) return 'session: bad clientId or patterns';
      if (v.expiresAt !== null && !isTime(v.expiresAt)) return 'session: bad expiresAt';
      return { type: 'session', clientId: v.clientId, patterns: v.patterns, expiresAt: v.expiresAt };
    case 'session_end':
      return isStr(v.clientId) ? { type: 'session_end', clientId: v.clientId } : 'session_end: bad clientId';
    case 'ack':
    case 'drop':
      if (!isStr(v.clientId) || !isStr(v.messageId)) return `${v.type}: bad clientId or messageId`;
      return { type: v.type, clientId: v.clientId, messageId: v.messageId };
    case 'snapshot':
      if (!Number.isSafeInteger(v.format) || !Number.isSafeInteger(v.base) || !isTime(v.createdAt)) return 'snapshot: bad header';
      return { type: 'snapshot', format: v.format as number, base: v.base as number, createdAt: v.createdAt };
    case 'snapshot_end':
      return Number.isSafeInteger(v.records) ? { type: 'snapshot_end', records: v.records as number } : 'snapshot_end: bad count';
    default:
      return `unknown record type ${JSON.stringify(v.type)}`;
  }
}
