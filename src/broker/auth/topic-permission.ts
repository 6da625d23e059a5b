/**
 * One kind of permission (publish, subscribe or request) as allow and deny lists of topic
 * patterns, in the shape NATS `permissions` and Mosquitto's `acl_file` use:
 *
 * - no lists at all: everything is allowed;
 * - an `allow` list: only topics it matches (an empty list allows nothing);
 * - a `deny` list: never the topics it matches, whatever `allow` says.
 *
 * Each refusal names the rule that caused it, so an operator can tell from a client's
 * error which line of the config to change.
 */
import { patternError, topicMatches } from '../../protocol/topics.js';

/** How a permission is written in the config file: an allow list, or both lists. */
export type PermissionSpec = readonly string[] | { readonly allow?: readonly string[]; readonly deny?: readonly string[] };

/** Why a topic or pattern was refused: the kind, and the list entry (or its absence). */
export interface Denial {
  /** e.g. `publish.deny scripts.#`, or `subscribe.allow` when no allow pattern fits. */
  rule: string;
}

/** Topic verdicts cached per permission; cleared when full (a client could vary topics). */
const MAX_CACHED_VERDICTS = 4096;

/**
 * Whether every topic `pattern` matches is also matched by `by`. Levels compare as
 * patterns: `*`/`+` in `by` covers one level of anything but `#`, a `#` in `by` covers the
 * rest (`a.#` covers `a` too), and a literal covers only the same literal.
 */
export function patternCovers(by: string, pattern: string): boolean {
  const a = by.split('.');
  const p = pattern.split('.');
  for (let i = 0; i < p.length; i++) {
    const level = a[i];
    if (level === '#') return true;
    if (level === undefined || p[i] === '#') return false;
    if (level === '*' || level === '+') continue;
    if (level !== p[i]) return false;
  }
  return a.length === p.length || (a.length === p.length + 1 && a[a.length - 1] === '#');
}

export class TopicPermission {
  private readonly verdicts = new Map<string, Denial | null>();

  /**
   * @param kind `publish`, `subscribe` or `request`, for the rule names
   * @param allow `null` when every topic not denied is allowed
   */
  constructor(
    readonly kind: string,
    readonly allow: readonly string[] | null,
    readonly deny: readonly string[],
  ) {}

  /** True when this permission allows everything (nothing to check). */
  get unrestricted(): boolean {
    return this.allow === null && this.deny.length === 0;
  }

  /** Why `topic` is refused, or null when it is allowed. */
  checkTopic(topic: string): Denial | null {
    let verdict = this.verdicts.get(topic);
    if (verdict !== undefined) return verdict;
    verdict = this.decideTopic(topic);
    if (this.verdicts.size >= MAX_CACHED_VERDICTS) this.verdicts.clear();
    this.verdicts.set(topic, verdict);
    return verdict;
  }

  private decideTopic(topic: string): Denial | null {
    const denied = this.deny.find((d) => topicMatches(d, topic));
    if (denied !== undefined) return { rule: `${this.kind}.deny ${denied}` };
    if (this.allow !== null && !this.allow.some((a) => topicMatches(a, topic))) return { rule: `${this.kind}.allow` };
    return null;
  }

  /**
   * Why subscribing to `pattern` is refused, or null. A pattern is refused when a deny
   * pattern covers all of it, or when an allow list exists and no entry covers all of it.
   * A pattern that only overlaps a deny pattern (`#` beside `deny: ["scripts.#"]`) is
   * accepted, and the denied topics are filtered out of its deliveries by `checkTopic`.
   */
  checkPattern(pattern: string): Denial | null {
    const denied = this.deny.find((d) => patternCovers(d, pattern));
    if (denied !== undefined) return { rule: `${this.kind}.deny ${denied}` };
    if (this.allow !== null && !this.allow.some((a) => patternCovers(a, pattern))) return { rule: `${this.kind}.allow` };
    return null;
  }
}

/**
 * Read one permission from the config. `where` names it in errors
 * (`clients[2].publish`).
 */
export function parsePermission(kind: string, spec: unknown, where: string): TopicPermission {
  if (spec === undefined || spec === null) return new TopicPermission(kind, null, []);
  const lists = Array.isArray(spec) ? { allow: spec as unknown } : spec;
  if (typeof lists !== 'object' || lists === null) {
    throw new Error(`${where} must be a list of topic patterns or {"allow": [...], "deny": [...]}`);
  }
  for (const key of Object.keys(lists)) {
    if (key !== 'allow' && key !== 'deny') throw new Error(`${where} has an unknown key "${key}" (known: allow, deny)`);
  }
  const { allow, deny } = lists as { allow?: unknown; deny?: unknown };
  return new TopicPermission(kind, allow === undefined ? null : patternList(allow, `${where}.allow`), deny === undefined ? [] : patternList(deny, `${where}.deny`));
}

function patternList(value: unknown, where: string): string[] {
  if (!Array.isArray(value)) throw new Error(`${where} must be a list of topic patterns`);
  return value.map((p, i) => {
    const reason = patternError(p);
    if (reason) throw new Error(`${where}[${i}] ${JSON.stringify(p)} is not a valid pattern: ${reason}`);
    return p as string;
  });
}
