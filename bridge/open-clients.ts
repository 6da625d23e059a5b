/**
 * The broker connections a CLI command holds open, so that a command that fails, or
 * whose reader went away (`bridge sub ... | head -1`), still leaves them before the
 * process ends: a connection left to die keeps its session, with its subscriptions, in
 * the broker for `session_expiry` (an hour), where it counts as a subscriber of every
 * publish and shows in `bridge status`; and one still open keeps the process running.
 * No imports: every command loads it, the broker and a tail included.
 */

const open = new Map<object, () => Promise<void>>();

/** How long the way out waits for the connections to say goodbye. */
const LEAVE_WAIT_MS = 2000;

/** Hold `key`'s way out (`leave`) until {@link released}. */
export function holdOpen(key: object, leave: () => Promise<void>): void {
  open.set(key, leave);
}

/** `key` has left (or is leaving) by itself. */
export function released(key: object): void {
  open.delete(key);
}

/** Leave every connection still held, waiting at most 2 s; never rejects. */
export async function leaveAll(): Promise<void> {
  const leaving = [...open.values()].map((leave) => leave().catch(() => undefined));
  open.clear();
  if (leaving.length === 0) return;
  let timer: NodeJS.Timeout | undefined;
  await Promise.race([Promise.all(leaving), new Promise<void>((resolve) => (timer = setTimeout(resolve, LEAVE_WAIT_MS)))]);
  clearTimeout(timer);
}
