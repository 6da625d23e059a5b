/**
 * The local broker as a leaf of a distributed engine (NATS, MQTT): exports local
 * publishes, imports upstream messages someone local wants, forwards requests nobody
 * local answers, and keeps working when the upstream is gone.
 *
 * No loops: every exported message carries this broker's federation id as its origin;
 * a message arriving with our own id is dropped, and a message that arrived from upstream
 * is never exported again (it has an origin).
 */
import { randomUUID } from 'node:crypto';
import { ErrorCode, RpcError } from '../../protocol/errors.js';
import { shownName } from '../../protocol/excerpt.js';
import { isReservedTopic } from '../../protocol/topics.js';
import { isoTimestamp } from '../../protocol/timestamp.js';
import { WarningBudget } from '../../log/warning-budget.js';
import type { BrokerContext } from '../context.js';
import { keepMessage, nowTimestamp, type BrokerMessage } from '../message.js';
import type { MessageObserver } from '../monitor/message-observer.js';
import { ExportOutbox } from './export-outbox.js';
import { OutboxStore } from './outbox-store.js';
import { SeenIds } from './seen-ids.js';
import { createLink } from './link-factory.js';
import { redactedUrl, type FederationSetting } from './federation-setting.js';
import { matchesAny, upstreamInterest } from './patterns.js';
import { payloadBytes } from './payload-codec.js';
import { LinkRequestError, type LinkMessage, type LinkReply, type UpstreamLink } from './upstream-link.js';

/** How long the first connection may take before the operator is told the upstream does not answer. */
const FIRST_CONNECT_WARN_MS = 5000;

export type FederationState = 'connecting' | 'up' | 'down' | 'closed';

export interface FederationStatus {
  engine: string;
  upstream: string;
  state: FederationState;
  since: string;
  origin_id: string;
  export: string[];
  import: string[];
  /** The patterns this broker subscribes to upstream, for its own subscribers. */
  interest: string[];
  /**
   * Of `interest`, those the upstream has acknowledged: what is published there for them
   * arrives here. While the link is down, MQTT keeps listing them (the server's session
   * holds the subscriptions and queues QoS 1 for them); NATS lists none until it has
   * subscribed again on the new connection.
   */
  subscribed: string[];
  exported: number;
  imported: number;
  queued: number;
  dropped: number;
  /** Exports whose ttl ran out before the upstream took them (never sent late). */
  expired: number;
  /** Messages that arrived again and were delivered only once. */
  duplicates: number;
}

export class Federation implements MessageObserver {
  /**
   * Load the engine's adapter and make the federation (not yet connected: {@link start}).
   * @param id this broker's id on the link: the origin of what it exports
   */
  static async create(broker: BrokerContext, setting: FederationSetting, id = `ahk-${randomUUID()}`): Promise<Federation> {
    const log = broker.log.child('federation');
    const link = await createLink(setting, id, log);
    const dir = broker.config.persistence_enabled ? broker.config.persistence_path : null;
    return new Federation(broker, setting, link, id, dir === null ? null : OutboxStore.open(dir, log));
  }

  private state: FederationState = 'connecting';
  private since = Date.now();
  private readonly outbox: ExportOutbox;
  private interest: string[] = [];
  private interestTimer: NodeJS.Immediate | null = null;
  private firstConnectTimer: NodeJS.Timeout | null = null;
  private exported = 0;
  private imported = 0;
  private droppedQos0 = 0;
  private warnedFull = false;
  private duplicates = 0;
  private readonly seenIds = new SeenIds();
  /** Imports larger than max_message_size: a WARNING a minute at most (a hostile publisher must not flood the log). */
  private readonly tooLargeImports: WarningBudget;

