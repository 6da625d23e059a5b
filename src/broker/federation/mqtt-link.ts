/**
 * The MQTT adapter (MQTT.js 5, speaking MQTT 5). Topics map dots to slashes (see
 * mqtt-topics.ts); metadata travels in user properties; the payload is the JSON text, and
 * a foreign publisher's bytes that are not JSON arrive as a string. A retained clear is
 * MQTT's: a retained publish with no payload. Interest is
 * subscribed at QoS 1 with "no local", so our own publishes never come back and QoS 1
 * stays QoS 1 end to end; the origin property guards the rest.
 *
 * The session is persistent (client id from the federation id, `clean: false`, one hour
 * of session expiry): while this broker is briefly away, or the upstream restarts with
 * persistence, its subscriptions and the QoS 1 messages for them wait upstream.
 *
 * Requests use MQTT 5 request/response: a response topic of this link's own and
 * correlation data. MQTT has no "no responders": a request nobody upstream answers ends
 * as a timeout.
 */
import { randomUUID } from 'node:crypto';
import { connect, ReasonCodes, type IClientOptions, type IClientPublishOptions, type IConnackPacket, type IPublishPacket, type MqttClient } from 'mqtt';
import type { Logger } from '../../log/logger.js';
import { ErrorCode } from '../../protocol/errors.js';
import { WarningBudget } from '../../log/warning-budget.js';
import { nowTimestamp } from '../message.js';
import { clearsRetained } from '../retained-store.js';
import { redactedUrl, type FederationSetting } from './federation-setting.js';
import { printable } from './log-text.js';
import { MqttInterest, reasonCodeOf } from './mqtt-interest.js';
import { publishPacketBytes, type PublishProperties } from './mqtt-packet-size.js';
import { mqttFilterOf, mqttTopicOf, REPLY_PREFIX, topicOfMqtt } from './mqtt-topics.js';
import { decodeErrorMessage, decodePayload, encodePayload } from './payload-codec.js';
import { readTlsFiles, type TlsPems } from './tls-files.js';
import { expiryOfTtl, LinkRequestError, remainingTtlMs, type LinkHandlers, type LinkMessage, type LinkReply, type UpstreamLink } from './upstream-link.js';

const P = { origin: 'ahk-origin', sender: 'ahk-sender', id: 'ahk-id', time: 'ahk-time', timeout: 'ahk-timeout', error: 'ahk-error', ttl: 'ahk-ttl' } as const;
/** How often a refused import topic may be a WARNING (a hostile publisher must not flood the log). */
const REFUSED_IMPORT_WARNING_MS = 60_000;
/** How long a request from a foreign MQTT client may be worked on, when it does not say. */
const DEFAULT_REQUEST_MS = 5000;
/** Seconds the upstream keeps our session (subscriptions, queued QoS 1) while we are away. */
const SESSION_EXPIRY_S = 3600;
/** How long close() waits for unacknowledged publishes before it cuts the connection. */
const CLOSE_FLUSH_MS = 2000;
/** Topics and patterns warned about as not crossing, at most (each is warned once). */
const MAX_WARNED = 1000;
/**
 * The wait before redialling the upstream: doubled after each failed attempt up to the
 * most, back to the first once connected (as the NATS link does). A refused CONNECT
 * (wrong password) or a server that is not MQTT must not be dialled twice a second.
 */
const RECONNECT_FIRST_MS = 500;
const RECONNECT_MOST_MS = 15_000;

/**
 * When an arriving message expires: from the server's message expiry interval, what is
 * left of it after the server held the message (whole seconds, rounded up by the sender),
 * and the milliseconds left that a broker of ours wrote when it sent it: the sooner of the
 * two; none when neither says.
 */
function expiryOf(packet: IPublishPacket): { expiresAt?: number } {
  const ours = prop(packet, P.ttl);
  const seconds = packet.properties?.messageExpiryInterval;
  const left = [ours === undefined ? NaN : Number(ours), seconds === undefined ? NaN : seconds * 1000].filter((ms) => Number.isFinite(ms));
  const expiresAt = expiryOfTtl(left.length === 0 ? undefined : Math.min(...left));
  return expiresAt === undefined ? {} : { expiresAt };
}

