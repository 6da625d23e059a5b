/**
 * Runs one fuzz seed against a real broker: a few fuzz connections (two connected, one
 * never connected) pipeline windows of frame + sync-ping pairs, a QoS 1 canary pair
 * exchanges sequence-numbered messages alongside, and every answer is checked against
 * the oracle. Failures are collected (not thrown) so one run reports every distinct
 * defect, each with the seed and the offending frame.
 */
import { appendFileSync } from 'node:fs';
import { startBroker } from '../broker-fixture.js';
import { CATEGORIES, FrameGenerator, type Category, type GenFrame } from './generator.js';
import { frameOf, showBody } from './json-text.js';
import { checkEnvelope, CODES, cloneModel, expectFrame, short, type CallExpect, type ClassifyOptions, type ConnModel, type FrameExpect, type Resp } from './oracle.js';
import { Rng } from './prng.js';
import { frameJson, FuzzSocket, Unparsable } from './wire.js';

/** How long a window's final sync may take on a loaded 2-core machine. */
const WINDOW_TIMEOUT_MS = 20_000;
const CANARY_TOPIC = 'canary.seq';
/** FUZZ_DEBUG=1 prints progress and late answers to stderr. */
const DEBUG = process.env.FUZZ_DEBUG === '1';
/** FUZZ_TRACE=A (a role) prints every frame of that connection with what was expected and received. */
const TRACE = process.env.FUZZ_TRACE;
const debug = (msg: string): void => {
  if (DEBUG || TRACE) process.stderr.write(`[fuzz ${new Date().toISOString().slice(11, 23)}] ${msg}\n`);
};

export interface Failure {
  key: string;
  seed: number;
  conn: string;
  frameNo: number;
  label: string;
  frame: string;
  problem: string;
}

export interface SeedStats {
  seed: number;
  frames: Record<Category, number>;
  framesTotal: number;
  /** Fuzz frames whose answer (or verified silence) was checked. */
  framesChecked: number;
  /** Answer frames received for fuzz frames and matched to one. */
  answersChecked: number;
  windows: number;
  deliveries: number;
  autoReplies: number;
  lateAnswers: number;
  accidentalConnects: number;
  reopened: number;
  canaryMessages: number;
  /** The first failure of each distinct kind, with how often that kind occurred. */
  failures: (Failure & { count: number })[];
}

/** FUZZ_DUMP=file appends every failure (not only samples) to `file` as JSON lines, for triage. */
const DUMP = process.env.FUZZ_DUMP;

/** Collects failures; keeps the first sample of every distinct kind, and counts. */
class FailureLog {
  readonly samples: Failure[] = [];
  readonly counts = new Map<string, number>();
  count = 0;

  add(f: Failure): void {
    this.count++;
    if (DUMP) appendFileSync(DUMP, `${JSON.stringify(f)}\n`);
    const n = this.counts.get(f.key) ?? 0;
    this.counts.set(f.key, n + 1);
    if (n === 0) this.samples.push(f);
  }
}

type Role = 'A' | 'B' | 'U';

/** Mutated and random frames share one group in failure keys: the mutation is not the defect. */
const groupOf = (c: Category): string => (c.startsWith('mut-') || c === 'random-bytes' || c === 'token-soup' ? 'mutated' : c);

/** Strip the values (pattern lists, strings) an expectation's description may quote, for grouping. */
const valueFree = (kind: string): string => kind.replace(/"(?:[^"\\]|\\.)*"/g, '"…"').replace(/\["[^\]]*\]/g, '[…]');

const summary = (a: unknown): string => {
  if (a instanceof Unparsable) return 'unparsable text';
  if (Array.isArray(a)) return `array[${a.length}]`;
  if (typeof a !== 'object' || a === null) return 'non-object';
  const o = a as Record<string, unknown>;
  if (o.error && typeof o.error === 'object') return `error ${String((o.error as { code?: unknown }).code)}`;
  if ('result' in o) return 'result';
  if ('method' in o) return `method ${short(o.method, 30)}`;
  return 'object';
};

