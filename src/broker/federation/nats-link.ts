/**
 * The NATS adapter (nats.js v3). NATS subjects are dot-separated like our topics: a topic
 * crosses unchanged; `*` and `+` become `*`, a trailing `#` becomes `>` plus the parent
 * subject (our `a.#` also matches `a`, NATS's `a.>` does not). Metadata travels in
 * headers; the payload is the JSON text, and a foreign publisher's bytes that are not JSON
 * arrive as a string. The connection sets `noEcho`, so our own publishes never come back;
 * the origin header guards the rest (another broker re-publishing, a loop through a
 * second link).
 */
import {
  connect,
  createInbox,
  Empty,
  headers,
  NoRespondersError,
  RequestError,
  type Msg,
  type MsgHdrs,
  type NatsConnection,
  type Subscription,
} from '@nats-io/transport-node';
import type { Logger } from '../../log/logger.js';
import { WarningBudgets } from '../../log/warning-budget.js';
import { ErrorCode } from '../../protocol/errors.js';
import { redactedUrl, type FederationSetting } from './federation-setting.js';
import { H, importedMeta, importSubjectError, isNatsPlumbing, printable, requestTimeoutOf, STATUS, subjectError } from './nats-import.js';
import { decodeErrorMessage, decodePayload, encodePayload } from './payload-codec.js';
import { readTlsFiles, type TlsPems } from './tls-files.js';
import { expiryOfTtl, LinkRequestError, remainingTtlMs, type LinkHandlers, type LinkMessage, type LinkReply, type UpstreamLink } from './upstream-link.js';

/** When a message whose `Ahk-Ttl` header says `ttl` (ms left) expires here; none without a valid one. */
function expiryOf(ttl: string | undefined): { expiresAt?: number } {
  const expiresAt = expiryOfTtl(ttl ? Number(ttl) : undefined);
  return expiresAt === undefined ? {} : { expiresAt };
}
/** How long a QoS 1 export waits for an importer's ack before it is sent again. */
const ACK_TIMEOUT_MS = 2000;
/**
 * After a (re)connect, importers may still be re-subscribing: a QoS 1 export that finds
 * no importer then is retried for this long; later, "no importer" means nobody wants it.
 */
const RESUBSCRIBE_GRACE_MS = 5000;
/** How long a request from a foreign NATS client may be worked on, when it does not say. */
const DEFAULT_REQUEST_MS = 5000;
/**
 * How long a request of ours waits, once a broker has said it has nobody to ask, for
 * another to say it has (each says so as soon as the request reaches it): then the
 * requester gets -32005. Far longer than a broker takes to read a message, short enough
 * to be "at once" to whoever asked.
 */
export const NOBODY_ELSE_WAIT_MS = 500;
/**
 * One WARNING per kind of thing not taken as it came (a reason a subject is not a topic,
 * a header that is not valid, a topic that cannot be exported) in this long, the rest at
 * debug: anyone on the NATS server can publish, and must not be able to flood the log.
 */
const WARN_INTERVAL_MS = 60_000;
/**
 * How long closing waits for the connection to drain (our subscriptions answered, what we
 * published flushed): a frozen server must not hold up the broker's stop.
 */
const DRAIN_MOST_MS = 2000;
/**
 * After the server refused the link, the first wait before dialling again; each failure
 * in a row doubles it, up to the most: a wrong password is tried a few times a minute,
 * and a fixed account is found within that.
 */
const RETRY_FIRST_MS = 1000;
const RETRY_MOST_MS = 15_000;
/** Kinds remembered at once (exports are per topic); beyond that the oldest are forgotten. */
const MAX_WARNED = 1024;

/** NATS subject for a topic, or null when the topic cannot be one (whitespace, a `>` level, the engine's own space). */
export function subjectOf(topic: string): string | null {
  return subjectError(topic) === null ? topic : null;
}

