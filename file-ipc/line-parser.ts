/**
 * One queue line `TOPIC|payload` -> one publish, as the seed's Python loop did it, with
 * two additions: legacy topic names can be mapped, and a prefix can be put in front.
 *
 * Topic: the text before the first `|`, trimmed (whitespace is never part of a topic).
 * Then, in this order:
 *   1. `topicMap` is looked up with that legacy name, exactly (case-sensitive);
 *      a hit replaces it (`JOB_ACTIVATED` -> `jobs.activated`);
 *   2. `prefix` is put in front of the result, mapped or not
 *      (`legacy.` + `jobs.activated` -> `legacy.jobs.activated`).
 * Map first, so that a map is written in the scripts' own names and one prefix covers
 * mapped and unmapped topics alike. The final topic must be valid and not reserved.
 *
 * Payload: the text after the first `|`, as JSON when it parses as JSON, otherwise
 * `{"data": "<text>"}`. One exception: an integer JSON.parse would round (job ids of 17+
 * digits) stays text, so no id is silently changed.
 */
import { isReservedTopic, topicError } from '../src/protocol/topics.js';

/** How legacy topic names become broker topics. */
export interface LineParserOptions {
  /** Legacy name -> topic, applied before `prefix`. */
  topicMap?: Readonly<Record<string, string>>;
  /** Put in front of every topic (after mapping); a missing final `.` is added. */
  prefix?: string;
}

/** The outcome of parsing one line. */
export type ParsedLine =
  | {
      kind: 'publish';
      topic: string;
      payload: unknown;
      /** The payload's JSON text, trimmed, when `payload` is that text parsed (not `{data}`). */
      payloadText?: string;
    }
  | { kind: 'invalid'; reason: string }
  | { kind: 'empty' };

/** The prefix as it is used: trimmed, with a missing final `.` added (`legacy` -> `legacy.`). */
export function normalisePrefix(prefix: string | undefined): string {
  const raw = prefix?.trim() ?? '';
  return raw === '' || raw.endsWith('.') ? raw : `${raw}.`;
}

/**
 * Why a prefix (as {@link normalisePrefix} made it) can never start a topic lines may
 * be published to, or `null` when it can.
 */
export function prefixProblem(prefix: string): string | null {
  if (prefix === '') return null;
  const err = topicError(`${prefix}x`);
  if (err) return err;
  return isReservedTopic(`${prefix}x`) ? 'it is reserved for the broker (system.* and _internal.*)' : null;
}

/**
 * Why `prefix` + `to` (a map target behind a normalised prefix) is not a topic lines may
 * be published to, or `null` when it is. The reason is the topic rule it breaks.
 */
export function mapTargetProblem(prefix: string, to: string): string | null {
  const topic = prefix + to;
  const err = topicError(topic);
  if (err) return err;
  return isReservedTopic(topic) ? 'it is reserved for the broker (system.* and _internal.*)' : null;
}

/**
 * Why a legacy name in a map can never match a queue line's topic, or `null` when it can:
 * names are taken up to the first `|` and trimmed.
 */
export function mapNameProblem(name: string): string | null {
  if (name.includes('|')) return 'it contains "|", which ends the name in a queue line';
  if (name.trim() !== name || name === '') return 'queue line names are trimmed, so one with spaces around it never matches';
  return null;
}

/** What a legacy name becomes: its topic, or why it cannot be published. */
type TopicOutcome = { topic: string; reason?: undefined } | { topic?: undefined; reason: string };

/**
 * Legacy names whose outcome is remembered. A queue uses a handful of names, so checking
 * each line's topic against the topic rules again was wasted work on a large backlog;
 * the bound keeps lines with ever new (garbage) names from growing the memory.
 */
const MAX_REMEMBERED_NAMES = 1024;

/** Parses queue lines with a fixed map and prefix (validated once, at construction). */
export class LineParser {
  private readonly map: ReadonlyMap<string, string>;
  private readonly prefix: string;
  private readonly outcomes = new Map<string, TopicOutcome>();
  /** The name {@link topicOfAsciiName} was last asked for, as bytes, and its topic. */
  private lastName: Uint8Array = new Uint8Array(0);
  private lastNameTopic: string | null = null;