const describeFrame = (exp: FrameExpect): string =>
  exp.shape === 'none' ? 'no answer' : exp.shape === 'single' ? exp.calls[0]!.describe : `array of ${exp.calls.length} [${exp.calls.map((c) => c.describe).join(', ')}]`;

const idsMatch = (a: unknown, exp: FrameExpect): boolean => {
  if (exp.shape === 'single') return typeof a === 'object' && a !== null && !Array.isArray(a) && (a as Resp).id === exp.calls[0]!.id;
  if (exp.shape === 'batch') return Array.isArray(a) && a.length === exp.calls.length && a.every((x, i) => typeof x === 'object' && x !== null && (x as Resp).id === exp.calls[i]!.id);
  return false;
};

/** Same shape (one object, or an array of the same length) whatever the ids. */
const shapeMatches = (a: unknown, exp: FrameExpect): boolean =>
  exp.shape === 'single' ? typeof a === 'object' && a !== null && !Array.isArray(a) && !(a instanceof Unparsable) : exp.shape === 'batch' && Array.isArray(a) && a.length === exp.calls.length;

interface Problem {
  /** Normalised, for grouping: no ids or values in it. */
  kind: string;
  detail: string;
}

/** Null when `a` is the right answer to a frame expecting `exp`. */
function checkAnswer(a: unknown, exp: FrameExpect): Problem | null {
  const one = (x: unknown, c: CallExpect, where: string): Problem | null => {
    const env = checkEnvelope(x);
    if (env) return { kind: `${where}expected ${c.describe}, got an answer with ${env.kind}`, detail: env.detail };
    const r = x as Resp;
    if (r.id !== c.id) return { kind: `${where}expected ${c.describe}: wrong id`, detail: `id ${short(r.id)} instead of ${short(c.id)}` };
    const p = c.check(r);
    return p ? { kind: `${where}expected ${c.describe}, got ${summary(x)}`, detail: p } : null;
  };
  if (exp.shape === 'none') return { kind: `expected no answer, got ${summary(a)}`, detail: short(a) };
  if (exp.shape === 'single') {
    if (Array.isArray(a) || a instanceof Unparsable) return { kind: `expected ${exp.calls[0]!.describe}, got ${summary(a)}`, detail: short(a) };
    return one(a, exp.calls[0]!, '');
  }
  if (!Array.isArray(a)) return { kind: `expected ${describeFrame(exp)}, got ${summary(a)}`, detail: short(a) };
  if (a.length !== exp.calls.length) return { kind: `expected an array of ${exp.calls.length}, got array[${a.length}]`, detail: short(a) };
  for (let i = 0; i < a.length; i++) {
    const p = one(a[i], exp.calls[i]!, 'batch member: ');
    if (p) return { kind: p.kind, detail: `member ${i}: ${p.detail}` };
  }
  return null;
}

function learnFrom(a: unknown, exp: FrameExpect): void {
  if (exp.shape === 'single') exp.calls[0]!.learn?.(a as Resp);
  else if (exp.shape === 'batch' && Array.isArray(a)) exp.calls.forEach((c, i) => c.learn?.(a[i] as Resp));
}

interface Entry {
  no: number;
  frame: GenFrame;
  syncId: string | null;
  probeId: string | null;
}

interface Late {
  entry: Entry;
  exp: FrameExpect;
  deadline: number;
}

class FuzzConnection {
  sock!: FuzzSocket;
  model: ConnModel;
  private readonly gen: FrameGenerator;
  private readonly rng: Rng;
  private frameNo = 0;
  private syncNo = 0;
  private deliveriesBefore = 0;

  constructor(
    private readonly run: SeedRun,
    readonly role: Role,
    /** Null for the connection that starts (and is kept) unconnected. */
    readonly clientId: string | null,
  ) {
    this.rng = new Rng(run.seed, role.charCodeAt(0));
    this.gen = new FrameGenerator(this.rng, `${role.toLowerCase()}${run.seed}`);
    this.model = { connected: false, clientId: null, patterns: new Set() };
  }