/** NATS subjects for a pattern (one or two). */
export function subjectsOfPattern(pattern: string): string[] {
  const levels = pattern.split('.').map((l) => (l === '+' ? '*' : l));
  if (levels[levels.length - 1] !== '#') return [levels.join('.')];
  if (levels.length === 1) return ['>'];
  const parent = levels.slice(0, -1).join('.');
  return [parent, `${parent}.>`];
}

const encoder = new TextEncoder();

export class NatsLink implements UpstreamLink {
  readonly engine = 'nats';
  readonly toldNobodyHere = true;
  readonly address: string;
  private nc: NatsConnection | null = null;
  private handlers: LinkHandlers | null = null;
  private readonly subs = new Map<string, Subscription>();
  /** Of {@link subs}' subjects, those the server has (a flush after their SUB came back). */
  private readonly acknowledged = new Set<string>();
  private wanted: string[] = [];
  private isUp = false;
  private closing = false;
  /** The next dial after a refusal (see retryLater), and how long until it. */
  private retryTimer: NodeJS.Timeout | null = null;
  private retryMs = RETRY_FIRST_MS;
  private upAt = 0;
  /** Disconnects so far: a QoS 1 export whose ack wait spans one is sent again. */
  private outages = 0;
  /** QoS 1 exports no importer wanted (nobody upstream subscribed): like a local publish to no one. */
  unrouted = 0;
  /** QoS 1 exports only subscribers that do not ack received (NATS clients that are not our brokers). */
  unacked = 0;
  tooLarge = 0;
  private readonly tlsFiles: TlsPems;
  /** Per kind of warning: when it was last logged, and how many were held back since. */
  private readonly warnings: WarningBudgets;

  constructor(
    private readonly setting: FederationSetting,
    private readonly id: string,
    private readonly log: Logger,
  ) {
    this.address = redactedUrl(setting.upstream);
    this.tlsFiles = readTlsFiles(setting.tls);
    this.warnings = new WarningBudgets(log, 1, WARN_INTERVAL_MS, MAX_WARNED);
  }

  get connected(): boolean {
    return this.isUp;
  }

  start(handlers: LinkHandlers): Promise<void> {
    this.handlers = handlers;
    this.dial();
    return Promise.resolve();
  }

  /**
   * Connect. The client keeps reconnecting by itself across outages, but gives up for good
   * when the server refuses the credentials twice in a row, or on the first connect; then
   * this link dials again later (see retryLater), so fixing the account on the server is
   * enough, as with MQTT.
   */
  private dial(): void {
    const url = new URL(this.setting.upstream);
    const user = this.setting.user ?? (url.username ? decodeURIComponent(url.username) : undefined);
    const pass = this.setting.pass ?? (url.password ? decodeURIComponent(url.password) : undefined);
    connect({
      servers: `${url.hostname}:${url.port || '4222'}`,
      name: `ahk-bridge ${this.id}`,
      noEcho: true,
      waitOnFirstConnect: true,
      maxReconnectAttempts: -1,
      reconnectTimeWait: 500,
      ...(user !== undefined ? { user, pass } : {}),
      ...(this.setting.token !== null ? { token: this.setting.token } : {}),
      ...(this.setting.tls !== null || url.protocol === 'tls:' ? { tls: { ...this.tlsFiles } } : {}),
    }).then(
      (nc) => this.onConnected(nc),
      (err: unknown) => {
        if (this.closing) return;
        this.handlers!.down((err as Error).message);
        this.retryLater('cannot connect to the NATS upstream', err as Error);
      },
    );
  }

  /**
   * Dial again after a wait that doubles with each failure in a row (RETRY_FIRST_MS to
   * RETRY_MOST_MS). Local traffic goes on meanwhile; exports wait in the outbox.
   */
  private retryLater(what: string, err: Error): void {
    const waitMs = this.retryMs;
    this.retryMs = Math.min(RETRY_MOST_MS, 2 * waitMs);
    this.warn('retry', `${what}; local traffic goes on without it, and the link tries again`, { upstream: this.address, error: err, retry_in_ms: waitMs });
    this.retryTimer = setTimeout(() => {
      this.retryTimer = null;
      if (!this.closing) this.dial();
    }, waitMs);
    this.retryTimer.unref();
  }