  constructor(
    private readonly broker: BrokerContext,
    private readonly setting: FederationSetting,
    private readonly link: UpstreamLink,
    /** This broker's id on the link: the origin of what it exports. */
    readonly id: string,
    stored: { store: OutboxStore; waiting: readonly LinkMessage[] } | null = null,
  ) {
    this.tooLargeImports = new WarningBudget(broker.log, 1, 60_000);
    this.outbox = new ExportOutbox(
      { messages: setting.queue_size, bytes: setting.queue_bytes },
      (msg) => this.link.publish(msg),
      () => this.link.connected,
      (msg) => {
        if (this.warnedFull) return;
        this.warnedFull = true;
        broker.log.warning('federation: the upstream is unreachable and the QoS 1 export queue is full; dropping the oldest', {
          upstream: this.link.address,
          queue_size: setting.queue_size,
          queue_bytes: setting.queue_bytes,
          topic: msg.topic,
        });
      },
      (err) => broker.log.debug('federation: export send failed; it stays queued', { error: err as Error }),
      stored,
    );
  }

  async start(): Promise<void> {
    await this.link.start({
      up: (server) => this.onUp(server),
      down: (reason) => this.onDown(reason),
      message: (msg) => this.importGuarded(msg, () => this.importMessage(msg)),
      request: (msg, timeoutMs, respond) => this.importGuarded(msg, () => this.importRequest(msg, timeoutMs, respond)),
    });
    this.updateInterest();
    // The adapter retries quietly: say so when the upstream is not there at start.
    this.firstConnectTimer = setTimeout(() => {
      if (this.state === 'connecting') this.onDown(`no answer from the upstream within ${FIRST_CONNECT_WARN_MS / 1000} s; still trying`);
    }, FIRST_CONNECT_WARN_MS);
    this.firstConnectTimer.unref();
  }

  async stop(): Promise<void> {
    this.state = 'closed';
    if (this.interestTimer) clearImmediate(this.interestTimer);
    if (this.firstConnectTimer) clearTimeout(this.firstConnectTimer);
    this.outbox.close();
    await this.link.close();
  }

  /** @internal the router's hook: export what should go upstream. */
  seen(msg: BrokerMessage): void {
    if (msg.origin !== undefined || msg.replyTo !== undefined) return;
    if (isReservedTopic(msg.topic) || !matchesAny(this.setting.export, msg.topic)) return;
    const out = this.toLink(msg);
    this.exported++;
    // QoS 0 waits behind the QoS 1 exports still queued, so that it does not overtake them.
    if (msg.qos === 1 || (this.outbox.length > 0 && this.link.connected)) {
      this.outbox.push(out);
      return;
    }
    // QoS 0 is at most once: sent while the upstream is there, dropped (counted) while not.
    if (!this.link.connected) {
      this.droppedQos0++;
      return;
    }
    this.link.publish(out).catch((err: unknown) => {
      this.droppedQos0++;
      // A lost connection is reported as the link going down; anything else is this message's.
      if (err instanceof LinkRequestError && err.code === 'not_connected') this.broker.log.debug('federation: QoS 0 export lost', { topic: msg.topic, error: err });
      else this.broker.log.warning('federation: a QoS 0 export could not be sent; dropped', { topic: msg.topic, error: err as Error });
    });
  }

  /** Local subscriptions changed: subscribe upstream to what is now wanted (batched). */
  interestChanged(): void {
    if (this.interestTimer || this.state === 'closed') return;
    this.interestTimer = setImmediate(() => {
      this.interestTimer = null;
      this.updateInterest();
    });
  }

  /**
   * A request with no local responder: answered from upstream when its topic is exported
   * and the upstream is there. `null` when federation does not apply (the caller answers
   * -32005 itself).
   */
  forwardRequest(topic: string, payload: unknown, sender: string, timeoutMs: number): Promise<unknown> | null {
    if (isReservedTopic(topic) || !matchesAny(this.setting.export, topic) || !this.link.connected) return null;
    const msg: LinkMessage = { topic, payload, sender, id: randomUUID(), qos: 0, timestamp: nowTimestamp(Date.now()), origin: this.id };
    return this.link.request(msg, timeoutMs).then(
      (reply) => {
        if (reply.ok) return reply.result;
        throw new RpcError(reply.code, reply.message, { topic, upstream: this.link.address });
      },
      (err: unknown) => {
        if (err instanceof LinkRequestError && err.code === 'no_responders') {
          throw new RpcError(ErrorCode.NO_RESPONDERS, `No responders: nobody here or upstream (${this.link.address}) answers ${shownName(topic, true)}`, { topic });
        }
        if (err instanceof LinkRequestError && err.code === 'timeout') {
          throw new RpcError(ErrorCode.TIMEOUT, `Request timed out: no reply on ${shownName(topic)} within ${timeoutMs / 1000}s (asked upstream ${this.link.address})`, {
            topic,
            timeout: timeoutMs / 1000,
          });
        }
        throw new RpcError(ErrorCode.INTERNAL_ERROR, `request through ${this.link.address} failed: ${(err as Error).message}`, { topic });
      },
    );
  }

