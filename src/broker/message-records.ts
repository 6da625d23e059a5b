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
 * forgotten at the other, found where their sequence number puts them (by binary search
 * when some are missing), with no string and no hashing. Anything else (restored from the journal, from a federation link, or out of order) goes in a
 * {@link FifoMap} beside it, and the two are kept in one insertion order.
 */
import { FifoMap } from './fifo-map.js';
import type { BrokerMessage } from './message.js';
import { parseMessageSeq, type IdSpace } from './message-id.js';
import { SeqLane } from './seq-lane.js';

interface OtherEntry<V> {
  readonly id: string;
  readonly order: number;
  readonly value: V;
}

export class MessageRecords<V> {
  /** This broker's messages of one id space (`laneSpace`), in increasing sequence number. */
  private readonly lane = new SeqLane<V>();
  private laneSpace: IdSpace | null = null;
  private readonly other = new FifoMap<string, OtherEntry<V>>();
  private nextOrder = 0;
  /**
   * The highest sequence number of this broker's messages put in `other` (out of order),
   * and of which id space: a newer message of that space cannot be there, so it is not
   * looked up by id string. `mixed` once two spaces were (only after an id space rolls over).
   */
  private otherOwn: { space: IdSpace; maxSeq: number; mixed: boolean } | null = null;

  get size(): number {
    return this.lane.live + this.other.size;
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
      if (seq > this.lane.lastSeq()) {
        this.laneSpace = space;
        this.lane.push(seq, this.nextOrder++, value);
        return;
      }
      const at = this.lane.find(seq);
      if (at >= 0) {
        this.lane.setValueAt(at, value);
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
    const at = this.findId(id);
    if (at >= 0) {
      this.lane.setValueAt(at, value);
      return;
    }
    const old = this.other.get(id);
    this.other.set(id, { id, order: old?.order ?? this.nextOrder++, value });
  }

  get(id: string): V | undefined {
    const at = this.findId(id);
    return at >= 0 ? this.lane.valueAt(at) : this.other.get(id)?.value;
  }

  /**
   * The value recorded under `id` (undefined when none), replaced by `upgrade(value, arg)`
   * first when that returns another: one lookup where {@link get} and {@link setById} make two.
   */
  upgrade<A>(id: string, upgrade: (value: V, arg: A) => V, arg: A): V | undefined {
    const at = this.findId(id);
    return at >= 0 ? this.upgradeInLane(at, upgrade, arg) : this.upgradeOther(id, upgrade, arg);
  }

  /**
   * {@link upgrade} for this broker's message number `seq` of `space`: the id string is
   * made only when the message is not in the ring.
   */
  upgradeOwn<A>(space: IdSpace, seq: number, upgrade: (value: V, arg: A) => V, arg: A): V | undefined {
    const at = this.findOwn(space, seq);
    if (at >= 0) return this.upgradeInLane(at, upgrade, arg);
    return this.other.size === 0 ? undefined : this.upgradeOther(space.format(seq), upgrade, arg);
  }

  private upgradeInLane<A>(at: number, upgrade: (value: V, arg: A) => V, arg: A): V {
    const value = this.lane.valueAt(at);
    const next = upgrade(value, arg);
    if (next !== value) this.lane.setValueAt(at, next);
    return next;
  }

  private upgradeOther<A>(id: string, upgrade: (value: V, arg: A) => V, arg: A): V | undefined {
    const entry = this.other.get(id);
    if (entry === undefined) return undefined;
    const next = upgrade(entry.value, arg);
    if (next !== entry.value) this.other.set(id, { id, order: entry.order, value: next });
    return next;
  }

  /** Forget `msg`; false when it was not recorded. */
  deleteMessage(msg: BrokerMessage): boolean {
    if (msg.idSpace !== undefined && msg.idSpace === this.laneSpace && msg.idSeq !== undefined) {
      const at = this.lane.find(msg.idSeq);
      if (at >= 0) return this.kill(at);
    }
    return this.mayBeInOther(msg) && this.other.delete(msg.id);
  }

  /** Forget the message with id `id`; false when it was not recorded. */
  delete(id: string): boolean {
    const at = this.findId(id);
    return at >= 0 ? this.kill(at) : this.other.delete(id);
  }

  /** {@link delete} for this broker's message number `seq` of `space`, with no id string unless it is not in the ring. */
  deleteOwn(space: IdSpace, seq: number): boolean {
    const at = this.findOwn(space, seq);
    return at >= 0 ? this.kill(at) : this.other.size > 0 && this.other.delete(space.format(seq));
  }

  /** Remove and return the oldest entry's value. */
  shift(): V | undefined {
    const lane = this.lane;
    const front = lane.front();
    const otherFront = this.other.size > 0 ? this.other.peek() : undefined;
    if (front >= 0 && (otherFront === undefined || lane.orderAt(front) < otherFront.order)) {
      const value = lane.valueAt(front);
      this.kill(front);
      return value;
    }
    return this.other.shift()?.value;
  }

  clear(): void {
    this.lane.clear();
    this.laneSpace = null;
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
    const lane = this.lane;
    let o = 0;
    for (let i = 0; i < lane.length; i++) {
      if (!lane.isLiveAt(i)) continue;
      const order = lane.orderAt(i);
      for (; o < others.length && others[o]!.order < order; o++) yield [others[o]!.id, others[o]!.value];
      yield [this.laneSpace!.format(lane.seqAt(i)), lane.valueAt(i)];
    }
    for (; o < others.length; o++) yield [others[o]!.id, others[o]!.value];
  }

  /** The position in the lane of the live record of the message with id `id`; -1 when not there. */
  private findId(id: string): number {
    const seq = this.laneSpace === null ? null : parseMessageSeq(this.laneSpace, id);
    return seq === null ? -1 : this.lane.find(seq);
  }

  /** {@link findId} for the id of message number `seq` of `space`, which it would parse to that. */
  private findOwn(space: IdSpace, seq: number): number {
    const laneSpace = this.laneSpace;
    return laneSpace !== null && (laneSpace === space || laneSpace.prefix === space.prefix) ? this.lane.find(seq) : -1;
  }

  private kill(at: number): true {
    this.lane.kill(at);
    // Empty: the next message may open the lane in a new id space.
    if (this.lane.live === 0) this.laneSpace = null;
    return true;
  }
}
