/**
 * The fuzz test's oracle: what the wire contract (docs/protocol.md), the project's
 * recorded decisions (docs/protocol.md) and the decisions for depth, ids and precedence
 * say the broker must answer to one frame, given what is known about the connection.
 *
 * It is written from those documents, not from src/, so it can disagree with the broker.
 * Where the documents leave a choice open (a `null` optional param, control characters
 * in the C1 range, which of two applicable -32602/-32004 errors comes first) it accepts
 * every reasonable answer instead of guessing the implementation's.
 */
import { decodeBody, scanDepth } from './json-text.js';

export type Id = string | number | null;

/** Deepest nesting the contract accepts; the top-level array or object is depth 1. */
export const MAX_DEPTH = 64;
/** The broker's max_message_size in the fuzz runs (the default). */
export const MAX_MESSAGE_SIZE = 1024 * 1024;
const MAX_SUBSCRIPTIONS = 1000;
const MAX_TOPIC_LENGTH = 65_535;
const MAX_CLIENT_ID = 128;
const MAX_REQUEST_TIMEOUT_S = 300;

export const CODES = {
  PARSE: -32700,
  INVALID_REQUEST: -32600,
  METHOD_NOT_FOUND: -32601,
  INVALID_PARAMS: -32602,
  INTERNAL: -32603,
  NOT_CONNECTED: -32001,
  TIMEOUT: -32002,
  SUBSCRIPTION: -32003,
  PUBLISH: -32004,
  NO_RESPONDERS: -32005,
  LIMIT: -32006,
} as const;

/** Param names in positional order, per docs/protocol.md. */
const METHOD_PARAMS: ReadonlyMap<string, readonly string[]> = new Map([
  ['connect', ['client_id', 'client_type', 'version', 'token', 'clean_session']],
  ['disconnect', []],
  ['subscribe', ['patterns']],
  ['unsubscribe', ['patterns']],
  ['publish', ['topic', 'payload', 'qos', 'ttl', 'retain']],
  ['request', ['topic', 'payload', 'timeout']],
  ['reply', ['reply_to', 'result', 'error']],
  ['ack', ['message_id']],
  ['ping', []],
  ['status', []],
  ['subscriptions', ['client_id']],
  ['_internal.message_acks', ['message_id']],
]);
const ALLOWED_BEFORE_CONNECT = new Set(['connect', 'ping', 'disconnect']);
/** Topics whose `request` the broker answers itself. */
const BROKER_REQUEST_TOPICS = new Set(['status', 'subscriptions', '_internal.message_acks']);
export const TIMESTAMP_RE = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}\+00:00$/;

/** What the oracle knows about one fuzz connection. */
export interface ConnModel {
  connected: boolean;
  clientId: string | null;
  /** The session's patterns, or null once a divergence made them unknown. */
  patterns: Set<string> | null;
}

export function cloneModel(m: ConnModel): ConnModel {
  return { connected: m.connected, clientId: m.clientId, patterns: m.patterns ? new Set(m.patterns) : null };
}

/** A response object from the broker (shape checked by {@link checkEnvelope}). */
export interface Resp {
  jsonrpc: unknown;
  id: unknown;
  result?: unknown;
  error?: { code: number; message: string; data?: unknown };
}

/** What the answer to one call (one batch member, or a whole frame) must be. */
export interface CallExpect {
  id: Id;
  /** Human-readable, e.g. `error -32600` or `result {pong}`. */
  describe: string;
  /** Null when `resp` is right, else what is wrong. Only called on a valid envelope with the right id. */
  check(resp: Resp): string | null;
  /** Called with the answer once it checked out (keeps the model in step, e.g. patterns). */
  learn?(resp: Resp): void;
}

export interface FrameExpect {
  /** `none`: nothing at all; `single`: one object; `batch`: one array of `calls.length` objects. */
  shape: 'none' | 'single' | 'batch';
  calls: CallExpect[];
  /** The answer may come after the next sync (a `request` that may have been routed). */
  lateOk: boolean;
  /** How long a late answer may take. */
  lateMs: number;
  /** The broker closes the connection after answering (a `disconnect` call). */
  closes: boolean;
  /** A `connect` on an unconnected socket was in the frame: verify the state with a probe. */
  connectAttempt: boolean;
  /** Whether the model is sure of the connection state after the frame. */
  connectKnown: boolean;
  /** The frame would take over a client id the harness must keep (never send it). */
  forbidden: boolean;
  /** Methods of the calls, for failure labels. */
  methods: string[];
}