  get deliveries(): number {
    return this.deliveriesBefore + (this.sock?.deliveries ?? 0);
  }

  /** Open a socket; for A and B `connect` it (again) as their client id. */
  async open(): Promise<void> {
    if (this.sock) {
      this.deliveriesBefore += this.sock.deliveries;
      this.sock.close();
    }
    this.sock = await FuzzSocket.open(this.run.port);
    this.sock.onDelivery = (params) => {
      // Answer routed requests at once, as a notification so this connection's own
      // answer stream is unchanged: the requester then gets a result, not a timeout.
      if (typeof params.reply_to === 'string') {
        this.run.stats.autoReplies++;
        this.sock.write(frameJson({ jsonrpc: '2.0', method: 'reply', params: { reply_to: params.reply_to, result: { auto_reply: this.role } } }));
      }
    };
    if (this.clientId === null) {
      this.model = { connected: false, clientId: null, patterns: new Set() };
      return;
    }
    const res = (await this.sock.call('connect', { client_id: this.clientId, client_type: 'fuzz', version: '1' }, `${this.role}-connect`)) as Resp;
    if (!res || res.error || (res.result as { client_id?: unknown })?.client_id !== this.clientId) {
      throw new Error(`seed ${this.run.seed}: the harness could not connect ${this.clientId}: ${short(res)}`);
    }
    // The session (and its patterns) survives a disconnect, so the model keeps them.
    this.model = { connected: true, clientId: this.clientId, patterns: this.model.patterns };
  }

  /** Leave cleanly: after `disconnect` is answered the session is offline, so no responder. */
  async leave(): Promise<void> {
    if (!this.sock || this.sock.isClosed) return;
    this.sock.write(frameJson({ jsonrpc: '2.0', method: 'disconnect', id: `${this.role}-bye` }));
    await this.sock.closedWithin(WINDOW_TIMEOUT_MS);
  }

  async loop(deadline: number): Promise<void> {
    while (Date.now() < deadline) {
      const entries = this.buildWindow();
      await this.send(entries);
      const t0 = Date.now();
      const outcome = await this.check(entries);
      if (Date.now() - t0 > 500) debug(`${this.role} window of ${entries.length} took ${Date.now() - t0} ms to check`);
      this.run.stats.windows++;
      if (outcome === 'reopen' || this.sock.isClosed || (this.clientId === null && this.model.connected)) {
        if (this.clientId === null && this.model.connected && outcome !== 'reopen') this.run.stats.accidentalConnects++;
        this.run.stats.reopened++;
        await this.open();
      }
    }
  }

  private buildWindow(): Entry[] {
    let genModel = cloneModel(this.model);
    const size = this.rng.int(100, 200);
    const entries: Entry[] = [];
    while (entries.length < size) {
      let frame: GenFrame;
      let exp: FrameExpect;
      for (let tries = 0; ; tries++) {
        const m = cloneModel(genModel);
        frame = this.gen.next(genModel);
        exp = expectFrame(frame.body, m, this.run.classifyOptions);
        if (!exp.forbidden) {
          genModel = m;
          break;
        }
        if (tries > 50) throw new Error('generator keeps producing forbidden frames');
      }
      this.run.stats.frames[frame.category]++;
      this.run.stats.framesTotal++;
      const e: Entry = { no: ++this.frameNo, frame, syncId: null, probeId: null };
      entries.push(e);
      if (exp.closes) break; // nothing after it would be read
      e.syncId = `~sync~${this.role}~${++this.syncNo}`;
      if (exp.connectAttempt) {
        // The connection state may have changed: probe it before generating more.
        e.probeId = `~probe~${this.role}~${this.syncNo}`;
        break;
      }
    }
    return entries;
  }