  status(): FederationStatus {
    return {
      engine: this.link.engine,
      upstream: redactedUrl(this.setting.upstream),
      state: this.state,
      since: isoTimestamp(this.since),
      origin_id: this.id,
      export: this.setting.export,
      import: this.setting.import,
      interest: this.interest,
      subscribed: this.interest.filter((p) => this.link.isSubscribed(p)),
      exported: this.exported,
      imported: this.imported,
      queued: this.outbox.length,
      dropped: this.outbox.dropped + this.outbox.lostQos0 + this.droppedQos0 + this.link.tooLarge,
      expired: this.outbox.expired,
      duplicates: this.duplicates,
    };
  }

  private updateInterest(): void {
    const local = new Set<string>();
    for (const s of this.broker.sessions.values()) for (const p of s.patterns) local.add(p);
    const next = upstreamInterest(this.setting.import, local).sort();
    if (next.join('\n') === this.interest.join('\n')) return;
    this.interest = next;
    this.link.setInterest(next);
    this.broker.log.debug('federation: upstream interest', { patterns: next.join(',') });
  }

  private onUp(server: string): void {
    this.state = 'up';
    this.since = Date.now();
    this.warnedFull = false;
    this.broker.log.info('federation up', { engine: this.link.engine, upstream: this.link.address, server, queued: this.outbox.length });
    this.broker.system.publish('system.federation.up', { engine: this.link.engine, upstream: this.link.address, queued: this.outbox.length });
    this.outbox.drain();
  }

  private onDown(reason: string): void {
    if (this.state === 'closed') return;
    const was = this.state;
    this.state = 'down';
    this.since = Date.now();
    this.outbox.dropQos0();
    if (was === 'down') return;
    this.broker.log.warning('federation down: local traffic goes on; QoS 1 exports wait for the upstream', { upstream: this.link.address, reason });
    this.broker.system.publish('system.federation.down', { engine: this.link.engine, upstream: this.link.address, reason });
  }

  private toLink(msg: BrokerMessage): LinkMessage {
    keepMessage(msg);
    return {
      topic: msg.topic,
      payload: msg.payload,
      sender: msg.sender,
      id: msg.id,
      qos: msg.qos,
      timestamp: msg.timestamp,
      origin: this.id,
      ...(msg.retain ? { retain: true } : {}),
      ...(msg.expiresAt !== 0 ? { expiresAt: msg.expiresAt } : {}),
    };
  }

  /**
   * Run an import's handling where a failure is this message's alone. A throw would reach
   * the engine client's callback: MQTT's would end the broker, NATS's would end the
   * subscription's reader, and every import after it, while the link still looked up.
   */
  private importGuarded(m: LinkMessage, handle: () => void): void {
    try {
      handle();
    } catch (err) {
      this.broker.log.error('federation: an imported message could not be handled; dropped', { topic: m.topic, sender: m.sender, error: err as Error });
    }
  }

  /**
   * Whether an import's payload is over this broker's max_message_size: a local client
   * could not have published it, and its delivery could pass a subscriber's
   * max_output_bytes by itself, which closes that subscriber at every reconnect.
   */
  private tooLargeToImport(m: LinkMessage): boolean {
    // A text that is not JSON is delivered as a JSON string: its quotes at least.
    const bytes = payloadBytes(m.payload);
    const max = this.broker.config.max_message_size;
    if (bytes <= max) return false;
    this.tooLargeImports.warning('federation: a message from upstream is larger than max_message_size; not imported', { topic: m.topic, sender: m.sender, bytes, max_message_size: max });
    return true;
  }