/** One value of a user property (MQTT allows a name more than once: the first counts). */
function prop(packet: IPublishPacket, name: string): string | undefined {
  const v = packet.properties?.userProperties?.[name];
  return Array.isArray(v) ? v[0] : v;
}

interface PendingPublish {
  qos: 0 | 1;
  reject(err: Error): void;
}

interface PendingRequest {
  resolve(reply: LinkReply): void;
  reject(err: Error): void;
  timer: NodeJS.Timeout;
}

export class MqttLink implements UpstreamLink {
  readonly engine = 'mqtt';
  readonly toldNobodyHere = false;
  readonly address: string;
  private client: MqttClient | null = null;
  private handlers: LinkHandlers | null = null;
  private readonly host: string;
  private readonly port: number;
  /** `host:port`, for the up event. */
  private readonly server: string;
  private readonly clientId: string;
  private readonly tlsFiles: TlsPems;
  private readonly replyTopic: string;
  private readonly interest: MqttInterest;
  private readonly publishes = new Set<PendingPublish>();
  /** Called once {@link publishes} is empty (close() waits for it). */
  private onFlushed: (() => void) | null = null;
  private readonly requests = new Map<string, PendingRequest>();
  private readonly warned = new Set<string>();
  /** MQTT topics refused on import: a WARNING a minute at most, the rest at debug. */
  private readonly refusedImports: WarningBudget;
  private isUp = false;
  /** Down was reported for the current outage (the client emits close on every failed retry). */
  private downReported = false;
  private lastError: string | null = null;
  private closing = false;
  /** The server's Maximum Packet Size from its CONNACK (MQTT 5); undefined: it set none. */
  private maxPacketBytes: number | undefined;
  /** Exports over {@link maxPacketBytes}, not sent. */
  tooLarge = 0;

  /**
   * @param id the federation id: the origin of what this broker exports, and (prefixed
   *   `ahk-` unless it already is) the MQTT client id that names its session upstream
   */
  constructor(
    private readonly setting: FederationSetting,
    private readonly id: string,
    private readonly log: Logger,
  ) {
    this.address = redactedUrl(setting.upstream);
    const url = new URL(setting.upstream);
    const tls = setting.tls !== null || url.protocol === 'mqtts:';
    this.host = url.hostname;
    this.port = Number(url.port || (tls ? 8883 : 1883));
    this.server = `${this.host}:${this.port}`;
    this.clientId = id.startsWith('ahk-') ? id : `ahk-${id}`;
    this.replyTopic = `${REPLY_PREFIX}${id}`;
    this.interest = new MqttInterest(log, this.address);
    this.refusedImports = new WarningBudget(log, 1, REFUSED_IMPORT_WARNING_MS);
    this.tlsFiles = readTlsFiles(setting.tls);
  }

  get connected(): boolean {
    return this.isUp;
  }

  start(handlers: LinkHandlers): Promise<void> {
    this.handlers = handlers;
    const client = connect(this.options());
    this.client = client;
    client.on('connect', (connack) => this.onConnect(connack));
    client.on('close', () => {
      // Read by the client when it next schedules a redial: the attempt after this one.
      if (!this.isUp) client.options.reconnectPeriod = Math.min(RECONNECT_MOST_MS, (client.options.reconnectPeriod ?? RECONNECT_FIRST_MS) * 2);
      this.onLost();
    });
    client.on('offline', () => this.onLost());
    client.on('error', (err) => {
      // Each failed retry says it again: the first of an outage reaches the operator as
      // the "federation down" warning's reason.
      // A socket's error and a refused CONNACK carry a code; an error without one before
      // the CONNACK is the client failing to read what came back (or a server silent to
      // the CONNECT), which an MQTT 5 server would not do. Once connected such an error is
      // the server's silence (a keepalive timeout): no question then.
      const code = (err as { code?: unknown }).code;
      this.lastError = code === undefined && !this.isUp ? `${err.message} (is ${this.server} an MQTT 5 server?)` : err.message;
      this.log.debug('federation: MQTT client error', { upstream: this.address, error: err });
    });
    client.on('disconnect', (packet) => {
      // MQTT 5: the upstream says why (shutting down, session taken over by another
      // broker with our id, ...); the "federation down" warning carries it.
      const code = packet.reasonCode ?? 0;
      this.lastError = `the upstream disconnected this broker: ${ReasonCodes[code as keyof typeof ReasonCodes] ?? `reason code ${code}`}`;
      this.log.debug('federation: MQTT upstream sent DISCONNECT', { upstream: this.address, reason_code: code });
    });
    client.on('message', (topic, payload, packet) => this.onMessage(topic, payload, packet));
    return Promise.resolve();
  }