  private async send(entries: Entry[]): Promise<void> {
    const parts: Buffer[] = [];
    for (const e of entries) {
      parts.push(frameOf(e.frame.body));
      if (e.syncId) parts.push(frameJson({ jsonrpc: '2.0', method: 'ping', id: e.syncId }));
      if (e.probeId) parts.push(frameJson({ jsonrpc: '2.0', method: 'subscriptions', id: e.probeId }));
    }
    const bytes = Buffer.concat(parts);
    // Cut the window anywhere (headers included) so frames straddle the broker's reads.
    const cuts = Array.from({ length: this.rng.int(0, 4) }, () => this.rng.int(1, Math.max(1, bytes.length - 1))).sort((a, b) => a - b);
    const yieldAt = new Set(cuts.map((_, i) => i).filter(() => this.rng.chance(0.5)));
    await this.sock.writePieces(bytes, cuts, yieldAt);
  }

  private fail(e: Entry, p: Problem): void {
    this.run.failures.add({
      key: `${groupOf(e.frame.category)}: ${valueFree(p.kind)}`,
      seed: this.run.seed,
      conn: `${this.role}${this.clientId ? '' : ' (unconnected)'}`,
      frameNo: e.no,
      label: e.frame.label,
      frame: showBody(e.frame.body),
      problem: p.detail,
    });
  }

  /** Check a window's answers; 'reopen' when the connection was lost or closed on purpose. */
  private async check(entries: Entry[]): Promise<'ok' | 'reopen'> {
    const sock = this.sock;
    const last = entries[entries.length - 1]!;
    const finalId = last.probeId ?? last.syncId;
    let scanned = 0;
    const hasFinal = (): boolean => {
      for (; scanned < sock.answers.length; scanned++) if (isObjWithId(sock.answers[scanned], finalId)) return true;
      return false;
    };
    const closing = finalId === null;
    if (closing) await sock.closedWithin(WINDOW_TIMEOUT_MS);
    else await sock.until(hasFinal, WINDOW_TIMEOUT_MS);

    const answers = sock.answers;
    let cursor = 0;
    const pending: Late[] = [];
    let lostAt: Entry | null = null;
    let lostSeg: unknown[] = [];
    for (const e of entries) {
      const exp = expectFrame(e.frame.body, this.model, this.run.classifyOptions);
      let seg: unknown[];
      if (e.syncId) {
        const idx = indexOfId(answers, cursor, e.syncId);
        if (idx < 0) {
          lostAt = e;
          lostSeg = answers.slice(cursor);
          cursor = answers.length;
          this.attribute(e, exp, lostSeg, pending, true);
          break;
        }
        seg = answers.slice(cursor, idx);
        const sync = answers[idx] as Resp;
        cursor = idx + 1;
        const p = checkEnvelope(sync)?.detail ?? (sync.error ? `error ${sync.error.code}` : (sync.result as { pong?: unknown })?.pong === true ? null : 'not a pong');
        if (p) this.fail(e, { kind: 'the sync ping after the frame was not answered with a pong', detail: `${p}: ${short(sync)}` });
      } else {
        seg = answers.slice(cursor);
        cursor = answers.length;
      }
      this.attribute(e, exp, seg, pending, false);
      if (e.probeId) {
        const idx = indexOfId(answers, cursor, e.probeId);
        if (idx < 0) {
          lostAt = e;
          break;
        }
        this.matchLate(e, answers.slice(cursor, idx), pending);
        const probe = answers[idx] as Resp;
        cursor = idx + 1;
        const connected = probe.error ? probe.error.code !== CODES.NOT_CONNECTED : true;
        if (exp.connectKnown && connected !== this.model.connected) {
          this.fail(e, { kind: `after the frame the connection should be ${this.model.connected ? 'connected' : 'unconnected'}, the probe says otherwise`, detail: short(probe) });
        }
        this.model.connected = connected;
        if (connected) this.model.clientId = (probe.result as { client_id?: string })?.client_id ?? null;
      }
    }
    if (lostAt) {
      const why = sock.isClosed ? 'the broker closed the connection' : `no answer to the sync ping within ${WINDOW_TIMEOUT_MS} ms`;
      this.fail(lostAt, { kind: `${why} after this frame`, detail: `${why}; received after the previous sync: ${short(lostSeg)}` });
      answers.splice(0);
      return 'reopen';
    }
    // Answers to `request` calls may follow later syncs (they are asynchronous), and
    // routed ones come once answered: match what is here, then wait for the rest.
    for (;;) {
      this.matchLate(last, answers.slice(cursor), pending);
      cursor = answers.length;
      const now = Date.now();
      for (const p of pending.filter((x) => x.deadline <= now)) {
        this.fail(p.entry, { kind: `no answer at all (a request that may be answered late: ${describeFrame(p.exp)})`, detail: `nothing within ${p.exp.lateMs} ms` });
        pending.splice(pending.indexOf(p), 1);
      }
      if (pending.length === 0 || sock.isClosed) break;
      const before = answers.length;
      const deadline = Math.min(...pending.map((p) => p.deadline));
      await sock.until(() => answers.length > before, Math.max(0, deadline - Date.now()));
    }
    if (closing) {
      if (!sock.isClosed) this.fail(last, { kind: 'the connection stayed open after disconnect', detail: `not closed within ${WINDOW_TIMEOUT_MS} ms` });
      answers.splice(0);
      return 'reopen';
    }
    // Anything after the final marker is checked with the next window (as an extra answer).
    answers.splice(0, cursor);
    if (sock.isClosed) {
      this.fail(last, { kind: 'the broker closed the connection after this window', detail: 'socket closed' });
      return 'reopen';
    }
    return 'ok';
  }