  /** A message from upstream: ours coming back is dropped; an import goes to local subscribers. */
  private importMessage(m: LinkMessage): void {
    if (m.origin === this.id) return;
    if (isReservedTopic(m.topic) || !matchesAny(this.setting.import, m.topic)) return;
    if (this.tooLargeToImport(m)) return;
    // A message that crosses twice (a resend after a lost ack, an MQTT session resumed with
    // messages in flight, overlapping upstream subscriptions) is delivered once. Only ours
    // carry their id across; a foreign publisher's messages have none to compare.
    if (m.origin !== null && (this.seenIds.check(m.origin, m.id) || this.broker.retained.get(m.topic)?.id === m.id)) {
      // The second: the server's retained copy of a message this broker keeps retained
      // itself, exported before a restart gave it another id on the link.
      this.duplicates++;
      return;
    }
    this.imported++;
    const msg = fromLink(m, { qos: m.qos, expiresAt: m.expiresAt ?? 0, ...(m.retain ? { retain: true } : {}) });
    if (m.retain) this.broker.retained.set(msg);
    this.broker.router.route(msg);
    this.broker.stats.messages++;
  }

  /**
   * A request from upstream on an imported topic: asked of the local responders. When
   * nobody here can answer, that is said before this returns (see {@link nobodyHere}).
   */
  private importRequest(m: LinkMessage, timeoutMs: number, respond: (reply: LinkReply) => void): void {
    if (m.origin === this.id || isReservedTopic(m.topic) || !matchesAny(this.setting.import, m.topic) || this.tooLargeToImport(m)) {
      this.nobodyHere(respond);
      return;
    }
    const { token, result } = this.broker.requests.open(null, m.topic, timeoutMs);
    const msg = fromLink(m, { qos: 0, expiresAt: Date.now() + timeoutMs, replyTo: token });
    const delivered = this.broker.router.route(msg, { onlineOnly: true });
    this.broker.stats.messages++;
    this.broker.requests.noteDelivered(token, delivered);
    if (delivered === 0) {
      // Settled here on purpose, and nobody waits on it: its rejection needs no report.
      result.catch(() => undefined);
      this.broker.requests.fail(token, new RpcError(ErrorCode.NO_RESPONDERS, 'no local responder'));
      this.nobodyHere(respond);
      return;
    }
    result.then(
      (value) => respond({ ok: true, result: value }),
      (err: unknown) => {
        const e = err instanceof RpcError ? err : new RpcError(ErrorCode.INTERNAL_ERROR, (err as Error).message);
        // A local timeout says nothing the upstream requester will not find out itself.
        if (e.code !== ErrorCode.TIMEOUT) respond({ ok: false, code: e.code, message: e.message });
      },
    );
  }

  /**
   * Nobody here answers a request from upstream: -32005, given while the request is
   * handed over, so the adapter can tell it from a responder's own -32005 (which comes
   * later), where the link can take it ({@link UpstreamLink.toldNobodyHere}): over NATS
   * a requester of ours then waits a moment for the other brokers' word and anyone else is
   * told nothing; over MQTT the first reply is the answer, so there this broker stays
   * silent and another may answer.
   */
  private nobodyHere(respond: (reply: LinkReply) => void): void {
    if (this.link.toldNobodyHere) respond({ ok: false, code: ErrorCode.NO_RESPONDERS, message: 'no responder on this broker' });
  }
}

/** A message from the link as the local router takes it: never exported again (it has an origin). */
function fromLink(m: LinkMessage, extra: Pick<BrokerMessage, 'qos' | 'expiresAt'> & Partial<Pick<BrokerMessage, 'replyTo' | 'retain'>>): BrokerMessage {
  return { id: m.id, topic: m.topic, payload: m.payload, sender: m.sender, timestamp: m.timestamp, origin: m.origin ?? 'upstream', ...extra };
}