  private onConnected(nc: NatsConnection): void {
    if (this.closing) {
      nc.close().catch((err: unknown) => this.log.debug('close after stop failed', { error: err as Error }));
      return;
    }
    this.nc = nc;
    this.isUp = true;
    this.upAt = Date.now();
    this.retryMs = RETRY_FIRST_MS;
    this.applyInterest();
    this.handlers!.up(nc.getServer());
    this.watchStatus(nc).catch((err: unknown) => this.log.error('NATS status watch failed', { error: err as Error }));
    nc.closed().then(
      (err) => {
        if (this.closing || this.nc !== nc) return;
        // The client gave up (the server refused the credentials): nothing of this
        // connection is left, its subscriptions included; a new one starts from scratch.
        this.nc = null;
        this.isUp = false;
        this.subs.clear();
        this.acknowledged.clear();
        this.outages++;
        this.handlers!.down(err ? err.message : 'closed');
        this.retryLater('the NATS upstream ended the link', err ?? new Error('closed'));
      },
      (err: unknown) => this.log.error('NATS close failed', { error: err as Error }),
    );
  }

  private async watchStatus(nc: NatsConnection): Promise<void> {
    for await (const s of nc.status()) {
      if (s.type === 'disconnect') {
        this.isUp = false;
        this.acknowledged.clear();
        this.outages++;
        this.handlers!.down(`disconnected from ${s.server}`);
      } else if (s.type === 'reconnect') {
        this.isUp = true;
        this.upAt = Date.now();
        // The client subscribed everything again on the new connection.
        this.confirm(nc, [...this.subs.values()]);
        this.handlers!.up(s.server);
      }
    }
  }

  setInterest(patterns: readonly string[]): void {
    this.wanted = [...new Set(patterns.flatMap(subjectsOfPattern))];
    this.applyInterest();
  }

  isSubscribed(pattern: string): boolean {
    return subjectsOfPattern(pattern).every((subject) => this.acknowledged.has(subject));
  }

  private applyInterest(): void {
    const nc = this.nc;
    if (nc === null) return;
    const want = new Set(this.wanted);
    for (const [subject, sub] of this.subs) {
      if (!want.has(subject)) {
        sub.unsubscribe();
        this.subs.delete(subject);
        this.acknowledged.delete(subject);
      }
    }
    const added: Subscription[] = [];
    for (const subject of want) {
      if (this.subs.has(subject)) continue;
      const sub = nc.subscribe(subject, { callback: (err, msg) => (err ? this.subscriptionFailed(subject, err) : this.onMsg(msg)) });
      this.subs.set(subject, sub);
      added.push(sub);
    }
    this.confirm(nc, added);
  }

  /**
   * Mark `subs` acknowledged once the server has them: it answers a flush's PING after the
   * SUBs written before it. One it refused (a permission) is closed by then, and is not.
   */
  private confirm(nc: NatsConnection, subs: Subscription[]): void {
    if (subs.length === 0) return;
    nc.flush().then(
      () => {
        for (const sub of subs) if (this.subs.get(sub.getSubject()) === sub && !sub.isClosed()) this.acknowledged.add(sub.getSubject());
      },
      // Lost meanwhile: the reconnect confirms them all again.
      (err: unknown) => this.log.debug('federation: NATS flush after subscribing failed', { error: err as Error }),
    );
  }

  /** The server refused or ended the subscription (a permission): it is not in place. */
  private subscriptionFailed(subject: string, err: Error): void {
    this.acknowledged.delete(subject);
    this.log.warning('NATS subscription error', { subject, error: err });
  }

