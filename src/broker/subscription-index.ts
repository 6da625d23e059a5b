/**
 * Pattern-to-subscriber index for routing publishes.
 *
 * A publish must find every subscriber with a matching pattern. Scanning every
 * subscription costs O(subscriptions) per publish; a trie keyed by level costs
 * O(levels x wildcard branches) instead, independent of how many unrelated patterns
 * exist. Matching is the same as {@link topicMatches} in `../protocol/topics.ts`.
 *
 * Publishers tend to reuse a handful of topics, so results are cached per topic; the
 * cache is dropped on every change, which is rare compared to publishes.
 */
import { FifoMap } from './fifo-map.js';

/** Entries kept in the match cache. */
const CACHE_LIMIT = 1024;
/**
 * Longer topics are matched but not cached: the entry count alone does not bound memory
 * when a topic may be 64 KiB long.
 */
const MAX_CACHED_TOPIC_LENGTH = 512;

const EMPTY: readonly never[] = Object.freeze([]);

class TrieNode<S> {
  /** Children for literal levels. Created lazily: most nodes are leaves. */
  children: Map<string, TrieNode<S>> | undefined = undefined;
  /**
   * `*` and `+` match the same topics but stay separate children, so that removing
   * `a.*` leaves the same subscriber's `a.+` in place.
   */
  star: TrieNode<S> | undefined = undefined;
  plus: TrieNode<S> | undefined = undefined;
  /** Subscribers whose pattern ends exactly at this node. */
  exact: Set<S> | undefined = undefined;
  /** Subscribers of `<path to this node>.#` (at the root: `#`). */
  hash: Set<S> | undefined = undefined;

  isEmpty(): boolean {
    return (
      this.children === undefined &&
      this.star === undefined &&
      this.plus === undefined &&
      this.exact === undefined &&
      this.hash === undefined
    );
  }
}

/**
 * Maps subscription patterns to subscribers. Subscribers are compared by identity
 * (`Set` semantics). Patterns and topics must already be valid (see `patternError` and
 * `topicError`); the index does not check them again on the hot path.
 */
export class SubscriptionIndex<S> {
  private root = new TrieNode<S>();
  private pairs = 0;
  private readonly cache = new FifoMap<string, readonly S[]>();
  /**
   * The last topic matched and its match, looked at before the cache: a publisher sends
   * message after message to one topic, and a Map look-up per message showed in profiles.
   */
  private lastTopic: string | null = null;
  private lastMatch: readonly S[] = [];
  // Scratch state reused by every cache miss, so a miss allocates only the level array
  // and its result.
  private readonly found = new Set<S>();
  private readonly stackNodes: (TrieNode<S> | undefined)[] = [];
  private readonly stackDepths: number[] = [];

  /**
   * Subscribe `subscriber` to `pattern`.
   * @returns `true` if this (pattern, subscriber) pair is new, `false` if already present.
   */
  add(pattern: string, subscriber: S): boolean {
    const levels = pattern.split('.');
    const last = levels.length - 1;
    let node = this.root;
    let set: Set<S> | undefined;
    for (let i = 0; ; i++) {
      const level = levels[i]!;
      if (i === last && level === '#') {
        set = node.hash ??= new Set<S>();
        break;
      }
      node = this.childOrCreate(node, level);
      if (i === last) {
        set = node.exact ??= new Set<S>();
        break;
      }
    }
    if (set.has(subscriber)) return false;
    set.add(subscriber);
    this.pairs++;
    this.forgetMatches();
    return true;
  }

  /**
   * Unsubscribe `subscriber` from `pattern` (the exact string it subscribed with: `a.*`
   * and `a.+` are distinct pairs). Trie nodes left empty are removed so that churn in
   * topic names does not grow memory.
   * @returns `true` if the pair existed.
   */
  remove(pattern: string, subscriber: S): boolean {
    const levels = pattern.split('.');
    const last = levels.length - 1;
    // path[i] is the node reached after levels[0..i-1]; path[0] is the root.
    const path: TrieNode<S>[] = [this.root];
    let node = this.root;
    let isHash = false;
    for (let i = 0; i <= last; i++) {
      const level = levels[i]!;
      if (i === last && level === '#') {
        isHash = true;
        break;
      }
      const child = childOf(node, level);
      if (child === undefined) return false;
      node = child;
      path.push(node);
    }
    const set = isHash ? node.hash : node.exact;
    if (set === undefined || !set.delete(subscriber)) return false;
    if (set.size === 0) {
      if (isHash) node.hash = undefined;
      else node.exact = undefined;
    }
    this.pairs--;
    this.forgetMatches();
    // Prune bottom-up; path[i] hangs under path[i - 1] by levels[i - 1].
    for (let i = path.length - 1; i > 0; i--) {
      const n = path[i]!;
      if (!n.isEmpty()) break;
      detach(path[i - 1]!, levels[i - 1]!);
    }
    return true;
  }

