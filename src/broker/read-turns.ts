/**
 * Shares each event-loop turn's reading among the connections.
 *
 * libuv reads a readable socket up to 32 times, 64 KiB each, before the loop moves on,
 * and Node hands every chunk to the broker within that turn. A publisher writing as fast
 * as it can therefore kept the broker inside one turn for up to 400 ms (the peer bench's
 * open-flow 10->1: 2-3 turns a second), during which no other client was read, no timer
 * ran, and a subscriber's socket, refilled once per turn, took so little that three
 * quarters of the messages were dropped past `max_queue_size` (a quarter delivered; with
 * this, all of them, at a quarter of the CPU per delivery).
 *
 * Once a turn has read `turnBytes`, every connection that delivers more is paused until
 * the turn ends (a `setImmediate`, which runs after the loop's poll phase); then all
 * resume. Each connection still gets at least one chunk handled per turn, and what a
 * paused socket receives waits, in order, in its own buffer and the kernel's. A turn can
 * read more than its share: the chunk that crossed it, one chunk from each other
 * connection, and what resumed sockets had buffered, which counts toward the next turn.
 *
 * The end of a turn is only watched for once the count has passed a sixteenth of the
 * share. A `setImmediate` per read cost a small exchange (a request, its reply) an object,
 * two calls into libuv and a run of Node's immediate queue, each time; what is read
 * below that mark counts toward a later turn instead, so a turn may pause connections a
 * sixteenth of its share early.
 */

/** What is paused: a socket, or a stand-in in tests. */
export interface PausableSocket {
  pause(): unknown;
  resume(): unknown;
  readonly destroyed: boolean;
}

/**
 * Bytes read in one turn before connections are paused: a few milliseconds of work (about
 * 3,000 publishes of 100 bytes). Measured in the open-flow bench: 64 KiB costs the 1->1
 * case a pause per chunk; 1 MiB lets the 10->1 case drop again.
 */
export const TURN_READ_BYTES = 256 * 1024;

/**
 * A read at least this large means a peer writes faster than the broker reads: a
 * publisher at full speed, a tail's backlog. One message that large counts too: scanning
 * it is work that optimized code does several times faster. A client at a desktop's pace
 * (a frame or a few per read, under a kilobyte) never comes near it.
 */
export const BULK_READ_BYTES = 32 * 1024;

/** The read shares of one broker's connections (one per broker, shared by its connections). */
export class ReadTurns {
  private bytes = 0;
  private readonly paused: PausableSocket[] = [];
  private readonly endTurn = (): void => {
    this.bytes = 0;
    for (const socket of this.paused.splice(0)) if (!socket.destroyed) socket.resume();
  };

  /** Past this count the turn's end is scheduled. */
  private readonly watchAfter: number;
  /** Told of the first bulk read, then dropped. */
  private onBulkRead: (() => void) | null;

  /**
   * @param turnBytes bytes a turn reads before connections wait (tests pass small ones)
   * @param onBulkRead called once, at the first read of {@link BULK_READ_BYTES} or more
   */
  constructor(private readonly turnBytes = TURN_READ_BYTES, onBulkRead?: () => void) {
    this.watchAfter = Math.floor(turnBytes / 16);
    this.onBulkRead = onBulkRead ?? null;
  }

  /** Sockets paused until the turn ends. */
  get pausedCount(): number {
    return this.paused.length;
  }

  /** `socket` delivered a chunk of `bytes`; past the turn's share it waits for the next turn. */
  read(socket: PausableSocket, bytes: number): void {
    const before = this.bytes;
    this.bytes += bytes;
    if (before <= this.watchAfter && this.bytes > this.watchAfter) setImmediate(this.endTurn);
    if (this.bytes > this.turnBytes) {
      socket.pause();
      this.paused.push(socket);
    }
    // Told last, once the read is counted: what it does cannot skip the share's bookkeeping.
    if (bytes >= BULK_READ_BYTES && this.onBulkRead !== null) {
      const told = this.onBulkRead;
      this.onBulkRead = null;
      told();
    }
  }
}
