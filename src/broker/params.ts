/** Checks for method params; each failure is a -32602 that names the param. */
import { ErrorCode, RpcError } from '../protocol/errors.js';
import { shownName } from '../protocol/excerpt.js';
import { invalidParams } from '../protocol/jsonrpc.js';
import { isReservedTopic, topicError } from '../protocol/topics.js';

/**
 * Positional params (JSON-RPC's by-position form) as named ones, by `names` in order;
 * null when there are more values than names.
 */
export function namedParams(values: readonly unknown[], names: readonly string[]): Record<string, unknown> | null {
  if (values.length > names.length) return null;
  const params: Record<string, unknown> = {};
  values.forEach((v, i) => (params[names[i]!] = v));
  return params;
}

export function optionalString(params: Record<string, unknown>, name: string): string | undefined {
  const v = params[name];
  if (v === undefined || v === null) return undefined;
  if (typeof v !== 'string') throw invalidParams(`${name} must be a string`);
  return v;
}

export function requireString(params: Record<string, unknown>, name: string): string {
  const v = optionalString(params, name);
  if (v === undefined) throw invalidParams(`${name} is required`);
  return v;
}

export function optionalBoolean(params: Record<string, unknown>, name: string, fallback: boolean): boolean {
  const v = params[name];
  if (v === undefined || v === null) return fallback;
  if (typeof v !== 'boolean') throw invalidParams(`${name} must be true or false`);
  return v;
}

export function optionalNumber(params: Record<string, unknown>, name: string, fallback: number): number {
  const v = params[name];
  if (v === undefined || v === null) return fallback;
  if (typeof v !== 'number' || !Number.isFinite(v)) throw invalidParams(`${name} must be a number`);
  return v;
}

/** A non-empty array of strings (`patterns`). */
export function requireStringArray(params: Record<string, unknown>, name: string): string[] {
  const v = params[name];
  if (v === undefined || v === null) throw invalidParams(`${name} is required`);
  if (!Array.isArray(v)) throw invalidParams(`${name} must be an array of strings`);
  if (v.length === 0) throw invalidParams(`${name} must not be empty`);
  const bad = v.filter((p) => typeof p !== 'string');
  if (bad.length > 0) throw invalidParams(`${name} must contain only strings`, { invalid: bad });
  return v as string[];
}

/** Topics that passed {@link requirePublishTopic}, so a repeated topic is checked once. */
const sendableTopics = new Set<string>();
const SENDABLE_CACHE_LIMIT = 1024;
const MAX_CACHED_TOPIC_LENGTH = 256;

/** A topic a client may send to: valid, and not reserved for the broker. */
export function requirePublishTopic(params: Record<string, unknown>): string {
  return requireSendableTopic(params.topic);
}

/** The last topic that passed, looked at before the set: a publisher repeats its topic message after message. */
let lastSendable: string | null = null;

/** {@link requirePublishTopic} for a topic already taken out of its params. */
export function requireSendableTopic(topic: unknown): string {
  if (typeof topic === 'string') {
    if (topic === lastSendable) return topic;
    if (sendableTopics.has(topic)) return (lastSendable = topic);
  }
  if (topic === undefined || topic === null) throw invalidParams('topic is required');
  const reason = topicError(topic);
  if (reason) throw invalidParams(reason, { topic });
  if (isReservedTopic(topic as string)) {
    throw new RpcError(ErrorCode.PUBLISH_ERROR, `Topic ${shownName(topic as string, true)} is reserved for the broker (system.* and _internal.*)`, { topic });
  }
  if ((topic as string).length <= MAX_CACHED_TOPIC_LENGTH) {
    if (sendableTopics.size >= SENDABLE_CACHE_LIMIT) sendableTopics.clear();
    sendableTopics.add(topic as string);
    lastSendable = topic as string;
  }
  return topic as string;
}
