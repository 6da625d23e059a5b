/**
 * Graceful stop on Ctrl+C, SIGTERM, and the Windows console's Ctrl+Break (SIGBREAK) and
 * window close (SIGHUP). A second signal while stopping exits at once, so a hung
 * shutdown never traps the user.
 */
import type { Logger } from '../src/log/logger.js';

const SIGNALS: NodeJS.Signals[] = process.platform === 'win32' ? ['SIGINT', 'SIGTERM', 'SIGBREAK', 'SIGHUP'] : ['SIGINT', 'SIGTERM', 'SIGHUP'];

/** Call `stop` once on the first signal; returns a function that removes the handlers. */
export function onShutdownSignal(stop: (signal: NodeJS.Signals) => Promise<void> | void, log?: Logger): () => void {
  let stopping = false;
  const handler = (signal: NodeJS.Signals): void => {
    if (stopping) {
      log?.warning('second signal: exiting without waiting', { signal });
      process.exit(130);
    }
    stopping = true;
    log?.info('stopping', { signal });
    Promise.resolve(stop(signal)).catch((err: unknown) => {
      log?.error('error while stopping', { error: err as Error });
      process.exitCode = 1;
    });
  };
  for (const s of SIGNALS) process.on(s, handler);
  return () => SIGNALS.forEach((s) => process.off(s, handler));
}
