/**
 * A small seeded PRNG for the broker fuzz test. Frame generation must be reproducible
 * from a seed alone, so nothing in the generators may call Math.random.
 */

/** splitmix32: spreads nearby seeds (1, 2, 3...) into unrelated mulberry32 states. */
function splitmix32(x: number): number {
  let z = (x + 0x9e3779b9) | 0;
  z = Math.imul(z ^ (z >>> 16), 0x85ebca6b);
  z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35);
  return (z ^ (z >>> 16)) >>> 0;
}

/** mulberry32: 32 bits of state, fast, and plenty random for picking test cases. */
export class Rng {
  private state: number;

  /** `stream` gives each connection of one seed its own independent sequence. */
  constructor(seed: number, stream = 0) {
    this.state = splitmix32(splitmix32(seed >>> 0) ^ Math.imul(stream + 1, 0x27d4eb2d));
  }

  /** Uniform in [0, 1). */
  next(): number {
    let t = (this.state = (this.state + 0x6d2b79f5) | 0);
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }

  /** Integer in [lo, hi], both ends included. */
  int(lo: number, hi: number): number {
    return lo + Math.floor(this.next() * (hi - lo + 1));
  }

  chance(p: number): boolean {
    return this.next() < p;
  }

  pick<T>(items: readonly T[]): T {
    if (items.length === 0) throw new Error('Rng.pick: empty list');
    return items[Math.floor(this.next() * items.length)]!;
  }

  /** Pick by weight: `[[weight, value], ...]`. */
  weighted<T>(table: readonly (readonly [number, T])[]): T {
    let total = 0;
    for (const [w] of table) total += w;
    let r = this.next() * total;
    for (const [w, v] of table) {
      r -= w;
      if (r < 0) return v;
    }
    return table[table.length - 1]![1];
  }

  bytes(n: number): Buffer {
    const b = Buffer.allocUnsafe(n);
    for (let i = 0; i < n; i++) b[i] = Math.floor(this.next() * 256);
    return b;
  }

  shuffle<T>(items: T[]): T[] {
    for (let i = items.length - 1; i > 0; i--) {
      const j = Math.floor(this.next() * (i + 1));
      [items[i], items[j]] = [items[j]!, items[i]!];
    }
    return items;
  }
}

/** Parse `FUZZ_SEEDS`: `7`, `1-20`, `1,5,9` or a mix such as `1-3,7`. */
export function parseSeeds(spec: string | undefined, fallback: readonly number[]): number[] {
  if (spec === undefined || spec.trim() === '') return [...fallback];
  const seeds: number[] = [];
  for (const part of spec.split(',')) {
    const m = /^\s*(\d+)\s*(?:-\s*(\d+)\s*)?$/.exec(part);
    if (!m) throw new Error(`FUZZ_SEEDS: cannot read "${part}" (use e.g. 7, 1-20 or 1,5,9)`);
    const lo = Number(m[1]);
    const hi = m[2] === undefined ? lo : Number(m[2]);
    if (hi < lo) throw new Error(`FUZZ_SEEDS: empty range "${part}"`);
    for (let s = lo; s <= hi; s++) seeds.push(s);
  }
  return seeds;
}
