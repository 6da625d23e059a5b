import type { MqttClient } from 'mqtt';
import { describe, expect, it } from 'vitest';
import { MqttInterest } from '../../src/broker/federation/mqtt-interest.js';
import { Logger } from '../../src/log/logger.js';

type Done = (err?: Error) => void;

/**
 * The two calls of MQTT.js's client the interest makes, recorded with their callbacks so
 * that a test decides when and how each SUBACK or UNSUBACK arrives.
 */
class RecordingClient {
  readonly subscribes: { filter: string; opts: unknown; done: Done }[] = [];
  readonly unsubscribes: { filters: string[]; done: Done }[] = [];

  subscribe(filter: string, opts: unknown, done: Done): void {
    this.subscribes.push({ filter, opts, done });
  }

  unsubscribe(filters: string[], done: Done): void {
    this.unsubscribes.push({ filters, done });
  }

  /** As MqttClient: the interest uses only the two calls above. */
  get client(): MqttClient {
    return this as unknown as MqttClient;
  }
}

const lostConnection = (): Error => new Error('Connection closed');
const refused = (): Error => Object.assign(new Error('Subscribe error'), { code: 135 });

function setup(): { interest: MqttInterest; c: RecordingClient } {
  return { interest: new MqttInterest(new Logger({ level: 'silent' }), 'mqtt://upstream'), c: new RecordingClient() };
}

describe('MqttInterest', () => {
  it('counts a filter subscribed once its SUBACK accepts it, and not when refused', () => {
    const { interest, c } = setup();
    interest.want(new Set(['a', 'b']));
    interest.apply(c.client);
    expect(c.subscribes.map((s) => s.filter)).toEqual(['a', 'b']);
    expect(interest.isAcknowledged('a')).toBe(false);
    c.subscribes[0]!.done();
    c.subscribes[1]!.done(refused());
    expect(interest.isAcknowledged('a')).toBe(true);
    expect(interest.isAcknowledged('b')).toBe(false);
    // A refused filter is asked for again on the next apply; an accepted one is not.
    interest.apply(c.client);
    expect(c.subscribes.map((s) => s.filter)).toEqual(['a', 'b', 'b']);
  });

  it('unsubscribes a filter no longer wanted whose SUBSCRIBE was lost with the connection (the kept session may hold it)', () => {
    const { interest, c } = setup();
    interest.want(new Set(['a']));
    interest.apply(c.client);
    c.subscribes[0]!.done(lostConnection());
    interest.want(new Set());
    interest.apply(c.client); // reconnected, the session kept
    expect(c.unsubscribes.map((u) => u.filters)).toEqual([['a']]);
    expect(c.subscribes).toHaveLength(1);
  });

  it('subscribes again a filter still wanted whose SUBSCRIBE was lost with the connection', () => {
    const { interest, c } = setup();
    interest.want(new Set(['a']));
    interest.apply(c.client);
    c.subscribes[0]!.done(lostConnection());
    interest.apply(c.client);
    expect(c.subscribes.map((s) => s.filter)).toEqual(['a', 'a']);
    expect(c.unsubscribes).toHaveLength(0);
    c.subscribes[1]!.done();
    expect(interest.isAcknowledged('a')).toBe(true);
    interest.apply(c.client);
    expect(c.subscribes).toHaveLength(2);
  });

  it('does not let the SUBACK of an earlier SUBSCRIBE acknowledge the latest one', () => {
    const { interest, c } = setup();
    interest.want(new Set(['a']));
    interest.apply(c.client);
    interest.want(new Set());
    interest.apply(c.client);
    interest.want(new Set(['a']));
    interest.apply(c.client);
    expect(c.subscribes.map((s) => s.filter)).toEqual(['a', 'a']);
    c.subscribes[0]!.done();
    expect(interest.isAcknowledged('a')).toBe(false);
    c.subscribes[1]!.done();
    expect(interest.isAcknowledged('a')).toBe(true);
  });

  it('forgets every subscription, and answers still on their way, when the session is lost', () => {
    const { interest, c } = setup();
    interest.want(new Set(['a']));
    interest.apply(c.client);
    interest.connected(false);
    c.subscribes[0]!.done();
    expect(interest.isAcknowledged('a')).toBe(false);
    interest.apply(c.client);
    expect(c.subscribes.map((s) => s.filter)).toEqual(['a', 'a']);
  });

  it('subscribes every wanted filter again on a connect that resumed the session, and counts none acknowledged until its new SUBACK', () => {
    const { interest, c } = setup();
    interest.want(new Set(['a', 'b']));
    interest.apply(c.client);
    c.subscribes[0]!.done();
    c.subscribes[1]!.done();
    expect(interest.isAcknowledged('a')).toBe(true);
    // Reconnected, "session present": the server may have come back from an older
    // snapshot without these subscriptions.
    interest.connected(true);
    expect(interest.isAcknowledged('a')).toBe(false);
    interest.apply(c.client);
    expect(c.subscribes.map((s) => s.filter)).toEqual(['a', 'b', 'a', 'b']);
    expect(c.unsubscribes).toHaveLength(0);
    c.subscribes[2]!.done();
    expect(interest.isAcknowledged('a')).toBe(true);
    expect(interest.isAcknowledged('b')).toBe(false);
    // Once made again on this connection, not again until the next connect.
    c.subscribes[3]!.done();
    interest.apply(c.client);
    expect(c.subscribes).toHaveLength(4);
  });

  it('unsubscribes, after a connect that resumed the session, a filter no longer wanted whose UNSUBSCRIBE was lost', () => {
    const { interest, c } = setup();
    interest.want(new Set(['a', 'b']));
    interest.apply(c.client);
    c.subscribes[0]!.done();
    c.subscribes[1]!.done();
    interest.want(new Set(['a']));
    interest.apply(c.client);
    c.unsubscribes[0]!.done(lostConnection());
    interest.connected(true);
    interest.apply(c.client);
    expect(c.unsubscribes.map((u) => u.filters)).toEqual([['b'], ['b']]);
    expect(c.subscribes.map((s) => s.filter)).toEqual(['a', 'b', 'a']);
  });

  it('asks the server for its retained messages only for a subscription the session does not hold (retain handling 1), and for live publishes with their retain flag (retain as published)', () => {
    // A SUBSCRIBE of a filter the session holds, with retain handling 0, makes a server
    // that follows MQTT 5 (EMQX) send its retained messages again; Mosquitto 2.0 does not,
    // so no test against it can see the difference.
    const { interest, c } = setup();
    interest.want(new Set(['a']));
    interest.apply(c.client);
    interest.connected(true);
    interest.apply(c.client);
    expect(c.subscribes.map((s) => s.opts)).toEqual([expect.objectContaining({ qos: 1, nl: true, rap: true, rh: 1 }), expect.objectContaining({ qos: 1, nl: true, rap: true, rh: 1 })]);
  });
});
