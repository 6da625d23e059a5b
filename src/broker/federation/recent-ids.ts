/**
 * The ids of the last N messages that came over a link, to drop a repeat: QoS 1 is at
 * least once, and an upstream that resumes a session sends again what it had in flight
 * (the receiver's acks may not have reached it), and overlapping subscriptions can each
 * deliver a copy. Our brokers give every message an id that crosses with it.
 */
export class RecentIds {
  // A Set iterates in insertion order: its first entry is the oldest.
  private readonly ids = new Set<string>();

  /** @param capacity how many ids are remembered; older ones are forgotten first */
  constructor(readonly capacity: number) {}

  /** True when `id` is new (it is remembered from now on); false for a repeat. */
  add(id: string): boolean {
    if (this.ids.has(id)) return false;
    this.ids.add(id);
    if (this.ids.size > this.capacity) this.ids.delete(this.ids.values().next().value!);
    return true;
  }
}