  private onMsg(m: Msg): void {
    // Replies to requests (QoS 1 acks, answers: ours and anybody's) and the engine's own
    // APIs reach a `>` subscription too; they are not messages. Dropped without a word:
    // they are everyday traffic.
    if (isNatsPlumbing(m.subject)) return;
    const problem = importSubjectError(m.subject);
    if (problem !== null) {
      this.warn(`import:${problem}`, 'federation: a NATS subject that is not a valid topic here; not imported', { subject: printable(m.subject), reason: problem });
      return;
    }
    const h = m.headers;
    const replaced: string[] = [];
    const msg: LinkMessage = { topic: m.subject, payload: decodePayload(m.data), ...importedMeta(h, Date.now(), replaced), ...expiryOf(h?.get(H.ttl)) };
    const acked = m.reply && h?.get(H.ack) === '1';
    // A request (a reply subject, no ack asked for) says how long it may be worked on.
    const timeout = m.reply && !acked ? requestTimeoutOf(h, DEFAULT_REQUEST_MS, replaced) : 0;
    this.warnReplaced(m, replaced);
    if (acked) {
      this.handlers!.message(msg);
      m.respond(); // delivered here (or a duplicate, dropped): either way, the exporter may forget it
      return;
    }
    if (m.reply) {
      // A requester of ours waits for each broker's word (see askUpstream); anyone else
      // takes the first reply as the answer, so only an answer is sent to them.
      const wantsStatus = h?.get(H.wantStatus) === '1';
      let answered = false;
      let handingOver = true;
      this.handlers!.request(msg, timeout, (reply) => {
        if (answered) return;
        answered = true;
        if (handingOver && !reply.ok && reply.code === ErrorCode.NO_RESPONDERS) {
          // Said while the request is handed over: nobody here to ask, not a responder's
          // answer (that comes later). Other brokers may have someone.
          if (wantsStatus) this.replyStatus(m, STATUS.none);
          return;
        }
        this.respond(m, reply);
      });
      handingOver = false;
      if (!answered && wantsStatus) this.replyStatus(m, STATUS.pending);
      return;
    }
    this.handlers!.message(msg);
  }

  /** Headers of `m` that were not valid and were replaced by this broker's own values. */
  private warnReplaced(m: Msg, replaced: readonly string[]): void {
    for (const header of replaced) {
      this.warn(`header:${header}`, "federation: a NATS message's header is not valid; this broker's own value is used", {
        subject: m.subject,
        header,
        value: printable(m.headers?.get(header) ?? ''),
      });
    }
  }

  /** A WARNING for `kind`, at most once per WARN_INTERVAL_MS; the repeats at debug, counted in the next WARNING. */
  private warn(kind: string, text: string, fields: Record<string, unknown>): void {
    this.warnings.warning(kind, text, fields);
  }

  private respond(m: Msg, reply: LinkReply): void {
    if (reply.ok) {
      this.sendReply(m, encoder.encode(encodePayload(reply.result)));
      return;
    }
    const h = headers();
    h.set(H.error, String(reply.code));
    this.sendReply(m, encoder.encode(encodePayload(reply.message)), h);
  }

  /** Tell a requester of ours, at once, whether an answer may come from here. */
  private replyStatus(m: Msg, status: string): void {
    const h = headers();
    h.set(H.status, status);
    this.sendReply(m, Empty, h);
  }

  private sendReply(m: Msg, data: Uint8Array, h?: MsgHdrs): void {
    try {
      m.respond(data, h ? { headers: h } : undefined);
    } catch (err) {
      // The connection closed meanwhile (a local answer can take its time): the requester
      // hears nothing from here, as when the reply is lost on the way.
      this.log.debug('federation: reply not sent, the NATS connection is gone', { subject: m.subject, error: err as Error });
    }
  }

  private headersOf(msg: LinkMessage): MsgHdrs {
    const h = headers();
    if (msg.origin !== null) h.set(H.origin, msg.origin);
    h.set(H.sender, msg.sender);
    h.set(H.id, msg.id);
    h.set(H.qos, String(msg.qos));
    h.set(H.time, msg.timestamp);
    if (msg.retain) h.set(H.retain, '1');
    const ttlMs = remainingTtlMs(msg);
    if (ttlMs !== undefined) h.set(H.ttl, String(ttlMs));
    return h;
  }