const isObj = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
const isEchoable = (id: unknown): id is Id => typeof id === 'string' || id === null || (typeof id === 'number' && Number.isSafeInteger(id));
const echo = (id: unknown): Id => (isEchoable(id) ? id : null);

// ---------------------------------------------------------------------------------------
// Expectation builders

function errorExpect(id: Id, codes: readonly number[], extra?: (e: NonNullable<Resp['error']>) => string | null, note = ''): CallExpect {
  return {
    id,
    describe: `error ${codes.join('|')}${note}`,
    check(resp) {
      if (!resp.error) return `expected error ${codes.join('|')}${note}, got result ${short(resp.result)}`;
      if (!codes.includes(resp.error.code)) return `expected error ${codes.join('|')}${note}, got error ${resp.error.code} (${resp.error.message})`;
      return extra ? extra(resp.error) : null;
    },
  };
}

function resultExpect(id: Id, describe: string, pred: (r: unknown) => string | null, learn?: (r: unknown) => void): CallExpect {
  return {
    id,
    describe: `result ${describe}`,
    check(resp) {
      if (resp.error) return `expected result ${describe}, got error ${resp.error.code} (${resp.error.message})`;
      const problem = pred(resp.result);
      return problem === null ? null : `expected result ${describe}: ${problem}; got ${short(resp.result)}`;
    },
    learn: learn ? (resp) => learn(resp.result) : undefined,
  };
}

/** Right when any alternative is right; `learn` goes to the alternative that matched. */
function oneOf(id: Id, alternatives: CallExpect[]): CallExpect {
  return {
    id,
    describe: alternatives.map((a) => a.describe).join(' or '),
    check(resp) {
      const problems: string[] = [];
      for (const a of alternatives) {
        const p = a.check(resp);
        if (p === null) return null;
        problems.push(p);
      }
      return problems.join(' / ');
    },
    learn(resp) {
      for (const a of alternatives) {
        if (a.check(resp) === null) {
          a.learn?.(resp);
          return;
        }
      }
    },
  };
}

export function short(v: unknown, limit = 200): string {
  let s: string;
  try {
    s = JSON.stringify(v) ?? String(v);
  } catch {
    s = String(v);
  }
  return s.length > limit ? `${s.slice(0, limit)}...` : s;
}

const depthError = (): CallExpect =>
  errorExpect(null, [CODES.INVALID_REQUEST], (e) => (isObj(e.data) && e.data.max_depth === MAX_DEPTH ? null : `error.data.max_depth must be ${MAX_DEPTH}, got data ${short(e.data)}`), ' (max_depth)');
const parseError = (): CallExpect => errorExpect(null, [CODES.PARSE]);

/** What is wrong with an answer's envelope: `kind` has no values in it (for grouping), `detail` does. */
export interface EnvelopeProblem {
  kind: string;
  detail: string;
}

/** Null for a valid JSON-RPC 2.0 response envelope with exactly one of result/error and a contract code. */
export function checkEnvelope(r: unknown): EnvelopeProblem | null {
  const bad = (kind: string, detail: string): EnvelopeProblem => ({ kind, detail });
  if (!isObj(r)) return bad('not an object', short(r));
  for (const k of Object.keys(r)) if (!['jsonrpc', 'id', 'result', 'error'].includes(k)) return bad('an unexpected member', `member "${k}" in ${short(r)}`);
  if (r.jsonrpc !== '2.0') return bad('jsonrpc is not "2.0"', short(r.jsonrpc));
  if (!('id' in r)) return bad('no id', short(r));
  if (!isEchoable(r.id)) return bad('an id that is not a string, null or safe integer', `answer id ${short(r.id)}`);
  const hasResult = 'result' in r;
  const hasError = 'error' in r;
  if (hasResult === hasError) return bad(hasResult ? 'both result and error' : 'neither result nor error', short(r));
  if (hasError) {
    const e = r.error;
    if (!isObj(e)) return bad('an error that is not an object', short(e));
    if (typeof e.code !== 'number' || !Number.isInteger(e.code)) return bad('a non-integer error code', short(e.code));
    if (typeof e.message !== 'string') return bad('an error without a message', short(e));
    if (e.code === CODES.INTERNAL) return bad('internal error -32603 (a broker bug by the contract\'s own words)', e.message);
    const known: number[] = Object.values(CODES);
    if (!known.includes(e.code)) return bad('an error code that is not in the contract', String(e.code));
  }
  return null;
}