  /** Match a frame's answers (everything between the previous sync and its own). */
  private attribute(e: Entry, exp: FrameExpect, seg: unknown[], pending: Late[], truncated: boolean): void {
    if (!truncated) this.run.stats.framesChecked++;
    if (TRACE === this.role) {
      const got = seg.map((a) => short(a, 300)).join(' | ') || 'nothing';
      const patterns = this.model.patterns ? short([...this.model.patterns], 400) : 'unknown';
      debug(`${this.role} #${e.no} ${e.frame.label.slice(0, 80)} ${showBody(e.frame.body, 400)}`);
      debug(`    expect ${describeFrame(exp)}${exp.lateOk ? ' (may be late)' : ''}; got ${got}; patterns after: ${patterns}`);
    }
    let got = false;
    const touchedPatterns = exp.methods.some((m) => m === 'subscribe' || m === 'unsubscribe' || m === 'connect');
    const diverged = (): void => {
      if (touchedPatterns) this.model.patterns = null;
    };
    for (const a of seg) {
      this.run.stats.answersChecked++;
      if (!got && exp.shape !== 'none' && idsMatch(a, exp)) {
        const p = checkAnswer(a, exp);
        if (p === null) {
          got = true;
          learnFrom(a, exp);
          continue;
        }
        const late = pending.find((x) => idsMatch(a, x.exp) && checkAnswer(a, x.exp) === null);
        if (late) {
          this.resolveLate(late, a, pending);
          continue;
        }
        got = true;
        this.fail(e, p);
        diverged();
        continue;
      }
      const late = bestLate(a, pending, got || exp.shape === 'none');
      if (late) {
        this.resolveLate(late, a, pending);
        continue;
      }
      if (!got && exp.shape !== 'none') {
        got = true;
        this.fail(e, checkAnswer(a, exp) ?? { kind: `expected ${describeFrame(exp)}, got ${summary(a)} with other ids`, detail: short(a) });
        diverged();
        continue;
      }
      this.fail(e, {
        kind: exp.shape === 'none' ? `expected no answer, got ${summary(a)}` : `an extra answer after ${describeFrame(exp)}: ${summary(a)}`,
        detail: `${short(a)} (methods: ${exp.methods.join(', ')})`,
      });
      diverged();
    }
    if (!got && exp.shape !== 'none' && !truncated) {
      if (exp.lateOk) pending.push({ entry: e, exp, deadline: Date.now() + exp.lateMs });
      else {
        this.fail(e, { kind: `expected ${describeFrame(exp)}, got no answer`, detail: 'nothing before the sync pong' });
        diverged();
      }
    }
  }