  private options(): IClientOptions {
    const url = new URL(this.setting.upstream);
    const secure = this.setting.tls !== null || url.protocol === 'mqtts:';
    const username = this.setting.user ?? (url.username ? decodeURIComponent(url.username) : undefined);
    // MQTT has no token: a token is the password (MQTT 5 allows one without a user name).
    const password = this.setting.pass ?? this.setting.token ?? (url.password ? decodeURIComponent(url.password) : undefined);
    return {
      protocol: secure ? 'mqtts' : 'mqtt',
      host: this.host,
      port: this.port,
      protocolVersion: 5,
      clientId: this.clientId,
      clean: false,
      properties: { sessionExpiryInterval: SESSION_EXPIRY_S },
      reconnectPeriod: RECONNECT_FIRST_MS,
      // A refused CONNECT (bad credentials, not authorized) is retried too: the operator
      // may fix the upstream while this broker runs.
      reconnectOnConnackError: true,
      connectTimeout: 10_000,
      keepalive: 30,
      // Subscriptions are ours to restore (after a reconnect without a session).
      resubscribe: false,
      // publish() refuses while down; nothing is queued inside the client.
      queueQoSZero: false,
      ...(username !== undefined ? { username } : {}),
      ...(password !== undefined ? { password } : {}),
      ...this.tlsFiles,
    };
  }

  private onConnect(connack: IConnackPacket): void {
    if (this.closing) return;
    // MQTT.js leaves Nagle on: small publishes then wait for the previous ACK, 3-19 ms at
    // p50 in the federation bench instead of 0.5 ms.
    const socket = this.client?.stream as { setNoDelay?: (on: boolean) => void } | undefined;
    socket?.setNoDelay?.(true);
    // Subscribed again on every connect, even to a session the server says it kept: one
    // restored from an older snapshot of its sessions lacks the later SUBSCRIBEs.
    this.interest.connected(connack.sessionPresent === true);
    this.maxPacketBytes = connack.properties?.maximumPacketSize;
    if (this.client) this.client.options.reconnectPeriod = RECONNECT_FIRST_MS;
    this.isUp = true;
    this.downReported = false;
    this.lastError = null;
    this.subscribeReplies(this.client!);
    this.applyInterest();
    this.handlers!.up(this.server);
  }

  /** Subscribe to this link's reply topic (again: a resumed session may have lost it too). */
  private subscribeReplies(client: MqttClient): void {
    // rh 2: nothing retained there is a reply to a request of this connection.
    client.subscribe(this.replyTopic, { qos: 0, nl: true, rh: 2 }, (err) => {
      if (!err) return;
      if (reasonCodeOf(err) === undefined) {
        this.log.debug('federation: reply topic subscribe lost with the connection; made again on reconnect', { topic: this.replyTopic, error: err });
        return;
      }
      this.log.warning('federation: cannot subscribe to the reply topic upstream; requests through it will time out', {
        upstream: this.address,
        topic: this.replyTopic,
        error: err,
      });
    });
  }

  private onLost(): void {
    this.isUp = false;
    // QoS 0 publishes written to a dead socket never complete; QoS 1 ones stay in the
    // client's store and go again on reconnect.
    for (const p of this.publishes) {
      if (p.qos !== 0) continue;
      this.publishes.delete(p);
      p.reject(new LinkRequestError('not_connected', `lost ${this.address}`));
    }
    if (this.closing || this.downReported) return;
    this.downReported = true;
    this.handlers!.down(this.lastError ?? 'connection closed');
  }