  async publish(msg: LinkMessage): Promise<void> {
    const nc = this.nc;
    if (nc === null || !this.isUp) throw new LinkRequestError('not_connected', `not connected to ${this.address}`);
    const problem = subjectError(msg.topic);
    if (problem !== null) {
      this.warn(`export:${msg.topic}`, 'federation: topic cannot be a NATS subject; not exported', { topic: msg.topic, reason: problem });
      return;
    }
    // Expired on its way: never delivered late, so not sent at all.
    if (remainingTtlMs(msg) === 0) return;
    const subject = msg.topic;
    const data = encoder.encode(encodePayload(msg.payload));
    const h = this.headersOf(msg);
    // QoS 1: core NATS keeps nothing for a subscriber that is away, so the exporter keeps
    // the message until an importing broker acks it (sent as a request).
    if (msg.qos === 1) h.set(H.ack, '1');
    if (this.overMaxPayload(nc, msg.topic, data.length + headersBytes(h))) return;
    if (msg.qos === 0) {
      nc.publish(subject, data, { headers: h });
      return;
    }
    const outagesBefore = this.outages;
    try {
      await nc.request(subject, data, { timeout: ACK_TIMEOUT_MS, headers: h });
    } catch (err) {
      const noImporter = err instanceof NoRespondersError || (err instanceof RequestError && err.isNoResponders());
      if (!noImporter && (this.outages !== outagesBefore || !this.isUp)) {
        // The connection dropped meanwhile: the ack (or the message) may be lost; send again.
        throw new LinkRequestError('timeout', `no ack for "${msg.topic}": the connection dropped`);
      }
      if (!noImporter) {
        // Someone was subscribed (NATS would have said "no responders") and none acked: a
        // NATS client that is not one of our brokers. It has the message, as with a plain
        // publish; retrying would hold every later QoS 1 export behind it for good.
        this.unacked++;
        return;
      }
      if (Date.now() - this.upAt > RESUBSCRIBE_GRACE_MS) {
        this.unrouted++;
        return;
      }
      throw new LinkRequestError('no_responders', `no importer of "${msg.topic}" yet`);
    }
  }

  /**
   * Whether a message of `bytes` (payload and headers) is over the server's `max_payload`:
   * then it is not exported (a WARNING per topic and minute, counted as dropped). Sent,
   * the NATS client would refuse it, and a QoS 1 export would seem delivered.
   */
  private overMaxPayload(nc: NatsConnection, topic: string, bytes: number): boolean {
    const max = nc.info?.max_payload;
    if (max === undefined || bytes <= max) return false;
    this.tooLarge++;
    this.warn(`too-large:${topic}`, "federation: message larger than the NATS server's max_payload; not exported", { topic, bytes, max_payload: max });
    return true;
  }

  async request(msg: LinkMessage, timeoutMs: number): Promise<LinkReply> {
    const nc = this.nc;
    if (nc === null || !this.isUp) throw new LinkRequestError('not_connected', `not connected to ${this.address}`);
    const subject = subjectOf(msg.topic);
    if (subject === null) throw new LinkRequestError('no_responders', `"${msg.topic}" cannot be a NATS subject`);
    const h = this.headersOf(msg);
    h.set(H.timeout, String(timeoutMs));
    h.set(H.wantStatus, '1');
    const res = await askUpstream(nc, subject, encoder.encode(encodePayload(msg.payload)), h, timeoutMs, msg.topic);
    const code = res.headers?.get(H.error);
    if (code) {
      // From whoever answered: a code that is not a JSON-RPC one is the answerer's failure.
      const n = Number(code);
      return { ok: false, code: Number.isSafeInteger(n) ? n : ErrorCode.INTERNAL_ERROR, message: decodeErrorMessage(res.data) };
    }
    return { ok: true, result: decodePayload(res.data) };
  }

