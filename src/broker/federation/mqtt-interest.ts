/**
 * The MQTT link's upstream subscriptions: the filters wanted, and what the session holds
 * of them. A filter counts as subscribed (for `bridge status` and the `status` method)
 * once the server's SUBACK on the current connection accepted it.
 *
 * "Session present" in a CONNACK does not say the session holds every subscription it
 * held when the connection went: a server restored from a snapshot of its sessions older
 * than a SUBSCRIBE (Mosquitto killed between two autosaves) resumes the session without
 * it. So every connect subscribes to each wanted filter again; a SUBSCRIBE of a filter
 * the session holds only replaces it, and retain handling 1 keeps the server from
 * sending its retained messages again for a subscription it still had.
 */
import type { MqttClient } from 'mqtt';
import type { Logger } from '../../log/logger.js';

/** An MQTT.js error carrying an MQTT reason code (a refusal), as opposed to a lost connection. */
export function reasonCodeOf(err: unknown): number | undefined {
  const code = (err as { code?: unknown } | null)?.code;
  return typeof code === 'number' ? code : undefined;
}

export class MqttInterest {
  /** The filters wanted upstream now. */
  private wanted = new Set<string>();
  /** The filters subscribed upstream (or on their way): what the session may hold. */
  private readonly subscribed = new Set<string>();
  /** Of {@link subscribed}, those the server acknowledged (SUBACK) on the current connection. */
  private readonly acknowledged = new Set<string>();
  /**
   * Per filter, the number of its latest SUBSCRIBE: the SUBACK of an earlier one (the
   * filter was dropped and wanted again meanwhile) does not acknowledge the latest.
   */
  private readonly subscribeSeq = new Map<string, number>();
  private nextSubscribeSeq = 0;
  /**
   * Of {@link subscribed}, those the session may or may not hold: all of them after a
   * connect, and those whose SUBSCRIBE was lost with the connection (the server may have
   * taken it before the connection went). The next {@link apply} subscribes them again if
   * still wanted, and unsubscribes them if not, so a kept session does not go on
   * importing what nobody wants.
   */
  private readonly uncertain = new Set<string>();

  /** @param address the upstream as logged (without credentials) */
  constructor(
    private readonly log: Logger,
    private readonly address: string,
  ) {}

  /** Replace the filters wanted; {@link apply} sends the difference. */
  want(filters: Set<string>): void {
    this.wanted = filters;
  }

  /** Whether the server acknowledged a subscription to `filter`. */
  isAcknowledged(filter: string): boolean {
    return this.acknowledged.has(filter);
  }

  /**
   * Connected, the first time or again: nothing counts as acknowledged until the server
   * answers a SUBSCRIBE on this connection, and the next {@link apply} subscribes to
   * every wanted filter. Without `sessionPresent` the session is new (first connect,
   * expired, or an upstream that lost it) and holds no subscriptions.
   */
  connected(sessionPresent: boolean): void {
    if (!sessionPresent) this.subscribed.clear();
    this.acknowledged.clear();
    // The answers still on their way belong to the connection that went.
    this.subscribeSeq.clear();
    this.uncertain.clear();
    for (const f of this.subscribed) this.uncertain.add(f);
  }

  /** Bring the session's subscriptions to what is wanted, through a connected client. */
  apply(client: MqttClient): void {
    const drop = [...this.subscribed].filter((f) => !this.wanted.has(f));
    const add = [...this.wanted].filter((f) => !this.subscribed.has(f) || this.uncertain.has(f));
    this.uncertain.clear();
    if (drop.length > 0) {
      for (const f of drop) {
        this.subscribed.delete(f);
        this.acknowledged.delete(f);
        this.subscribeSeq.delete(f);
      }
      client.unsubscribe(drop, (err) => {
        if (!err) return;
        // Lost mid-call: the session may still hold them; the next connect drops them again.
        for (const f of drop) if (!this.wanted.has(f)) this.subscribed.add(f);
        this.log.debug('federation: MQTT unsubscribe failed', { filters: drop.join(','), error: err });
      });
    }
    // One SUBSCRIBE per filter: a SUBACK that refuses one filter then says nothing of the
    // others (MQTT.js reports a refusal as the error of the whole call).
    for (const f of add) {
      this.subscribed.add(f);
      const seq = ++this.nextSubscribeSeq;
      this.subscribeSeq.set(f, seq);
      // rh 1: the server's retained messages for the filter only when the session did not
      // hold it (a first subscribe, or one the server lost), never again for a filter it
      // kept: a copy of what was imported already must not arrive as a new message. rap
      // ("retain as published"): a live retained publish keeps its flag, so the importing
      // broker retains it too; without it the server sends every live message with retain
      // 0, and only its copies for a new subscription with 1.
      client.subscribe(f, { qos: 1, nl: true, rap: true, rh: 1 }, (err) => {
        if (this.subscribeSeq.get(f) !== seq) return; // dropped or asked for again since
        if (!err) {
          this.acknowledged.add(f);
          return;
        }
        this.subscribeSeq.delete(f);
        if (reasonCodeOf(err) !== undefined) {
          this.subscribed.delete(f);
          this.log.warning('federation: the MQTT upstream refused a subscription; those imports do not arrive', { upstream: this.address, filter: f, error: err });
        } else {
          this.uncertain.add(f);
          this.log.debug('federation: MQTT subscribe lost with the connection; made again, or undone, on reconnect', { filter: f, error: err });
        }
      });
    }
  }
}