  setInterest(patterns: readonly string[]): void {
    const want = new Set<string>();
    for (const p of patterns) {
      const filter = mqttFilterOf(p);
      if (filter === null) this.warnOnce(p, 'federation: pattern has no MQTT form (a level with "/", or a "$" start); not subscribed upstream', { pattern: p });
      else want.add(filter);
    }
    this.interest.want(want);
    this.applyInterest();
  }

  isSubscribed(pattern: string): boolean {
    const filter = mqttFilterOf(pattern);
    return filter !== null && this.interest.isAcknowledged(filter);
  }

  /** Bring the upstream subscriptions to what is wanted; once connected. */
  private applyInterest(): void {
    if (this.client !== null && this.isUp) this.interest.apply(this.client);
  }

  private onMessage(mqttTopic: string, payload: Buffer, packet: IPublishPacket): void {
    if (mqttTopic === this.replyTopic) {
      this.onReply(payload, packet);
      return;
    }
    const topic = topicOfMqtt(mqttTopic);
    if (topic === null) {
      // Anyone with access to the MQTT server can publish: said, but not for every message.
      this.refusedImports.warning('federation: an MQTT topic that is not a valid topic here (an empty level, a wildcard character, a reserved space); not imported', {
        topic: printable(mqttTopic),
      });
      return;
    }
    // A redelivery (a resumed session resends what was in flight) is dropped by id in federation.ts.
    const id = prop(packet, P.id);
    const msg: LinkMessage = {
      topic,
      // A retained publish with no payload is MQTT's clear (from another broker of ours
      // or any MQTT client): null clears the topic here too, whatever the codec makes of
      // an empty body.
      payload: packet.retain && payload.length === 0 ? null : decodePayload(payload),
      sender: prop(packet, P.sender) || 'mqtt',
      id: id || randomUUID(),
      qos: packet.qos >= 1 ? 1 : 0,
      timestamp: prop(packet, P.time) || nowTimestamp(Date.now()),
      origin: prop(packet, P.origin) || null,
      ...(packet.retain ? { retain: true } : {}),
      ...expiryOf(packet),
    };
    if (msg.origin === this.id) {
      if (packet.retain) {
        // A server's retained copy for a new subscription: Mosquitto 2.0 sends them
        // regardless of "no local", so our own come back; nothing is wrong upstream.
        this.log.debug('federation: the MQTT upstream sent back a retained message of this broker; dropped', { topic });
        return;
      }
      // Subscribed with "no local": an upstream that ignores it (or a bridge that sends
      // our messages back) doubles the traffic; the federation would drop them anyway.
      this.warnOnce('\0own', 'federation: the MQTT upstream sends this broker its own messages back ("no local" not honoured); dropped', { upstream: this.address });
      return;
    }
    const responseTopic = packet.properties?.responseTopic;
    if (responseTopic) {
      const expiry = packet.properties?.messageExpiryInterval;
      const timeout = Number(prop(packet, P.timeout)) || (expiry ? expiry * 1000 : DEFAULT_REQUEST_MS);
      const correlation = packet.properties?.correlationData;
      let answered = false;
      this.handlers!.request(msg, timeout, (reply) => {
        if (answered) return;
        answered = true;
        this.respond(responseTopic, correlation, reply);
      });
      return;
    }
    this.handlers!.message(msg);
  }

  private respond(responseTopic: string, correlationData: Buffer | undefined, reply: LinkReply): void {
    const client = this.client;
    if (client === null || !this.isUp) {
      this.log.debug('federation: reply not sent, the upstream is gone', { topic: responseTopic });
      return;
    }
    const properties: IClientPublishOptions['properties'] = { ...(correlationData ? { correlationData } : {}) };
    const payload = reply.ok ? encodePayload(reply.result) : encodePayload(reply.message);
    if (!reply.ok) properties.userProperties = { [P.error]: String(reply.code) };
    client.publish(responseTopic, payload, { qos: 0, properties }, (err) => {
      if (err) this.log.debug('federation: reply not sent', { topic: responseTopic, error: err });
    });
  }

  private onReply(payload: Buffer, packet: IPublishPacket): void {
    const key = packet.properties?.correlationData?.toString('hex');
    const pending = key === undefined ? undefined : this.requests.get(key);
    // A second answer (two responders upstream), or one after the timeout: the first won.
    if (pending === undefined) return;
    this.requests.delete(key!);
    clearTimeout(pending.timer);
    const code = prop(packet, P.error);
    if (code) pending.resolve({ ok: false, code: Number(code), message: decodeErrorMessage(payload) });
    else pending.resolve({ ok: true, result: decodePayload(payload) });
  }