  private matchLate(e: Entry, seg: unknown[], pending: Late[]): void {
    for (const a of seg) {
      this.run.stats.answersChecked++;
      const late = bestLate(a, pending, true);
      if (late) this.resolveLate(late, a, pending);
      else this.fail(e, { kind: `an answer nobody asked for: ${summary(a)}`, detail: short(a) });
    }
  }

  private resolveLate(late: Late, a: unknown, pending: Late[]): void {
    pending.splice(pending.indexOf(late), 1);
    debug(`${this.role} late answer to #${late.entry.no} after ${late.exp.lateMs - (late.deadline - Date.now())} ms: ${short(a, 150)}`);
    this.run.stats.lateAnswers++;
    const p = checkAnswer(a, late.exp);
    // No learning here: a late `subscriptions` answer is older than frames checked since.
    if (p) this.fail(late.entry, { kind: `late answer: ${p.kind}`, detail: p.detail });
  }
}

/**
 * The pending request-bearing frame `a` most likely answers: one it is right for, else
 * one with the same ids, else (when `byShape`) one of the same shape, so that a wrong id
 * is reported against that frame instead of leaving it waiting.
 */
function bestLate(a: unknown, pending: Late[], byShape: boolean): Late | undefined {
  return (
    pending.find((x) => idsMatch(a, x.exp) && checkAnswer(a, x.exp) === null) ??
    pending.find((x) => idsMatch(a, x.exp)) ??
    (byShape ? pending.find((x) => shapeMatches(a, x.exp)) : undefined)
  );
}

function isObjWithId(a: unknown, id: string | null): boolean {
  return id !== null && typeof a === 'object' && a !== null && !Array.isArray(a) && (a as Resp).id === id;
}

function indexOfId(answers: unknown[], from: number, id: string): number {
  for (let i = from; i < answers.length; i++) if (isObjWithId(answers[i], id)) return i;
  return -1;
}

/** A QoS 1 publisher and subscriber on a topic no fuzz frame can reach. */
class Canary {
  pub!: FuzzSocket;
  sub!: FuzzSocket;
  private stopped = false;
  private published: string[] = [];
  private received: { seq: unknown; id: unknown; redelivered: unknown; qos: unknown; sender: unknown }[] = [];
  private loopDone: Promise<void> = Promise.resolve();
  private problems: { kind: string; detail: string }[] = [];

  constructor(
    private readonly port: number,
    private readonly pubId: string,
    private readonly subId: string,
  ) {}

  async start(): Promise<void> {
    this.pub = await FuzzSocket.open(this.port);
    this.sub = await FuzzSocket.open(this.port);
    for (const [s, id] of [
      [this.pub, this.pubId],
      [this.sub, this.subId],
    ] as const) {
      const r = (await s.call('connect', { client_id: id, client_type: 'canary', version: '1' }, 'connect')) as Resp;
      if (r.error) throw new Error(`canary connect failed: ${short(r)}`);
    }
    const r = (await this.sub.call('subscribe', { patterns: [CANARY_TOPIC] }, 'subscribe')) as Resp;
    if (r.error) throw new Error(`canary subscribe failed: ${short(r)}`);
    this.sub.onDelivery = (p) => {
      this.received.push({ seq: (p.payload as { seq?: unknown } | null)?.seq, id: p.message_id, redelivered: p.redelivered, qos: p.qos, sender: p.sender });
      this.sub.write(frameJson({ jsonrpc: '2.0', method: 'ack', params: { message_id: p.message_id }, id: `ack-${this.received.length}` }));
    };
    this.loopDone = this.loop();
  }

