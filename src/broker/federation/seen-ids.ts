/**
 * Message ids seen recently, to drop a QoS 1 message that crosses the link twice (an ack
 * lost on the way back makes the exporter send it again). Two generations of `limit` ids
 * each: no per-message deletes, and at least the last `limit` ids are remembered.
 */
export class SeenIds {
  private current = new Set<string>();
  private previous = new Set<string>();

  constructor(private readonly limit = 10_000) {}

  /** True when `id` was seen before; remembers it either way. */
  check(id: string): boolean {
    if (this.current.has(id) || this.previous.has(id)) return true;
    if (this.current.size >= this.limit) {
      this.previous = this.current;
      this.current = new Set();
    }
    this.current.add(id);
    return false;
  }
}
