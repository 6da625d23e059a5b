/**
 * Message ids seen recently, to drop a QoS 1 message that crosses the link twice (an ack
 * lost on the way back makes the exporter send it again). Two generations of `limit` ids
 * each: no per-message deletes, and at least the last `limit` ids are remembered. An id
 * counts with the broker it came from: ids are a per-broker prefix and a counter, so a
 * client on the upstream could otherwise publish the next ones of another broker first,
 * under its own name, and have the real messages dropped as duplicates.
 */
export class SeenIds {
  private current = new Set<string>();
  private previous = new Set<string>();

  constructor(private readonly limit = 10_000) {}

  /** True when `id` from `origin` was seen before; remembers it either way. */
  check(origin: string, messageId: string): boolean {
    const id = `${origin} ${messageId}`;
    if (this.current.has(id) || this.previous.has(id)) return true;
    if (this.current.size >= this.limit) {
      this.previous = this.current;
      this.current = new Set();
    }
    this.current.add(id);
    return false;
  }
}