  async close(): Promise<void> {
    this.closing = true;
    this.isUp = false;
    if (this.retryTimer !== null) clearTimeout(this.retryTimer);
    this.retryTimer = null;
    const nc = this.nc;
    this.nc = null;
    if (nc === null) return;
    let timer: NodeJS.Timeout | undefined;
    const drained = nc.drain().then(
      () => true,
      (err: unknown) => {
        this.log.debug('drain failed', { error: err as Error });
        return true;
      },
    );
    const inTime = await Promise.race([drained, new Promise<false>((resolve) => (timer = setTimeout(() => resolve(false), DRAIN_MOST_MS)))]);
    clearTimeout(timer);
    if (inTime) return;
    this.log.warning('federation: the NATS server did not take our last messages in time; closing without them', { upstream: this.address, waited_ms: DRAIN_MOST_MS });
    await nc.close().catch((err: unknown) => this.log.debug('close after a slow drain failed', { error: err as Error }));
  }
}

/** The bytes NATS counts for `h` in a message (its `HPUB` header block). */
function headersBytes(h: MsgHdrs): number {
  let bytes = 'NATS/1.0\r\n\r\n'.length;
  for (const key of h.keys()) for (const value of h.values(key)) bytes += Buffer.byteLength(key) + 2 + Buffer.byteLength(value) + 2;
  return bytes;
}

/**
 * Send a request of ours and wait for its answer: the first reply that is not a status.
 * NATS itself says when nobody subscribes to the subject at all. A broker of ours that
 * subscribes (for a session whose client is away, say) but has nobody connected to ask
 * says `none` at once, and one that has asked someone says `pending`; one that does not
 * take requests (an older broker, a plain NATS subscriber) says nothing. There is no
 * knowing how many brokers got the request, so: after a `none`, if no broker has said
 * `pending` within NOBODY_ELSE_WAIT_MS, nobody answers (-32005); once one has, the
 * answer is awaited until the timeout, however late it comes.
 */
function askUpstream(nc: NatsConnection, subject: string, data: Uint8Array, h: MsgHdrs, timeoutMs: number, topic: string): Promise<Msg> {
  return new Promise<Msg>((resolve, reject) => {
    let settled = false;
    let noneSaid = false;
    let pendingSaid = false;
    let nobodyElse: NodeJS.Timeout | null = null;
    const nobody = (): LinkRequestError => new LinkRequestError('no_responders', `nobody upstream answers "${topic}"`);
    const settle = (err: Error | null, m?: Msg): void => {
      if (settled) return;
      settled = true;
      clearTimeout(deadline);
      if (nobodyElse !== null) clearTimeout(nobodyElse);
      sub.unsubscribe();
      if (err) reject(err);
      else resolve(m!);
    };
    const sub = nc.subscribe(createInbox(), {
      callback: (err, m) => {
        if (err) {
          settle(err);
        } else if (m.data.length === 0 && m.headers?.code === 503) {
          settle(nobody()); // NATS: no subscription to the subject at all
        } else if (m.headers?.get(H.status) === STATUS.pending) {
          pendingSaid = true;
          if (nobodyElse !== null) clearTimeout(nobodyElse);
        } else if (m.headers?.get(H.status) === STATUS.none) {
          noneSaid = true;
          if (nobodyElse !== null || pendingSaid) return;
          nobodyElse = setTimeout(
            // After the I/O this turn may hold: a `pending` that arrived while this process
            // was busy is read before the verdict.
            () =>
              setImmediate(() => {
                if (!pendingSaid) settle(nobody());
              }),
            NOBODY_ELSE_WAIT_MS,
          );
        } else {
          settle(null, m);
        }
      },
    });
    const deadline = setTimeout(
      () => settle(noneSaid && !pendingSaid ? nobody() : new LinkRequestError('timeout', `no reply upstream within ${timeoutMs} ms`)),
      timeoutMs,
    );
    // Closed by the connection's end (the broker stopping): no answer can come any more.
    // (Closed by settle itself, it finds the request settled.)
    sub.closed.then(
      () => settle(new LinkRequestError('not_connected', 'the NATS connection closed before an answer came')),
      (err: unknown) => settle(err as Error),
    );
    try {
      nc.publish(subject, data, { reply: sub.getSubject(), headers: h });
    } catch (err) {
      settle(err as Error);
    }
  });
}