  private userProperties(msg: LinkMessage, ttlMs?: number): Record<string, string> {
    const props: Record<string, string> = { [P.sender]: msg.sender, [P.id]: msg.id, [P.time]: msg.timestamp };
    if (msg.origin !== null) props[P.origin] = msg.origin;
    // To the millisecond: the server's expiry interval counts whole seconds.
    if (ttlMs !== undefined) props[P.ttl] = String(ttlMs);
    return props;
  }

  /** The MQTT name of `topic`, or null (warned once) when it cannot cross. */
  private nameOf(topic: string): string | null {
    const name = mqttTopicOf(topic);
    if (name === null) this.warnOnce(topic, 'federation: topic has no MQTT form (a level with "/", a "$" start, or the link\'s reply space); not exported', { topic });
    return name;
  }

  private warnOnce(key: string, text: string, fields: Record<string, unknown>): void {
    if (this.warned.has(key)) return;
    if (this.warned.size >= MAX_WARNED) {
      this.log.debug(text, fields);
      return;
    }
    this.warned.add(key);
    this.log.warning(text, fields);
  }

  /**
   * The size of the PUBLISH packet for `body` on `name` when it is over the Maximum
   * Packet Size the server announced (then it must not be sent); null when it fits, or
   * when the server announced none.
   */
  private overPacketLimit(name: string, body: string, qos: 0 | 1, properties: PublishProperties): number | null {
    if (this.maxPacketBytes === undefined) return null;
    const bytes = publishPacketBytes(name, Buffer.byteLength(body), qos, properties);
    return bytes > this.maxPacketBytes ? bytes : null;
  }

  publish(msg: LinkMessage): Promise<void> {
    const client = this.client;
    if (client === null || !this.isUp) return Promise.reject(new LinkRequestError('not_connected', `not connected to ${this.address}`));
    const name = this.nameOf(msg.topic);
    const ttlMs = remainingTtlMs(msg);
    // Expired on its way: never delivered late, so not sent at all.
    if (name === null || ttlMs === 0) return Promise.resolve();
    const options: IClientPublishOptions = {
      qos: msg.qos,
      // The engine's own retain: the MQTT server keeps it for later subscribers too.
      retain: msg.retain === true,
      properties: { userProperties: this.userProperties(msg, ttlMs), contentType: 'application/json', payloadFormatIndicator: true },
    };
    // The server's own expiry too: it then drops the message from the queues of sessions
    // that are away, and from its retained store, once the time is up.
    if (ttlMs !== undefined) options.properties!.messageExpiryInterval = Math.ceil(ttlMs / 1000);
    // A retained clear (null or "") goes as MQTT's own, a retained publish with no
    // payload: the server then holds nothing for the topic, where the text `null`
    // would stay retained there and reach every broker that subscribes later.
    const body = options.retain === true && clearsRetained(msg.payload) ? '' : encodePayload(msg.payload);
    const bytes = this.overPacketLimit(name, body, msg.qos, options.properties!);
    if (bytes !== null) {
      // The server would disconnect this broker for it, and a QoS 1 export would go
      // again after every reconnect, holding back every later one.
      this.tooLarge++;
      this.warnOnce(`too-large:${msg.topic}`, "federation: message larger than the MQTT server's maximum packet size; not exported", {
        topic: msg.topic, bytes, maximum_packet_size: this.maxPacketBytes,
      });
      return Promise.resolve();
    }
    return new Promise<void>((resolve, reject) => {
      const pending: PendingPublish = { qos: msg.qos, reject };
      this.publishes.add(pending);
      // QoS 1: called on the PUBACK (after a reconnect, if the connection drops first);
      // QoS 0: once written.
      client.publish(name, body, options, (err) => {
        if (!this.publishes.delete(pending)) return; // already settled by close() or a lost connection
        if (this.publishes.size === 0) this.onFlushed?.();
        if (!err) {
          resolve();
          return;
        }
        if (reasonCodeOf(err) !== undefined) {
          // The upstream refused this message (not authorized, quota, ...): sending it
          // again gets the same answer and would hold back every later export.
          this.log.warning('federation: the MQTT upstream refused an export; dropped', { upstream: this.address, topic: msg.topic, error: err });
          resolve();
          return;
        }
        reject(err);
      });
    });
  }

