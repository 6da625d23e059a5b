/**
 * The time of the socket read being handled, for the messages its frames publish.
 *
 * A message is stamped with the time it was published (its `timestamp`, and its expiry
 * when it has a TTL). Reading the clock cost 50 ns a call on the VM the benchmarks run on
 * (`Date.now()` through kvm-clock), about a twentieth of what relaying a small message
 * costs, and a flooding publisher's read holds hundreds of frames. They arrived together,
 * so they share the read's time, which the connection takes once for its liveness anyway.
 * What is published outside a read (a timer's system event, a socket's close, an
 * upstream's message) reads the clock as before. A TTL counts from the read too, so a
 * message expires no later than it did: at most the read's handling earlier.
 */

/** The time of the read being handled; 0 outside one. */
let readAt = 0;

/** The time to stamp a message published now with. */
export function messageClock(): number {
  return readAt !== 0 ? readAt : Date.now();
}

/**
 * A read that arrived at `now` is being handled; returns what {@link endRead} restores
 * (the outer read's time, should one read's handling ever run inside another's).
 */
export function beginRead(now: number): number {
  const outer = readAt;
  readAt = now;
  return outer;
}

/** The read begun with {@link beginRead} is handled. Call it in a `finally`: a time left behind would stamp every later message. */
export function endRead(outer: number): void {
  readAt = outer;
}
