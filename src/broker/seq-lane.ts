/**
 * Records of this broker's messages of one id space, in increasing sequence number, with
 * dead ones (deleted out of order) among them: the ordered half of a {@link MessageRecords}.
 * Kept in parallel circular arrays, a sequence number, an order number, a value and a
 * live flag per slot, rather than an object per record.
 *
 * Every QoS 1 message enters two such lanes (the ack tracker's, its subscriber's
 * in-flight record) and stays there for up to `max_queue_size` further messages: long
 * enough to be promoted to the old generation. An object per record (with its sequence
 * number boxed) was two of the handful of objects per message that a backlog of QoS 1
 * publishes had the garbage collector copy and promote; typed arrays hold numbers without
 * a box, and the ring reuses its slots as it turns.
 */

const MIN_CAPACITY = 16;
/** An emptied lane larger than this goes back to MIN_CAPACITY (see FrameRing). */
const KEEP_CAPACITY = 1024;
/** Dead records the lane may hold beyond the live ones before it is rebuilt without them. */
const SLACK = 64;

export class SeqLane<V> {
  private seqs = new Float64Array(MIN_CAPACITY);
  private orders = new Float64Array(MIN_CAPACITY);
  private values: (V | undefined)[] = valuesOf<V>(MIN_CAPACITY);
  private alive = new Uint8Array(MIN_CAPACITY);
  /** Slot of the oldest record. */
  private head = 0;
  /** Records held, dead ones included. */
  private count = 0;
  private liveCount = 0;

  /** Live records. */
  get live(): number {
    return this.liveCount;
  }

  /** Records held, dead ones included (for tests: must stay bounded). */
  get length(): number {
    return this.count;
  }

  /** Slots allocated (for tests: an emptied lane gives back what it grew to). */
  get capacity(): number {
    return this.seqs.length;
  }

  /** The sequence number of the newest record, live or dead; -1 when empty. */
  lastSeq(): number {
    return this.count === 0 ? -1 : this.seqs[this.slot(this.count - 1)]!;
  }

  /** Append a record; `seq` must be above {@link lastSeq}. */
  push(seq: number, order: number, value: V): void {
    if (this.count === this.seqs.length) this.resize(this.seqs.length * 2);
    const slot = this.slot(this.count);
    this.seqs[slot] = seq;
    this.orders[slot] = order;
    this.values[slot] = value;
    this.alive[slot] = 1;
    this.count++;
    this.liveCount++;
  }

  /** The position (from the oldest) of the live record of `seq` (looked for where it would be with none missing, then by binary search); -1 when none. */
  find(seq: number): number {
    // Looked at first: where `seq` is when no sequence number is missing since the oldest
    // record. A lane of one subscriber's messages, or of every QoS 1 message, usually has
    // none missing, and an ack then costs one look instead of a search over thousands.
    const guess = seq - this.seqs[this.head]!;
    if (guess >= 0 && guess < this.count) {
      const slot = this.slot(guess);
      if (this.seqs[slot] === seq) return this.alive[slot] === 1 ? guess : -1;
    }
    let lo = 0;
    let hi = this.count - 1;
    while (lo <= hi) {
      const mid = (lo + hi) >>> 1;
      const slot = this.slot(mid);
      const s = this.seqs[slot]!;
      if (s === seq) return this.alive[slot] === 1 ? mid : -1;
      if (s < seq) lo = mid + 1;
      else hi = mid - 1;
    }
    return -1;
  }

  /** The sequence number of the record at position `i` (from the oldest), live or dead. */
  seqAt(i: number): number {
    return this.seqs[this.slot(i)]!;
  }

  /** The order number the record at position `i` was appended with. */
  orderAt(i: number): number {
    return this.orders[this.slot(i)]!;
  }

  /** False for a record killed but not yet let go of (see {@link kill}). */
  isLiveAt(i: number): boolean {
    return this.alive[this.slot(i)] === 1;
  }

  /** The value of the live record at position `i`. */
  valueAt(i: number): V {
    return this.values[this.slot(i)] as V;
  }

  /** Replace the value of the live record at position `i`; it keeps its place. */
  setValueAt(i: number, value: V): void {
    this.values[this.slot(i)] = value;
  }

  /**
   * Position of the oldest live record, dead ones before it let go of; -1 when none is
   * live (then the lane is empty).
   */
  front(): number {
    while (this.count > 0 && this.alive[this.head] === 0) {
      this.head = this.slot(1);
      this.count--;
    }
    if (this.count > 0) return 0;
    // Every slot was emptied as its record died: only a large lane has anything to give back.
    if (this.seqs.length > KEEP_CAPACITY) this.resize(MIN_CAPACITY);
    this.head = 0;
    return -1;
  }

  /**
   * Forget the live record at position `i`. Positions of the others change when dead ones
   * are let go of: look them up again afterwards.
   */
  kill(i: number): void {
    const slot = this.slot(i);
    this.alive[slot] = 0;
    this.values[slot] = undefined;
    this.liveCount--;
    this.front();
    if (this.count > 2 * this.liveCount + SLACK) this.compact();
  }

  clear(): void {
    this.count = 0;
    this.liveCount = 0;
    this.head = 0;
    if (this.seqs.length > KEEP_CAPACITY) {
      this.resize(MIN_CAPACITY);
    } else {
      this.values.fill(undefined);
      this.alive.fill(0);
    }
  }

  /** Drop the dead records, keeping the order of the live ones. */
  private compact(): void {
    let to = 0;
    for (let from = 0; from < this.count; from++) {
      const src = this.slot(from);
      if (this.alive[src] === 0) continue;
      const dst = this.slot(to++);
      if (dst === src) continue;
      this.seqs[dst] = this.seqs[src]!;
      this.orders[dst] = this.orders[src]!;
      this.values[dst] = this.values[src];
      this.alive[dst] = 1;
      // Past the new end: only the value matters, which would keep its object alive.
      this.values[src] = undefined;
    }
    this.count = to;
  }

  /** Move the records to arrays of `capacity` slots (at least `count`), the oldest at slot 0. */
  private resize(capacity: number): void {
    const seqs = new Float64Array(capacity);
    const orders = new Float64Array(capacity);
    const values = valuesOf<V>(capacity);
    const alive = new Uint8Array(capacity);
    for (let i = 0; i < this.count; i++) {
      const slot = this.slot(i);
      seqs[i] = this.seqs[slot]!;
      orders[i] = this.orders[slot]!;
      values[i] = this.values[slot];
      alive[i] = this.alive[slot]!;
    }
    this.seqs = seqs;
    this.orders = orders;
    this.values = values;
    this.alive = alive;
    this.head = 0;
  }

  /** The array slot of the record `i` places from the oldest (capacity is a power of 2). */
  private slot(i: number): number {
    return (this.head + i) & (this.seqs.length - 1);
  }
}

/** A values array of `n` holes-free slots (V8 keeps it in one elements kind). */
function valuesOf<V>(n: number): (V | undefined)[] {
  return new Array<V | undefined>(n).fill(undefined);
}