// ---------------------------------------------------------------------------------------
// Topics and patterns, per the contract and docs/protocol.md

/** C0 controls and DEL are "control characters" for sure; C1 controls only maybe. */
const CONTROL_SURE = /[\u0000-\u001f\u007f]/;
const CONTROL_MAYBE = /[\u0080-\u009f]/;
const WILDCARD = /[*+#]/;

type Verdict = 'valid' | 'invalid' | 'unsure';

function topicVerdict(topic: unknown): Verdict {
  if (typeof topic !== 'string') return 'invalid';
  if (topic.length === 0 || topic.length > MAX_TOPIC_LENGTH) return 'invalid';
  if (CONTROL_SURE.test(topic) || WILDCARD.test(topic)) return 'invalid';
  if (topic.split('.').some((l) => l.length === 0)) return 'invalid';
  return CONTROL_MAYBE.test(topic) ? 'unsure' : 'valid';
}

function patternVerdict(pattern: string): Verdict {
  if (pattern.length === 0 || pattern.length > MAX_TOPIC_LENGTH) return 'invalid';
  if (CONTROL_SURE.test(pattern)) return 'invalid';
  const levels = pattern.split('.');
  for (let i = 0; i < levels.length; i++) {
    const l = levels[i]!;
    if (l.length === 0) return 'invalid';
    if (l === '*' || l === '+') continue;
    if (l === '#') {
      if (i !== levels.length - 1) return 'invalid';
      continue;
    }
    if (WILDCARD.test(l)) return 'invalid';
  }
  return CONTROL_MAYBE.test(pattern) ? 'unsure' : 'valid';
}

const isReserved = (topic: string): boolean => topic.startsWith('system.') || topic.startsWith('_internal.');

// ---------------------------------------------------------------------------------------
// Param checks: each returns the error codes that certainly / possibly apply.

interface Faults {
  sure: Set<number>;
  maybe: Set<number>;
}
const noFaults = (): Faults => ({ sure: new Set(), maybe: new Set() });

/** An optional param: absent is fine, `null` may or may not count as absent, else `ok` decides. */
function optional(f: Faults, v: unknown, ok: (v: unknown) => boolean): void {
  if (v === undefined) return;
  if (v === null) f.maybe.add(CODES.INVALID_PARAMS);
  else if (!ok(v)) f.sure.add(CODES.INVALID_PARAMS);
}

function requiredString(f: Faults, v: unknown): void {
  if (typeof v !== 'string') f.sure.add(CODES.INVALID_PARAMS);
}

/**
 * What `subscribe` and `unsubscribe` say of `list`'s invalid patterns: which are sure to be
 * invalid, whether any is unsure, and the -32003 answer that lists them in `data.invalid`.
 */
function invalidPatterns(id: Id, list: readonly string[]): { bad: string[]; unsure: boolean; invalidExpect: CallExpect } {
  const verdicts = list.map(patternVerdict);
  const bad = list.filter((_, i) => verdicts[i] === 'invalid');
  const unsure = verdicts.includes('unsure');
  const invalidExpect = errorExpect(id, [CODES.SUBSCRIPTION], (e) => {
    const inv = isObj(e.data) ? e.data.invalid : undefined;
    if (!Array.isArray(inv)) return `error.data.invalid must list the invalid patterns, got data ${short(e.data)}`;
    if (!unsure && !sameSet(inv as string[], bad)) return `error.data.invalid is ${short(inv)}, expected ${short(bad)}`;
    return null;
  }, ' (invalid pattern)');
  return { bad, unsure, invalidExpect };
}

/** `patterns`: a non-empty array of strings. */
function patternList(f: Faults, v: unknown): string[] | null {
  if (!Array.isArray(v) || v.length === 0 || v.some((p) => typeof p !== 'string')) {
    f.sure.add(CODES.INVALID_PARAMS);
    return null;
  }
  return [...new Set(v as string[])];
}

const finite = (v: unknown): v is number => typeof v === 'number' && Number.isFinite(v);

/**
 * Combine what the params say with the success expectation: any sure fault means an error
 * with one of the (sure or maybe) codes; maybe-faults alone allow success or that error.
 */
function resolve(id: Id, f: Faults, success: () => CallExpect): { exp: CallExpect; certainSuccess: boolean; certainFailure: boolean } {
  if (f.sure.size > 0) return { exp: errorExpect(id, [...f.sure, ...f.maybe]), certainSuccess: false, certainFailure: true };
  if (f.maybe.size > 0) return { exp: oneOf(id, [success(), errorExpect(id, [...f.maybe])]), certainSuccess: false, certainFailure: false };
  return { exp: success(), certainSuccess: true, certainFailure: false };
}

// ---------------------------------------------------------------------------------------
// Result shapes

const isNonNegInt = (v: unknown): boolean => typeof v === 'number' && Number.isSafeInteger(v) && v >= 0;

function pongCheck(r: unknown): string | null {
  if (!isObj(r) || r.pong !== true) return 'pong must be true';
  if (typeof r.timestamp !== 'string' || !TIMESTAMP_RE.test(r.timestamp)) return `timestamp ${short(r.timestamp)} is not ISO 8601 with +00:00`;
  return null;
}

function statusCheck(r: unknown): string | null {
  if (!isObj(r)) return 'not an object';
  for (const k of ['client_count', 'message_count']) if (!isNonNegInt(r[k])) return `${k} is not a count`;
  if (typeof r.uptime !== 'number' || r.uptime < 0) return 'uptime is not a number';
  if (typeof r.started_at !== 'string' || !TIMESTAMP_RE.test(r.started_at)) return 'started_at is not a contract timestamp';
  if (typeof r.version !== 'string') return 'version is not a string';
  return null;
}

function sameSet(a: readonly string[], b: Iterable<string>): boolean {
  const sb = new Set(b);
  const sa = new Set(a);
  return sa.size === sb.size && a.length === sa.size && [...sa].every((x) => sb.has(x));
}

function sameList(got: readonly unknown[], want: readonly string[]): boolean {
  return got.length === want.length && want.every((x, i) => got[i] === x);
}

function isSubsequence(sub: readonly unknown[], of: readonly string[]): boolean {
  let j = 0;
  for (const x of sub) {
    while (j < of.length && of[j] !== x) j++;
    if (j === of.length) return false;
    j++;
  }
  return true;
}

// ---------------------------------------------------------------------------------------
// The classifier

interface ElementOutcome {
  exp: CallExpect | null; // null: a notification, no answer
  closes: boolean;
  late: boolean;
  lateMs: number;
  connectAttempt: boolean;
  forbidden: boolean;
  method: string;
}

export interface ClassifyOptions {
  /** Client ids a fuzz frame must never connect as (other fuzz connections, the canary). */
  protectedIds: ReadonlySet<string>;
}

/**
 * The expectation for one frame body on a connection in state `model`; `model` is
 * updated to the state after the frame (with `connected` possibly unsure, see
 * `connectKnown`).
 */
export function expectFrame(body: Buffer, model: ConnModel, opts: ClassifyOptions): FrameExpect {
  const base = (shape: FrameExpect['shape'], calls: CallExpect[]): FrameExpect => ({
    shape,
    calls,
    lateOk: false,
    lateMs: 0,
    closes: false,
    connectAttempt: false,
    connectKnown: true,
    forbidden: false,
    methods: [],
  });
  if (body.length === 0) return base('single', [parseError()]);

  const depth = scanDepth(body);
  const text = decodeBody(body);
  let value: unknown;
  let parsedOk = true;
  try {
    value = JSON.parse(text);
  } catch {
    parsedOk = false;
  }
  if (!parsedOk) {
    if (depth.wentNegative) {
      // Invalid text that closes more than it opens: depth scanners may differ, so either refusal is right.
      return base('single', [oneOf(null, [depthError(), parseError()])]);
    }
    return base('single', [depth.max > MAX_DEPTH ? depthError() : parseError()]);
  }
  if (depth.max > MAX_DEPTH) return base('single', [depthError()]);

  const outcomes: ElementOutcome[] = [];
  const frame: FrameState = { connectKnown: true, learners: [] };
  const one = (v: unknown): void => {
    outcomes.push(classifyElement(v, model, opts, frame));
  };
  let shape: FrameExpect['shape'];
  if (Array.isArray(value)) {
    if (value.length === 0) return base('single', [errorExpect(null, [CODES.INVALID_REQUEST])]);
    for (const v of value) one(v);
    shape = outcomes.some((o) => o.exp) ? 'batch' : 'none';
  } else {
    one(value);
    shape = outcomes[0]!.exp ? 'single' : 'none';
  }
  const exp = base(
    shape,
    outcomes.flatMap((o) => (o.exp ? [o.exp] : [])),
  );
  exp.closes = outcomes.some((o) => o.closes);
  exp.lateOk = outcomes.some((o) => o.late);
  exp.lateMs = Math.max(0, ...outcomes.map((o) => o.lateMs));
  exp.connectAttempt = outcomes.some((o) => o.connectAttempt);
  exp.forbidden = outcomes.some((o) => o.forbidden);
  exp.connectKnown = frame.connectKnown;
  exp.methods = outcomes.map((o) => o.method);
  return exp;
}

/** Per-frame bookkeeping shared by the members of a batch. */
interface FrameState {
  connectKnown: boolean;
  /** `subscriptions` answers that may teach the model its patterns. */
  learners: { valid: boolean }[];
}

function classifyElement(v: unknown, model: ConnModel, opts: ClassifyOptions, frame: FrameState): ElementOutcome {
  const out: ElementOutcome = { exp: null, closes: false, late: false, lateMs: 0, connectAttempt: false, forbidden: false, method: '(invalid)' };
  const invalid = (id: Id): ElementOutcome => ({ ...out, exp: errorExpect(id, [CODES.INVALID_REQUEST]) });
  if (!isObj(v)) return invalid(null);
  const rawId = v.id;
  if (v.jsonrpc !== '2.0') return invalid(echo(rawId));
  if (rawId !== undefined && !isEchoable(rawId)) return invalid(null);
  if (!('method' in v)) return invalid(echo(rawId));
  if (typeof v.method !== 'string') return invalid(echo(rawId));
  const params = v.params;
  if (params !== undefined && !isObj(params) && !Array.isArray(params)) return invalid(echo(rawId));

  const method = v.method;
  out.method = method;
  const notification = rawId === undefined;
  const id: Id = notification ? null : (rawId as Id);
  const answer = (e: CallExpect): ElementOutcome => ({ ...out, exp: notification ? null : e });

  const names = METHOD_PARAMS.get(method);
  if (!names) return answer(errorExpect(id, [CODES.METHOD_NOT_FOUND]));
  if (method === 'connect' && model.connected) return answer(errorExpect(id, [CODES.INVALID_REQUEST], undefined, ' (already connected)'));
  if (!ALLOWED_BEFORE_CONNECT.has(method) && !model.connected) return answer(errorExpect(id, [CODES.NOT_CONNECTED]));
  if (method === 'connect') out.connectAttempt = true;
  if (Array.isArray(params) && params.length > names.length) return answer(errorExpect(id, [CODES.INVALID_PARAMS], undefined, ' (too many positional params)'));
  const p: Record<string, unknown> = {};
  if (Array.isArray(params)) params.forEach((x, i) => (p[names[i]!] = x));
  else if (params) for (const n of names) p[n] = params[n];

  const f = noFaults();
  switch (method) {
    case 'ping':
      return answer(resultExpect(id, '{pong}', pongCheck));
    case 'disconnect':
      // The session stays attached until the broker closes, after the whole frame.
      out.closes = true;
      return answer(resultExpect(id, '{disconnected: true}', (r) => (isObj(r) && r.disconnected === true && Object.keys(r).length === 1 ? null : 'must be exactly {disconnected: true}')));
    case 'status':
      return answer(resultExpect(id, '{client_count, ...}', statusCheck));
    case 'connect': {
      const cid = p.client_id;
      let idVerdict: Verdict = 'invalid';
      if (typeof cid === 'string') {
        const units = cid.length;
        const points = [...cid].length;
        const ok = (n: number): boolean => n >= 1 && n <= MAX_CLIENT_ID;
        idVerdict = cid === 'broker' ? 'invalid' : ok(units) && ok(points) ? 'valid' : ok(units) || ok(points) ? 'unsure' : 'invalid';
      }
      if (idVerdict === 'invalid') f.sure.add(CODES.INVALID_PARAMS);
      if (idVerdict === 'unsure') f.maybe.add(CODES.INVALID_PARAMS);
      optional(f, p.client_type, (x) => typeof x === 'string');
      // version: a string; the documents do not say whether a number is tolerated.
      if (typeof p.version === 'number') f.maybe.add(CODES.INVALID_PARAMS);
      else optional(f, p.version, (x) => typeof x === 'string');
      optional(f, p.clean_session, (x) => typeof x === 'boolean');
      // No token is configured: a string is ignored; another type is a decision the documents do not record.
      if (p.token !== undefined && typeof p.token !== 'string') f.maybe.add(CODES.INVALID_PARAMS);
      const clientId = cid as string;
      const r = resolve(id, f, () =>
        resultExpect(id, `connect info for ${short(clientId, 40)}`, (res) => {
          if (!isObj(res)) return 'not an object';
          if (res.client_id !== clientId) return `client_id ${short(res.client_id, 60)}`;
          if (typeof res.server_version !== 'string') return 'server_version missing';
          if (res.max_message_size !== MAX_MESSAGE_SIZE) return `max_message_size ${short(res.max_message_size)}`;
          for (const k of ['heartbeat_interval', 'heartbeat_timeout', 'max_queue_size', 'session_expiry']) if (typeof res[k] !== 'number') return `${k} missing`;
          if (typeof res.session_present !== 'boolean') return 'session_present is not a boolean';
          return null;
        }),
      );
      if (!r.certainFailure && opts.protectedIds.has(clientId)) out.forbidden = true;
      if (r.certainSuccess) {
        model.connected = true;
        model.clientId = clientId;
        model.patterns = null; // an old session with this id may hold patterns
      } else if (!r.certainFailure) {
        // Unsure whether it connected: a probe after the frame finds out.
        model.connected = true;
        model.clientId = clientId;
        model.patterns = null;
        frame.connectKnown = false;
      }
      return answer(r.exp);
    }
    case 'subscribe': {
      for (const t of frame.learners) t.valid = false;
      const list = patternList(f, p.patterns);
      if (!list) return answer(errorExpect(id, [...f.sure]));
      const { bad, unsure, invalidExpect } = invalidPatterns(id, list);
      if (bad.length > 0 && !unsure) return answer(invalidExpect);
      const limitExpect = errorExpect(
        id,
        [CODES.SUBSCRIPTION],
        (e) => (isObj(e.data) && e.data.max_subscriptions === MAX_SUBSCRIPTIONS ? null : `expected data.max_subscriptions, got ${short(e.data)}`),
        ' (too many subscriptions)',
      );
      const raw = p.patterns as string[];
      const okExpect = resultExpect(id, `{subscribed: ${short(list, 80)}}`, (r) =>
        // Duplicates: the documents do not say whether they are listed once or as sent.
        isObj(r) && Array.isArray(r.subscribed) && (sameList(r.subscribed, list) || sameList(r.subscribed, raw)) ? null : 'subscribed must list the requested patterns, in order',
      );
      if (unsure || model.patterns === null) {
        model.patterns = null;
        return answer(oneOf(id, [okExpect, invalidExpect, limitExpect]));
      }
      const held = model.patterns;
      const added = list.filter((x) => !held.has(x));
      if (held.size + added.length > MAX_SUBSCRIPTIONS) return answer(limitExpect);
      for (const x of added) held.add(x);
      return answer(okExpect);
    }
    case 'unsubscribe': {
      for (const t of frame.learners) t.valid = false;
      const list = patternList(f, p.patterns);
      if (!list) return answer(errorExpect(id, [...f.sure]));
      // A pattern that is not valid is -32003, as for subscribe (none is ever held: subscribe refuses them).
      const { bad, unsure, invalidExpect } = invalidPatterns(id, list);
      if (bad.length > 0 && !unsure) return answer(invalidExpect);
      const someExpect = resultExpect(id, '{unsubscribed: some of the patterns}', (r) =>
        isObj(r) && Array.isArray(r.unsubscribed) && isSubsequence(r.unsubscribed, list) ? null : 'unsubscribed must be some of the requested patterns, in order',
      );
      if (unsure || model.patterns === null) {
        model.patterns = null;
        return answer(unsure ? oneOf(id, [someExpect, invalidExpect]) : someExpect);
      }
      const held = model.patterns;
      const removed = list.filter((x) => held.has(x));
      for (const x of removed) held.delete(x);
      return answer(
        resultExpect(id, `{unsubscribed: ${short(removed, 80)}}`, (r) =>
          isObj(r) && Array.isArray(r.unsubscribed) && sameList(r.unsubscribed, removed) ? null : `unsubscribed must be exactly the held ones ${short(removed, 80)}`,
        ),
      );
    }
    case 'publish': {
      const tv = topicVerdict(p.topic);
      if (p.topic === undefined || tv === 'invalid') f.sure.add(CODES.INVALID_PARAMS);
      if (tv === 'unsure') f.maybe.add(CODES.INVALID_PARAMS);
      if (typeof p.topic === 'string' && isReserved(p.topic)) f.sure.add(CODES.PUBLISH);
      optional(f, p.qos, (x) => x === 0 || x === 1);
      optional(f, p.ttl, (x) => finite(x) && x >= 0);
      optional(f, p.retain, (x) => typeof x === 'boolean');
      const published = (r: unknown): string | null =>
        isObj(r) && typeof r.message_id === 'string' && r.message_id.length > 0 && isNonNegInt(r.delivered) ? null : 'needs a message_id string and a delivered count';
      return answer(resolve(id, f, () => resultExpect(id, '{message_id, delivered}', published)).exp);
    }
    case 'request': {
      optional(f, p.timeout, (x) => finite(x) && x > 0 && x <= MAX_REQUEST_TIMEOUT_S);
      const topic = p.topic;
      const timeoutS = finite(p.timeout) && p.timeout > 0 && p.timeout <= MAX_REQUEST_TIMEOUT_S ? p.timeout : 5;
      if (typeof topic === 'string' && BROKER_REQUEST_TOPICS.has(topic)) {
        if (topic === 'status') return answer(resolve(id, f, () => resultExpect(id, 'status', statusCheck)).exp);
        if (topic === 'subscriptions') {
          // The payload names the client; it may or may not have a session.
          const described = (r: unknown): string | null => (isObj(r) && typeof r.client_id === 'string' && Array.isArray(r.patterns) ? null : 'needs client_id and patterns');
          return answer(resolve(id, f, () => oneOf(id, [resultExpect(id, '{client_id, patterns}', described), errorExpect(id, [CODES.INVALID_PARAMS])])).exp);
        }
        // _internal.message_acks: fuzz frames never carry a real message id.
        return answer(errorExpect(id, [CODES.INVALID_PARAMS, ...f.sure, ...f.maybe]));
      }
      const tv = topicVerdict(topic);
      if (topic === undefined || tv === 'invalid') f.sure.add(CODES.INVALID_PARAMS);
      if (tv === 'unsure') f.maybe.add(CODES.INVALID_PARAMS);
      if (typeof topic === 'string' && topic.startsWith('_internal.')) {
        // Not a topic the broker answers: no responders (or, if also malformed, -32602).
        const codes = new Set([CODES.NO_RESPONDERS as number, ...f.sure, ...f.maybe]);
        return answer(errorExpect(id, [...codes]));
      }
      if (typeof topic === 'string' && isReserved(topic)) f.sure.add(CODES.PUBLISH);
      if (f.sure.size > 0) return answer(errorExpect(id, [...f.sure, ...f.maybe]));
      // Routable: nobody may be subscribed (-32005 at once), or another fuzz connection
      // holds a matching pattern and the harness auto-replies (late), or it times out.
      // Even as a notification: a batch holding it is answered only once it is done.
      out.late = true;
      out.lateMs = timeoutS * 1000 + 5000;
      const routed = [
        errorExpect(id, [CODES.NO_RESPONDERS]),
        resultExpect(id, '{auto_reply}', (r) => (isObj(r) && typeof r.auto_reply === 'string' ? null : 'not the harness auto-reply')),
        errorExpect(id, [CODES.TIMEOUT]),
      ];
      if (f.maybe.size > 0) routed.push(errorExpect(id, [...f.maybe]));
      return { ...out, exp: notification ? null : oneOf(id, routed) };
    }
    case 'reply': {
      // Fuzz frames never carry a real reply_to token, so a valid reply is never accepted.
      requiredString(f, p.reply_to);
      optional(f, p.error, (e) => isObj(e) && typeof e.code === 'number' && Number.isInteger(e.code) && typeof e.message === 'string');
      return answer(resolve(id, f, () => resultExpect(id, '{accepted: false}', (r) => (isObj(r) && r.accepted === false ? null : 'an unknown reply_to is never accepted'))).exp);
    }
    case 'ack':
      requiredString(f, p.message_id);
      // docs/protocol.md: acked is false when the id was not awaiting this client's ack.
      return answer(resolve(id, f, () => resultExpect(id, '{acked: false}', (r) => (isObj(r) && r.acked === false ? null : 'an unknown message id is not acked'))).exp);
    case '_internal.message_acks':
      return answer(errorExpect(id, [CODES.INVALID_PARAMS]));
    case 'subscriptions': {
      const cid = p.client_id;
      // Learning is only right when nothing later in the frame changes the patterns again.
      const ticket = { valid: true };
      frame.learners.push(ticket);
      const own = (): CallExpect => {
        const known = model.patterns ? [...model.patterns] : null;
        return resultExpect(
          id,
          `{client_id: own, patterns${known ? `: ${short(known, 60)}` : ''}}`,
          (r) => {
            if (!isObj(r) || r.client_id !== model.clientId) return 'client_id must be the caller';
            if (!Array.isArray(r.patterns) || r.patterns.some((x) => typeof x !== 'string')) return 'patterns must be a list of strings';
            if (known && !sameSet(r.patterns as string[], known)) {
              const got = new Set(r.patterns as string[]);
              const missing = known.filter((x) => !got.has(x));
              const extra = [...got].filter((x) => !known.includes(x));
              return `patterns differ from the ${known.length} the calls so far leave: missing ${short(missing, 150)}, extra ${short(extra, 150)}`;
            }
            return null;
          },
          // Learn the patterns: after a divergence this is how the model gets back in step.
          (r) => {
            if (ticket.valid && isObj(r) && Array.isArray(r.patterns)) model.patterns = new Set(r.patterns as string[]);
          },
        );
      };
      if (cid === undefined || cid === model.clientId) return answer(own());
      if (cid === null) return answer(oneOf(id, [own(), errorExpect(id, [CODES.INVALID_PARAMS])]));
      if (typeof cid !== 'string') return answer(errorExpect(id, [CODES.INVALID_PARAMS]));
      // Another client's session: it may exist or not.
      return answer(
        oneOf(id, [
          resultExpect(id, '{client_id, patterns}', (r) => (isObj(r) && r.client_id === cid && Array.isArray(r.patterns) ? null : 'must describe the asked client')),
          errorExpect(id, [CODES.INVALID_PARAMS]),
        ]),
      );
    }
    default:
      throw new Error(`oracle: no rule for method ${method}`);
  }
}
