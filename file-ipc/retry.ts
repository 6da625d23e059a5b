/**
 * Bounded retry for file operations that Windows refuses while another process has the
 * file open: AutoHotkey opens a queue file exclusively for every FileAppend, and during
 * that moment our open, rename or delete fails with EBUSY / EPERM / EACCES. Each append
 * takes well under a millisecond, so a few short waits are enough; after that the error
 * is real (permissions, a stuck writer) and goes to the caller.
 */

/** Error codes that mean "someone else has the file open right now" (mostly Windows). */
export const BUSY_CODES: ReadonlySet<string> = new Set(['EBUSY', 'EPERM', 'EACCES', 'EAGAIN']);

/** True when `err` is a transient sharing violation worth retrying. */
export function isBusyError(err: unknown): boolean {
  const code = (err as NodeJS.ErrnoException | undefined)?.code;
  return typeof code === 'string' && BUSY_CODES.has(code);
}

/** How {@link retryBusy} retries. */
export interface RetryOptions {
  /** Retries after the first attempt (default 6: waits of 2+4+8+16+32+64 ms = 126 ms in all). */
  retries?: number;
  /** First wait in ms, doubled each retry (default 2). */
  baseDelayMs?: number;
  /** Which errors to retry (default {@link isBusyError}). */
  retryIf?: (err: unknown) => boolean;
  /** Injected for tests; defaults to a timer. */
  sleep?: (ms: number) => Promise<void>;
}

const realSleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * Run `op`, retrying transient sharing errors with short exponential backoff.
 * Any other error, or the last busy error, is thrown unchanged.
 */
export async function retryBusy<T>(op: () => Promise<T>, options: RetryOptions = {}): Promise<T> {
  const retries = options.retries ?? 6;
  const base = options.baseDelayMs ?? 2;
  const retryIf = options.retryIf ?? isBusyError;
  const sleep = options.sleep ?? realSleep;
  for (let attempt = 0; ; attempt++) {
    try {
      return await op();
    } catch (err) {
      if (attempt >= retries || !retryIf(err)) throw err;
      await sleep(base * 2 ** attempt);
    }
  }
}