  private async loop(): Promise<void> {
    // A few publishes in flight at a time, so the canary keeps pace with the fuzz load;
    // their answers come in order (publish is answered synchronously).
    const inFlight = 4;
    for (let seq = 0; !this.stopped; seq += inFlight) {
      const at = this.pub.answers.length;
      for (let i = 0; i < inFlight; i++) {
        this.pub.write(frameJson({ jsonrpc: '2.0', method: 'publish', params: { topic: CANARY_TOPIC, payload: { seq: seq + i, pad: 'x'.repeat((seq + i) % 50) }, qos: 1 }, id: `pub-${seq + i}` }));
      }
      if (!(await this.pub.until(() => this.pub.answers.length >= at + inFlight, WINDOW_TIMEOUT_MS))) {
        this.problems.push({ kind: 'the canary publisher got no answer', detail: `no answers to publishes ${seq}..${seq + inFlight - 1}${this.pub.isClosed ? ' (connection closed)' : ''}` });
        return;
      }
      for (const [i, a] of this.pub.answers.splice(at, inFlight).entries()) {
        const r = a as Resp;
        const res = r?.result as { message_id?: unknown; delivered?: unknown } | undefined;
        if (r?.id !== `pub-${seq + i}` || !res || typeof res.message_id !== 'string' || typeof res.delivered !== 'number' || res.delivered < 1) {
          this.problems.push({ kind: 'a canary publish was not accepted', detail: `publish #${seq + i} answered ${short(r)}` });
          return;
        }
        this.published.push(res.message_id);
      }
    }
  }

  /** Stop publishing, wait for everything to arrive and be acked; returns problems. */
  async finish(): Promise<{ problems: { kind: string; detail: string }[]; count: number }> {
    this.stopped = true;
    await this.loopDone;
    const n = this.published.length;
    const arrived = await this.sub.until(() => this.received.length >= n, WINDOW_TIMEOUT_MS);
    if (!arrived) this.problems.push({ kind: 'canary messages were lost', detail: `only ${this.received.length} of ${n} canary messages arrived` });
    await this.sub.until(() => this.sub.answers.length >= this.received.length, WINDOW_TIMEOUT_MS);
    const seqs = this.received.map((m) => m.seq);
    const wrong = seqs.findIndex((s, i) => s !== i);
    if (wrong >= 0) this.problems.push({ kind: 'the canary sequence has a gap or is out of order', detail: `at position ${wrong}: got ${short(seqs.slice(Math.max(0, wrong - 3), wrong + 4))}` });
    if (seqs.length > n) this.problems.push({ kind: 'canary messages were duplicated', detail: `${seqs.length} received for ${n} published` });
    this.received.forEach((m, i) => {
      if (m.id !== this.published[i] && i < n) {
        this.problems.push({ kind: 'a canary message arrived with another message_id', detail: `message ${i} has id ${short(m.id)}, published as ${short(this.published[i])}` });
      }
      if (m.redelivered !== undefined || m.qos !== 1 || m.sender !== this.pubId) this.problems.push({ kind: 'a canary message was delivered with wrong fields', detail: `message ${i}: ${short(m)}` });
    });
    this.sub.answers.forEach((a, i) => {
      const r = a as Resp;
      if (r?.id !== `ack-${i + 1}` || (r.result as { acked?: unknown })?.acked !== true) this.problems.push({ kind: 'a canary ack was not {acked: true}', detail: `ack ${i + 1} answered ${short(a)}` });
    });
    const status = (await this.pub.call('status', undefined, 'status')) as Resp;
    if (checkEnvelope(status) || !(status.result as { client_count?: unknown })?.client_count) this.problems.push({ kind: 'status failed after the fuzz run', detail: short(status) });
    if (n > 0) {
      const acks = (await this.pub.call('_internal.message_acks', { message_id: this.published[n - 1] }, 'acks')) as Resp;
      const res = acks.result as { clients?: unknown; pending?: unknown } | undefined;
      if (!res || !Array.isArray(res.clients) || !res.clients.includes(this.subId) || !Array.isArray(res.pending) || res.pending.includes(this.subId)) {
        this.problems.push({ kind: '_internal.message_acks does not show the canary subscriber acked', detail: short(acks) });
      }
    }
    return { problems: this.problems.slice(0, 20), count: n };
  }

  close(): void {
    this.pub?.close();
    this.sub?.close();
  }
}

/** Shared state of one seed's run. */
class SeedRun {
  port = 0;
  readonly failures = new FailureLog();
  readonly stats: SeedStats;
  classifyOptions: ClassifyOptions = { protectedIds: new Set() };

