/**
 * Graceful stop on Ctrl+C, SIGTERM, and the Windows console's Ctrl+Break (SIGBREAK) and
 * window close (SIGHUP). A second signal while stopping exits at once, so a hung
 * shutdown never traps the user.
 */
import type { Logger } from '../src/log/logger.js';

/**
 * The signals that mean "stop" on `platform`. On Windows, Node maps Ctrl+C to SIGINT,
 * Ctrl+Break to SIGBREAK and closing the console window to SIGHUP; SIGTERM is never
 * raised there but is harmless to listen for.
 */
export function shutdownSignals(platform: NodeJS.Platform = process.platform): NodeJS.Signals[] {
  return platform === 'win32' ? ['SIGINT', 'SIGTERM', 'SIGBREAK', 'SIGHUP'] : ['SIGINT', 'SIGTERM', 'SIGHUP'];
}

/**
 * What asked the process to stop: a signal, (with `stdin`) the parent closing our stdin,
 * or a stop request over the broker (`bridge down`).
 */
export type ShutdownCause = NodeJS.Signals | 'stdin_closed' | 'request';

/**
 * Calling it removes the handlers; `now(cause)` stops as a first signal would, and does
 * nothing while a stop is under way: a stop request takes the same path as Ctrl+C, but a
 * request after Ctrl+C must not cut the stop short as a second Ctrl+C does.
 */
export type ShutdownHandle = (() => void) & { now(cause: ShutdownCause): void };

export interface ShutdownOptions {
  platform?: NodeJS.Platform;
  exit?: (code: number) => void;
  /**
   * Also stop when this stream ends. A parent process (Python's MessageBroker, AHKBridge)
   * keeps our stdin open for as long as it lives; the OS closes it when the parent dies,
   * however it dies, so the child never outlives it. Signals cannot promise that on Windows.
   */
  stdin?: NodeJS.ReadableStream;
}

/** Call `stop` once on the first signal; returns the handle that removes the handlers. */
export function onShutdownSignal(
  stop: (signal: ShutdownCause) => Promise<void> | void,
  log?: Logger,
  { platform = process.platform, exit = (code: number): never => process.exit(code), stdin }: ShutdownOptions = {},
): ShutdownHandle {
  const signals = shutdownSignals(platform);
  let stopping = false;
  const handler = (signal: ShutdownCause): void => {
    if (stopping) {
      log?.warning('second signal: exiting without waiting', { signal });
      exit(130);
      return;
    }
    stopping = true;
    log?.info('stopping', { signal });
    Promise.resolve(stop(signal)).catch((err: unknown) => {
      log?.error('error while stopping', { error: err as Error });
      process.exitCode = 1;
    });
  };
  for (const s of signals) process.on(s, handler);
  const onStdinClosed = (): void => handler('stdin_closed');
  if (stdin) {
    // Data on stdin means nothing; reading it is what lets us see its end.
    stdin.on('data', () => undefined);
    stdin.once('end', onStdinClosed);
    stdin.once('error', onStdinClosed);
  }
  const remove = (): void => {
    signals.forEach((s) => process.off(s, handler));
    if (stdin) {
      stdin.off('end', onStdinClosed);
      stdin.off('error', onStdinClosed);
      // A stdin still being read would keep the process alive after a failed start.
      stdin.pause();
      stdin.removeAllListeners('data');
    }
  };
  // A request while a stop is under way changes nothing: only a second signal means "now".
  return Object.assign(remove, { now: (cause: ShutdownCause) => void (stopping || handler(cause)) });
}
