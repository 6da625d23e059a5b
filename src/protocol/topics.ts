/**
 * Topics are dot-separated levels with no wildcard characters and no empty level.
 * Patterns add `*` / `+` (exactly one level) and `#` (this level and everything below,
 * only as the whole last level). Since a topic has no empty level, `*` and `+` match the
 * same topics; both exist because existing clients use both.
 */
import { shownName } from './excerpt.js';
import { RESERVED_PREFIXES } from './messages.js';

/** Longest topic or pattern accepted, in characters (MQTT's limit, for familiarity). */
export const MAX_TOPIC_LENGTH = 65_535;

const WILDCARDS = /[*+#]/;
// Control characters would corrupt log lines and the `bridge sub` output.
const CONTROL = /[\u0000-\u001f\u007f]/;

/** Why `topic` is not a valid topic, or `null` when it is. */
export function topicError(topic: unknown): string | null {
  if (typeof topic !== 'string') return 'topic must be a string';
  if (topic.length === 0) return 'topic is empty';
  if (topic.length > MAX_TOPIC_LENGTH) return `topic is longer than ${MAX_TOPIC_LENGTH} characters`;
  if (CONTROL.test(topic)) return 'topic contains a control character';
  if (WILDCARDS.test(topic)) return 'topic contains a wildcard (*, + or #)';
  if (topic.startsWith('.') || topic.endsWith('.') || topic.includes('..')) return 'topic has an empty level';
  return null;
}

/** Why `pattern` is not a valid subscription pattern, or `null` when it is. */
export function patternError(pattern: unknown): string | null {
  if (typeof pattern !== 'string') return 'pattern must be a string';
  if (pattern.length === 0) return 'pattern is empty';
  if (pattern.length > MAX_TOPIC_LENGTH) return `pattern is longer than ${MAX_TOPIC_LENGTH} characters`;
  if (CONTROL.test(pattern)) return 'pattern contains a control character';
  const levels = pattern.split('.');
  for (let i = 0; i < levels.length; i++) {
    const level = levels[i]!;
    if (level.length === 0) return 'pattern has an empty level';
    if (level === '*' || level === '+') continue;
    if (level === '#') {
      if (i !== levels.length - 1) return '# is only valid as the last level';
      continue;
    }
    if (WILDCARDS.test(level)) return `level ${shownName(level, true)} mixes a wildcard with other characters`;
  }
  return null;
}

/** True when clients may not publish to `topic` (`system.`, `_internal.`). */
export function isReservedTopic(topic: string): boolean {
  return RESERVED_PREFIXES.some((prefix) => topic.startsWith(prefix));
}

/** True when `pattern` (assumed valid) matches `topic` (assumed valid). */
export function topicMatches(pattern: string, topic: string): boolean {
  if (pattern === '#') return true;
  const p = pattern.split('.');
  const t = topic.split('.');
  for (let i = 0; i < p.length; i++) {
    const level = p[i]!;
    if (level === '#') return true; // matches the parent level too: `a.#` matches `a`
    if (i >= t.length) return false;
    if (level !== '*' && level !== '+' && level !== t[i]) return false;
  }
  return p.length === t.length;
}
