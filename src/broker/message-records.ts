/**
 * A bounded record of messages by id that forgets its oldest entry first: the ack
 * tracker's and each session's in-flight QoS 1 messages.
 *
 * Both take every QoS 1 message, so they were the broker's largest cost per message after
 * the socket (17 % of its busy time during a file-IPC backlog): a string-keyed Map needs the
 * message's id as a string, made and hashed for the record alone, and a Map churning at
 * its bound rehashes into large tables the garbage collector then collects. Messages this
 * broker created carry a sequence number, and mostly reach a record in that order (not
 * always: with persistence, a publish waits for its journal write, one with no target
 * does not), so those in order go in a ring sorted by number: appended at one end,
 * forgotten at the other, found by binary search, with no string and no hashing. Anything
 * else (restored from the journal, from a federation link, or out of order) goes in a
 * {@link FifoMap} beside it, and the two are kept in one insertion order.
 */
import { FifoMap } from './fifo-map.js';
import type { BrokerMessage } from './message.js';
import { parseMessageSeq, type IdSpace } from './message-id.js';

interface LaneEntry<V> {
  readonly seq: number;
  readonly order: number;
  value: V | undefined;
  alive: boolean;
}

interface OtherEntry<V> {
  readonly id: string;
  readonly order: number;
  readonly value: V;
}

/** Dead entries the ring may hold beyond the live ones before it is rebuilt. */
const SLACK = 64;

export class MessageRecords<V> {
  /** This broker's messages of one id space, in increasing sequence number, with dead ones among them. */
  private lane: LaneEntry<V>[] = [];
  private head = 0;
  private laneSpace: IdSpace | null = null;
  private laneLive = 0;
  private readonly other = new FifoMap<string, OtherEntry<V>>();
  private nextOrder = 0;
  /**
   * The highest sequence number of this broker's messages put in `other` (out of order),
   * and of which id space: a newer message of that space cannot be there, so it is not
   * looked up by id string. `mixed` once two spaces were (only after an id space rolls over).
   */
  private otherOwn: { space: IdSpace; maxSeq: number; mixed: boolean } | null = null;

  get size(): number {
    return this.laneLive + this.other.size;
  }

  /** Record `value` for `msg`; a message already recorded keeps its place, as in a Map. */
  set(msg: BrokerMessage, value: V): void {
    const space = msg.idSpace;
    const seq = msg.idSeq;
    // A message already in the map (out of order once, or before the ring emptied) stays there.
    if (this.mayBeInOther(msg)) {
      const old = this.other.get(msg.id);
      if (old !== undefined) {
        this.other.set(msg.id, { id: msg.id, order: old.order, value });
        return;
      }
    }
    if (space !== undefined && seq !== undefined && (this.laneSpace === null || this.laneSpace === space)) {
      const last = this.lane.length > this.head ? this.lane[this.lane.length - 1]!.seq : -1;
      if (seq > last) {
        this.laneSpace = space;
        this.lane.push({ seq, order: this.nextOrder++, value, alive: true });
        this.laneLive++;
        return;
      }
      const entry = this.find(seq);
      if (entry) {
        entry.value = value;
        return;
      }
    }
    if (this.other.size === 0) this.otherOwn = null;
    if (space !== undefined && seq !== undefined) {
      if (this.otherOwn === null) this.otherOwn = { space, maxSeq: seq, mixed: false };
      else if (this.otherOwn.space !== space) this.otherOwn.mixed = true;
      else this.otherOwn.maxSeq = Math.max(this.otherOwn.maxSeq, seq);
    }
    this.other.set(msg.id, { id: msg.id, order: this.nextOrder++, value });
  }

  /** Whether `msg` may be in `other`: always for a message with no sequence number. */
  private mayBeInOther(msg: BrokerMessage): boolean {
    if (this.other.size === 0) return false;
    if (msg.idSpace === undefined || msg.idSeq === undefined) return true;
    const own = this.otherOwn;
    return own !== null && (own.mixed || (own.space === msg.idSpace && msg.idSeq <= own.maxSeq));
  }

  /** Record `value` under a message id alone (a message restored from the journal). */
  setById(id: string, value: V): void {
    const entry = this.findId(id);
    if (entry) {
      entry.value = value;
      return;
    }
    const old = this.other.get(id);
    this.other.set(id, { id, order: old?.order ?? this.nextOrder++, value });
  }

