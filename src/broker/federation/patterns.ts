/**
 * Pattern algebra for interest propagation: whether one pattern covers another, and
 * whether two can match a common topic. Patterns are the broker's: `*` and `+` are one
 * level, `#` (last only) is this level and everything below, including the parent.
 */
import { topicMatches } from '../../protocol/topics.js';

const isOne = (level: string): boolean => level === '*' || level === '+';

/** True when every topic `narrow` matches is matched by `wide`. */
export function covers(wide: string, narrow: string): boolean {
  const w = wide.split('.');
  const n = narrow.split('.');
  for (let i = 0; i < w.length; i++) {
    const lw = w[i]!;
    if (lw === '#') return true;
    if (i >= n.length) return false;
    const ln = n[i]!;
    if (ln === '#') return false;
    if (isOne(lw)) continue;
    if (isOne(ln) || ln !== lw) return false;
  }
  return w.length === n.length;
}

/** True when some topic matches both patterns. */
export function overlaps(a: string, b: string): boolean {
  const x = a.split('.');
  const y = b.split('.');
  for (let i = 0; ; i++) {
    const lx = x[i];
    const ly = y[i];
    if (lx === '#' || ly === '#') return true;
    if (lx === undefined || ly === undefined) return lx === ly;
    if (isOne(lx) || isOne(ly) || lx === ly) continue;
    return false;
  }
}

/** True when `topic` matches any of `patterns`. */
export function matchesAny(patterns: readonly string[], topic: string): boolean {
  for (const p of patterns) if (topicMatches(p, topic)) return true;
  return false;
}

/**
 * What to subscribe upstream: for each import pattern that some local subscription
 * overlaps, the narrower of the two when one covers the other, else the import pattern
 * (a superset; what arrives is filtered by the local routing anyway). Without repeats,
 * and without patterns another one covers.
 */
export function upstreamInterest(imports: readonly string[], local: Iterable<string>): string[] {
  const wanted = new Set<string>();
  const localList = [...local];
  for (const imp of imports) {
    for (const l of localList) {
      if (!overlaps(imp, l)) continue;
      if (covers(imp, l)) wanted.add(l);
      else wanted.add(imp);
    }
  }
  const list = [...wanted];
  return list.filter((p) => !list.some((q) => q !== p && covers(q, p) && !(covers(p, q) && q > p)));
}