  /**
   * Every subscriber with at least one pattern matching `topic`, each exactly once.
   * The order is deterministic for a given sequence of `add`/`remove` calls but is not
   * otherwise specified.
   *
   * The returned array is shared with the cache and frozen: do not mutate it (copy it
   * first). It stays valid after later changes to the index; it just no longer reflects
   * them.
   */
  match(topic: string): readonly S[] {
    if (topic === this.lastTopic) return this.lastMatch;
    const cached = this.cache.get(topic);
    if (cached !== undefined) {
      this.lastTopic = topic;
      this.lastMatch = cached;
      return cached;
    }

    const levels = topic.split('.');
    const n = levels.length;
    const found = this.found;
    const nodes = this.stackNodes;
    const depths = this.stackDepths;
    // An explicit stack rather than recursion: a valid pattern may have ~32k levels,
    // deeper than the call stack allows.
    let sp = 0;
    nodes[0] = this.root;
    depths[0] = 0;
    sp = 1;
    while (sp > 0) {
      sp--;
      const node = nodes[sp]!;
      const depth = depths[sp]!;
      nodes[sp] = undefined; // do not keep pruned nodes alive from the scratch stack
      // `x.#` matches `x` itself and everything below, so it applies at any depth.
      if (node.hash !== undefined) for (const s of node.hash) found.add(s);
      if (depth === n) {
        if (node.exact !== undefined) for (const s of node.exact) found.add(s);
        continue;
      }
      const next = depth + 1;
      if (node.children !== undefined) {
        const child = node.children.get(levels[depth]!);
        if (child !== undefined) {
          nodes[sp] = child;
          depths[sp++] = next;
        }
      }
      if (node.star !== undefined) {
        nodes[sp] = node.star;
        depths[sp++] = next;
      }
      if (node.plus !== undefined) {
        nodes[sp] = node.plus;
        depths[sp++] = next;
      }
    }

    let result: readonly S[];
    if (found.size === 0) {
      result = EMPTY;
    } else {
      result = Object.freeze(Array.from(found));
      found.clear();
    }
    if (topic.length <= MAX_CACHED_TOPIC_LENGTH) {
      if (this.cache.size >= CACHE_LIMIT) this.cache.shift();
      this.cache.set(topic, result);
      this.lastTopic = topic;
      this.lastMatch = result;
    }
    return result;
  }

  /** Number of (pattern, subscriber) pairs. */
  get size(): number {
    return this.pairs;
  }

  /** Remove every pair. */
  clear(): void {
    this.root = new TrieNode<S>();
    this.pairs = 0;
    this.forgetMatches();
  }

  /** The index changed: no match found before holds. */
  private forgetMatches(): void {
    this.cache.clear();
    this.lastTopic = null;
    this.lastMatch = [];
  }

  private childOrCreate(node: TrieNode<S>, level: string): TrieNode<S> {
    if (level === '*') return (node.star ??= new TrieNode<S>());
    if (level === '+') return (node.plus ??= new TrieNode<S>());
    const children = (node.children ??= new Map<string, TrieNode<S>>());
    let child = children.get(level);
    if (child === undefined) {
      child = new TrieNode<S>();
      children.set(level, child);
    }
    return child;
  }
}

function childOf<S>(node: TrieNode<S>, level: string): TrieNode<S> | undefined {
  if (level === '*') return node.star;
  if (level === '+') return node.plus;
  return node.children?.get(level);
}

function detach<S>(parent: TrieNode<S>, level: string): void {
  if (level === '*') parent.star = undefined;
  else if (level === '+') parent.plus = undefined;
  else if (parent.children !== undefined) {
    parent.children.delete(level);
    if (parent.children.size === 0) parent.children = undefined;
  }
}
