/**
 * Our topics and patterns as MQTT topic names and filters, and back. Levels are separated
 * by `.` here and by `/` in MQTT; `*` and `+` are both MQTT's `+`; `#` stays `#` (MQTT's
 * `a/#` also matches `a`, as our `a.#` does). A level that holds `/`, `+` or `#`, or a
 * topic starting with `$` (MQTT's server-reserved space), has no MQTT form: it does not
 * cross. The link's own reply topics live under {@link REPLY_PREFIX}, which no
 * application message may use.
 */
import { topicError } from '../../protocol/topics.js';

/** MQTT topics below this carry request replies to one link each: never an application message. */
export const REPLY_PREFIX = 'ahk/reply/';

const NOT_IN_A_LEVEL = /[/+#]/;

function reserved(mqttTopic: string): boolean {
  return mqttTopic.startsWith('$') || mqttTopic.startsWith(REPLY_PREFIX);
}

/** The MQTT topic name for one of our topics, or null when it cannot cross. */
export function mqttTopicOf(topic: string): string | null {
  const levels = topic.split('.');
  if (levels.some((l) => NOT_IN_A_LEVEL.test(l))) return null;
  const name = levels.join('/');
  return reserved(name) ? null : name;
}

/** The MQTT topic filter for one of our patterns, or null when it cannot cross. */
export function mqttFilterOf(pattern: string): string | null {
  const levels = pattern.split('.').map((l) => (l === '*' ? '+' : l));
  if (levels.some((l) => l !== '+' && l !== '#' && NOT_IN_A_LEVEL.test(l))) return null;
  const filter = levels.join('/');
  return filter.startsWith('$') ? null : filter;
}

/**
 * Our topic for an MQTT topic name that arrived, or null when it has no valid form here:
 * an empty level (`a//b`, a leading or trailing `/`), a character our topics refuse
 * (`*`, a control character), a `$` topic or a link reply topic.
 */
export function topicOfMqtt(mqttTopic: string): string | null {
  if (reserved(mqttTopic)) return null;
  const topic = mqttTopic.split('/').join('.');
  return topicError(topic) === null ? topic : null;
}