  request(msg: LinkMessage, timeoutMs: number): Promise<LinkReply> {
    const client = this.client;
    if (client === null || !this.isUp) return Promise.reject(new LinkRequestError('not_connected', `not connected to ${this.address}`));
    const name = mqttTopicOf(msg.topic);
    if (name === null) return Promise.reject(new LinkRequestError('no_responders', `"${msg.topic}" cannot be an MQTT topic`));
    const correlation = randomUUID().replace(/-/g, '');
    const correlationData = Buffer.from(correlation, 'hex');
    const properties: IClientPublishOptions['properties'] = {
      responseTopic: this.replyTopic,
      correlationData,
      messageExpiryInterval: Math.max(1, Math.ceil(timeoutMs / 1000)),
      userProperties: { ...this.userProperties(msg), [P.timeout]: String(timeoutMs) },
      contentType: 'application/json',
      payloadFormatIndicator: true,
    };
    const body = encodePayload(msg.payload);
    const bytes = this.overPacketLimit(name, body, 0, properties);
    if (bytes !== null) {
      // Sent, the server would disconnect this broker for it: the requester hears why.
      return Promise.resolve({ ok: false, code: ErrorCode.INVALID_REQUEST, message: `request of ${bytes} bytes is larger than the MQTT server's maximum packet size (${this.maxPacketBytes})` });
    }
    return new Promise<LinkReply>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.requests.delete(correlation);
        // MQTT cannot tell "nobody listens" from "nobody answered in time".
        reject(new LinkRequestError('timeout', `no reply upstream within ${timeoutMs} ms`));
      }, timeoutMs);
      this.requests.set(correlation, { resolve, reject, timer });
      client.publish(name, body, { qos: 0, properties }, (err) => {
        if (!err || !this.requests.has(correlation)) return;
        this.requests.delete(correlation);
        clearTimeout(timer);
        reject(err);
      });
    });
  }

  async close(): Promise<void> {
    this.closing = true;
    this.isUp = false;
    const client = this.client;
    this.client = null;
    for (const [key, r] of this.requests) {
      this.requests.delete(key);
      clearTimeout(r.timer);
      r.reject(new LinkRequestError('not_connected', 'the federation is stopping'));
    }
    if (client === null) return;
    try {
      if (client.connected) await this.flushPublishes();
      await this.end(client);
    } catch (err) {
      this.log.debug('federation: MQTT close failed', { error: err as Error });
    }
    for (const p of this.publishes) p.reject(new LinkRequestError('not_connected', 'the federation stopped'));
    this.publishes.clear();
  }

  /** Wait (at most CLOSE_FLUSH_MS) for the publishes the upstream has not acknowledged yet. */
  private flushPublishes(): Promise<void> {
    if (this.publishes.size === 0) return Promise.resolve();
    return new Promise<void>((resolve) => {
      const timer = setTimeout(() => this.onFlushed?.(), CLOSE_FLUSH_MS);
      this.onFlushed = () => {
        this.onFlushed = null;
        clearTimeout(timer);
        resolve();
      };
    });
  }

  /**
   * Disconnect. Cleanly (DISCONNECT with session expiry 0) when connected: this broker's
   * federation id is new on every start, so nothing would ever resume the session and
   * the upstream need not keep it.
   */
  private end(client: MqttClient): Promise<void> {
    const graceful = client.connected && this.publishes.size === 0;
    return new Promise<void>((resolve) => {
      const timer = setTimeout(() => {
        this.log.debug('federation: MQTT disconnect took too long; cut', { upstream: this.address });
        client.stream.destroy();
        resolve();
      }, CLOSE_FLUSH_MS);
      timer.unref();
      const done = (): void => {
        clearTimeout(timer);
        resolve();
      };
      if (graceful) client.end(false, { properties: { sessionExpiryInterval: 0 } }, done);
      else client.end(true, done);
    });
  }
}
