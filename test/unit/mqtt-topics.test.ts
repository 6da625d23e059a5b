import { describe, expect, it } from 'vitest';
import { mqttFilterOf, mqttTopicOf, REPLY_PREFIX, topicOfMqtt } from '../../src/broker/federation/mqtt-topics.js';
import { topicMatches } from '../../src/protocol/topics.js';

describe('mqttTopicOf', () => {
  it.each([
    ['jobs', 'jobs'],
    ['jobs.activated', 'jobs/activated'],
    ['scripts.notepad.started', 'scripts/notepad/started'],
    ['système.événement', 'système/événement'],
    ['a-b_c.d:e', 'a-b_c/d:e'],
    ['ahk.replies', 'ahk/replies'], // only what is below ahk/reply/ is the link's
    ['ahk.reply', 'ahk/reply'],
    ['a.$b', 'a/$b'], // `$` is special only at the start
  ])('maps %j to %j', (topic, name) => {
    expect(mqttTopicOf(topic)).toBe(name);
  });

  it.each([
    ['a/b', 'a level with "/" would become two levels'],
    ['jobs.a/b.c', 'same, deeper'],
    ['$SYS.broker', 'MQTT reserves topics that start with $'],
    ['$x', 'same'],
    ['ahk.reply.ahk-1234', 'the link reply space'],
  ])('has no MQTT form for %j (%s)', (topic) => {
    expect(mqttTopicOf(topic)).toBeNull();
  });
});

describe('mqttFilterOf', () => {
  it.each([
    ['#', '#'],
    ['jobs.#', 'jobs/#'],
    ['jobs.*', 'jobs/+'],
    ['jobs.+', 'jobs/+'],
    ['*.status.#', '+/status/#'],
    ['+.+', '+/+'],
    ['jobs.activated', 'jobs/activated'],
  ])('maps %j to %j', (pattern, filter) => {
    expect(mqttFilterOf(pattern)).toBe(filter);
  });

  it.each([['a/b.#'], ['jobs.x/y'], ['$SYS.#'], ['$share.g.jobs']])('has no MQTT form for %j', (pattern) => {
    expect(mqttFilterOf(pattern)).toBeNull();
  });

  it('MQTT "a/#" also matches "a", as our "a.#" does: the mapping keeps what a pattern matches', () => {
    expect(topicMatches('jobs.#', 'jobs')).toBe(true);
    expect(mqttFilterOf('jobs.#')).toBe('jobs/#');
  });
});

describe('topicOfMqtt', () => {
  it.each([
    ['jobs', 'jobs'],
    ['jobs/activated', 'jobs.activated'],
    ['plc/line 3/temp', 'plc.line 3.temp'],
    ['a.b/c', 'a.b.c'], // a dot in a foreign level is a level separator here
  ])('maps %j to %j', (name, topic) => {
    expect(topicOfMqtt(name)).toBe(topic);
  });

  it.each([
    ['a//b', 'an empty level'],
    ['/a', 'a leading /'],
    ['a/', 'a trailing /'],
    ['/', 'only empty levels'],
    ['a./b', 'an empty level once mapped'],
    ['a/b*c', 'a wildcard character our topics refuse'],
    ['a/\u0001', 'a control character'],
    ['$SYS/broker/uptime', 'a $ topic'],
    [`${REPLY_PREFIX}ahk-1`, 'a link reply topic'],
  ])('drops %j (%s)', (name) => {
    expect(topicOfMqtt(name)).toBeNull();
  });

  it('round-trips every topic that can cross', () => {
    for (const t of ['a', 'a.b.c', 'jobs.line3.activated', 'x y.z']) expect(topicOfMqtt(mqttTopicOf(t)!)).toBe(t);
  });
});
