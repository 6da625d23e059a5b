/**
 * Topic and pattern arguments, checked before connecting: a mistyped topic is reported at
 * once with the rule, with or without a broker running. The rules are the broker's own
 * (src/protocol/topics.ts), so the CLI refuses exactly what the broker would, plus one of
 * its own: no spaces, which in a command line are almost always a quoting slip
 * (`bridge sub "jobs.a jobs.b"` for two patterns) even though the broker would take them.
 */
import { isReservedTopic, patternError, topicError } from '../src/protocol/topics.js';
import { RESERVED_PREFIXES } from '../src/protocol/messages.js';
import { CliError } from './cli-error.js';

export const TOPIC_RULE =
  'A topic is dot-separated levels, e.g. jobs.activated: no spaces, no wildcards (* + #), no empty level, no leading or trailing dot.';

export const PATTERN_RULE =
  'A pattern is dot-separated levels, e.g. jobs.* or scripts.#: * or + stands for exactly one level, # (only as the whole last level) for any depth; ' +
  'no empty level, no leading or trailing dot, no spaces (give each pattern as its own argument).';

const SPACE = /\s/;

/** Why `topic` is not a topic the CLI publishes to, or `null`. */
export function topicArgError(topic: string): string | null {
  if (topic.length > 0 && SPACE.test(topic) && !/[\u0000-\u001f\u007f]/.test(topic)) return 'topic contains a space';
  return topicError(topic);
}

/** Why `pattern` is not a pattern the CLI subscribes to, or `null`. */
export function patternArgError(pattern: string): string | null {
  if (pattern.length > 0 && SPACE.test(pattern) && !/[\u0000-\u001f\u007f]/.test(pattern)) return 'pattern contains a space';
  return patternError(pattern);
}

/**
 * Refuse a topic argument (`pub`, `request`) that the broker would refuse.
 * @param allowInternal let `_internal.` through for `request`, where the broker answers
 *   some such topics itself and says which ones when it does not
 * @throws CliError naming the problem and the rule
 */
export function checkTopicArg(topic: string, { allowInternal = false }: { allowInternal?: boolean } = {}): void {
  const reason = topicArgError(topic);
  if (reason) throw new CliError(`invalid topic ${JSON.stringify(topic)}: ${reason}.\n${TOPIC_RULE}`);
  if (isReservedTopic(topic) && !(allowInternal && topic.startsWith('_internal.'))) {
    throw new CliError(
      `topic ${JSON.stringify(topic)} is reserved for the broker: clients may not send on topics starting with ${RESERVED_PREFIXES.map((p) => JSON.stringify(p)).join(' or ')}.`,
    );
  }
}

/**
 * Refuse pattern arguments (`sub`, `reply`) that the broker would refuse, all of them in
 * one message.
 * @throws CliError naming each bad pattern and the rule
 */
export function checkPatternArgs(patterns: readonly string[]): void {
  const bad = patterns.flatMap((p) => {
    const reason = patternArgError(p);
    return reason ? [`${JSON.stringify(p)} (${reason})`] : [];
  });
  if (bad.length > 0) throw new CliError(`invalid pattern${bad.length === 1 ? '' : 's'} ${bad.join(', ')}.\n${PATTERN_RULE}`);
}