  constructor(readonly seed: number) {
    this.stats = {
      seed,
      frames: Object.fromEntries(CATEGORIES.map((c) => [c, 0])) as Record<Category, number>,
      framesTotal: 0,
      framesChecked: 0,
      answersChecked: 0,
      windows: 0,
      deliveries: 0,
      autoReplies: 0,
      lateAnswers: 0,
      accidentalConnects: 0,
      reopened: 0,
      canaryMessages: 0,
      failures: [],
    };
  }
}

/** Fuzz one seed for `seconds`; resolves with the numbers and every failure found. */
export async function fuzzSeed(seed: number, seconds: number): Promise<SeedStats & { failureCount: number }> {
  const run = new SeedRun(seed);
  const broker = await startBroker({
    // The unconnected fuzz socket must outlive long runs; pinging sockets are never idle.
    connection_timeout: 3600,
    heartbeat_timeout: 3600,
  });
  run.port = broker.port;
  const ids = { A: `fuzz-conn-A-s${seed}`, B: `fuzz-conn-B-s${seed}`, pub: `canary-pub-s${seed}`, sub: `canary-sub-s${seed}` };
  run.classifyOptions = { protectedIds: new Set(Object.values(ids)) };
  const canary = new Canary(broker.port, ids.pub, ids.sub);
  const conns = [new FuzzConnection(run, 'A', ids.A), new FuzzConnection(run, 'B', ids.B), new FuzzConnection(run, 'U', null)];
  try {
    await canary.start();
    for (const c of conns) await c.open();
    const deadline = Date.now() + seconds * 1000;
    await Promise.all(conns.map((c) => c.loop(deadline)));
    debug(`seed ${seed}: fuzzing done, ${run.stats.framesTotal} frames; checking the canary`);
    run.stats.deliveries = conns.reduce((n, c) => n + c.deliveries, 0);
    const result = await canary.finish();
    debug(`seed ${seed}: canary done, ${result.count} messages`);
    run.stats.canaryMessages = result.count;
    for (const p of result.problems) run.failures.add({ key: `canary: ${p.kind}`, seed, conn: 'canary', frameNo: 0, label: 'canary', frame: '-', problem: p.detail });
    // With every fuzz connection gone nobody can answer a request: it must fail at once.
    // (During the run a fuzz connection holding `#` makes that outcome timing-dependent.)
    for (const c of conns) await c.leave();
    const noResponders = (await canary.pub.call('request', { topic: 'fuzzreq.nobody', payload: { seed }, timeout: 1 }, 'nobody')) as Resp;
    if (noResponders?.error?.code !== CODES.NO_RESPONDERS) {
      run.failures.add({ key: 'a request nobody subscribes to was not answered -32005 at once', seed, conn: 'canary', frameNo: 0, label: 'request', frame: '-', problem: short(noResponders) });
    }
  } finally {
    canary.close();
    for (const c of conns) c.sock?.close();
    await broker.stop();
  }
  run.stats.failures = run.failures.samples.map((f) => ({ ...f, count: run.failures.counts.get(f.key) ?? 1 }));
  return { ...run.stats, failureCount: run.failures.count };
}

/** One entry per distinct failure, most frequent first, with what is needed to reproduce it. */
export function formatFailures(failures: (Failure & { count: number })[], seconds: number, limit = 30): string {
  const sorted = [...failures].sort((a, b) => b.count - a.count);
  const lines = sorted.slice(0, limit).map(
    (f) =>
      [
        `- [${f.count}x] ${f.key}`,
        `    seed ${f.seed}, connection ${f.conn}, frame #${f.frameNo} (${f.label.slice(0, 120)})`,
        `    frame: ${f.frame}`,
        `    problem: ${f.problem.slice(0, 400)}`,
        `    reproduce: FUZZ_SEEDS=${f.seed} FUZZ_SECONDS=${seconds} npx vitest run test/integration/broker-fuzz.test.ts`,
      ].join('\n'),
  );
  if (sorted.length > limit) lines.push(`- ... and ${sorted.length - limit} more distinct kinds (FUZZ_DUMP=file writes every failure)`);
  return lines.join('\n');
}