  /** @throws RangeError when the prefix or a map target can never give a valid topic. */
  constructor(options: LineParserOptions = {}) {
    this.prefix = normalisePrefix(options.prefix);
    const bad = prefixProblem(this.prefix);
    if (bad) throw new RangeError(`invalid queue prefix "${options.prefix}": ${bad}`);
    const map = new Map<string, string>();
    for (const [from, to] of Object.entries(options.topicMap ?? {})) {
      const problem = mapTargetProblem(this.prefix, to);
      if (problem) throw new RangeError(`topic map entry "${from}" -> "${to}": ${problem}`);
      map.set(from, to);
    }
    this.map = map;
  }

  /** The broker topic for a legacy name, before validation. */
  topicFor(name: string): string {
    return this.prefix + (this.map.get(name) ?? name);
  }

  /** Parse one line (without its line terminator). */
  parse(line: string): ParsedLine {
    if (line.trim() === '') return { kind: 'empty' };
    const bar = line.indexOf('|');
    if (bar < 0) return { kind: 'invalid', reason: 'no "|" between topic and payload' };
    const name = line.slice(0, bar).trim();
    if (name === '') return { kind: 'invalid', reason: 'empty topic' };
    const outcome = this.outcomeOf(name);
    if (outcome.reason !== undefined) return { kind: 'invalid', reason: outcome.reason };
    const text = line.slice(bar + 1);
    const json = jsonPayload(text);
    return json === NOT_JSON ? { kind: 'publish', topic: outcome.topic, payload: { data: text } } : { kind: 'publish', topic: outcome.topic, payload: json, payloadText: text.trim() };
  }

  /**
   * The topic of the legacy name in `b[start, end)` (ASCII, trimmed), or null when lines
   * with that name cannot be published: then {@link parse} of the line's text says why.
   * Compared with the last name asked for first, since a backlog's lines mostly share one.
   */
  topicOfAsciiName(b: Buffer, start: number, end: number): string | null {
    const last = this.lastName;
    const n = end - start;
    if (n === last.length) {
      let k = 0;
      while (k < n && b[start + k] === last[k]) k++;
      if (k === n) return this.lastNameTopic;
    }
    const outcome = this.outcomeOf(b.toString('latin1', start, end));
    // A copy: a Buffer's slice() is a view, and `b` may be let go.
    this.lastName = Uint8Array.from(b.subarray(start, end));
    this.lastNameTopic = outcome.topic ?? null;
    return this.lastNameTopic;
  }

  private outcomeOf(name: string): TopicOutcome {
    const known = this.outcomes.get(name);
    if (known) return known;
    const topic = this.topicFor(name);
    const err = topicError(topic);
    const outcome: TopicOutcome = err
      ? { reason: `invalid topic "${topic}": ${err}` }
      : isReservedTopic(topic)
        ? { reason: `reserved topic "${topic}"` }
        : { topic };
    if (this.outcomes.size >= MAX_REMEMBERED_NAMES) this.outcomes.clear();
    this.outcomes.set(name, outcome);
    return outcome;
  }
}

/** JSON when the text parses as JSON (and no integer would be rounded), else `{data: text}`. */
export function parsePayload(text: string): unknown {
  const json = jsonPayload(text);
  return json === NOT_JSON ? { data: text } : json;
}

const NOT_JSON: unique symbol = Symbol('not JSON');

/** The JSON value of `text`, or {@link NOT_JSON} (also for an integer JSON.parse would round). */
function jsonPayload(text: string): unknown {
  // Fast exit for the common `JOB|some text`: JSON can only start with these.
  if (!/^\s*[[{"\-0-9tfn]/.test(text)) return NOT_JSON;
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return NOT_JSON;
  }
  if (typeof value === 'number' && Number.isInteger(value) && !Number.isSafeInteger(value)) return NOT_JSON;
  return value;
}