  get(id: string): V | undefined {
    const entry = this.findId(id);
    return entry ? entry.value : this.other.get(id)?.value;
  }

  /** Forget `msg`; false when it was not recorded. */
  deleteMessage(msg: BrokerMessage): boolean {
    if (msg.idSpace !== undefined && msg.idSpace === this.laneSpace && msg.idSeq !== undefined) {
      const entry = this.find(msg.idSeq);
      if (entry) return this.kill(entry);
    }
    return this.mayBeInOther(msg) && this.other.delete(msg.id);
  }

  /** Forget the message with id `id`; false when it was not recorded. */
  delete(id: string): boolean {
    const entry = this.findId(id);
    return entry ? this.kill(entry) : this.other.delete(id);
  }

  /** Remove and return the oldest entry's value. */
  shift(): V | undefined {
    this.dropDeadFront();
    const laneFront = this.head < this.lane.length ? this.lane[this.head]! : undefined;
    const otherFront = this.other.size > 0 ? this.other.peek() : undefined;
    if (laneFront !== undefined && (otherFront === undefined || laneFront.order < otherFront.order)) {
      const value = laneFront.value;
      this.kill(laneFront);
      return value;
    }
    return this.other.shift()?.value;
  }

  clear(): void {
    this.lane.length = 0;
    this.head = 0;
    this.laneSpace = null;
    this.laneLive = 0;
    this.other.clear();
    this.otherOwn = null;
  }

  /** Values, oldest first. Do not change the record meanwhile (copy first). */
  *values(): IterableIterator<V> {
    for (const [, value] of this.entries()) yield value;
  }

  /** Ids, oldest first. */
  *keys(): IterableIterator<string> {
    for (const [id] of this.entries()) yield id;
  }

  /** [id, value] pairs in insertion order: the ring and the map merged by their order numbers. */
  private *entries(): IterableIterator<[string, V]> {
    const others = [...this.other.values()];
    let o = 0;
    for (let i = this.head; i < this.lane.length; i++) {
      const entry = this.lane[i]!;
      if (!entry.alive) continue;
      for (; o < others.length && others[o]!.order < entry.order; o++) yield [others[o]!.id, others[o]!.value];
      yield [this.laneSpace!.format(entry.seq), entry.value as V];
    }
    for (; o < others.length; o++) yield [others[o]!.id, others[o]!.value];
  }

  /** The live ring entry of the message with id `id`, when it is of the ring's id space. */
  private findId(id: string): LaneEntry<V> | undefined {
    const seq = this.laneSpace === null ? null : parseMessageSeq(this.laneSpace, id);
    return seq === null ? undefined : this.find(seq);
  }

  /** The live ring entry of `seq`, by binary search. */
  private find(seq: number): LaneEntry<V> | undefined {
    let lo = this.head;
    let hi = this.lane.length - 1;
    while (lo <= hi) {
      const mid = (lo + hi) >>> 1;
      const entry = this.lane[mid]!;
      if (entry.seq === seq) return entry.alive ? entry : undefined;
      if (entry.seq < seq) lo = mid + 1;
      else hi = mid - 1;
    }
    return undefined;
  }

  private kill(entry: LaneEntry<V>): true {
    entry.alive = false;
    entry.value = undefined;
    this.laneLive--;
    this.dropDeadFront();
    if (this.lane.length - this.head > 2 * this.laneLive + SLACK) {
      this.lane = this.lane.slice(this.head).filter((e) => e.alive);
      this.head = 0;
    }
    return true;
  }

  /** Skip dead entries at the front; give the slots back once they dominate the array. */
  private dropDeadFront(): void {
    const lane = this.lane as (LaneEntry<V> | undefined)[];
    while (this.head < lane.length && !lane[this.head]!.alive) lane[this.head++] = undefined;
    if (this.head === lane.length) {
      lane.length = 0;
      this.head = 0;
      // Empty: the next message may open the ring in a new id space.
      if (this.laneLive === 0) this.laneSpace = null;
    } else if (this.head > 1024 && this.head * 2 > this.lane.length) {
      this.lane = this.lane.slice(this.head);
      this.head = 0;
    }
  }
}
