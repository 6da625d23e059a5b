/**
 * Waiting on a file that announces nothing (a log file, a dead-letter file, a saved
 * position): read every 20 ms until `accept` takes its text, for at most `timeoutMs`.
 */
import { readFileSync } from 'node:fs';
import { pace } from './processes.js';

/**
 * Resolves with what `accept` makes of the file's text once that is not `undefined`. A
 * file that does not exist yet reads as ''. Rejects after `timeoutMs` with `what` and the
 * text last read.
 */
export async function pollFile<T>(file: string, accept: (text: string) => T | undefined, what: string, timeoutMs = 5000): Promise<T> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    let text = '';
    try {
      text = readFileSync(file, 'utf8');
    } catch {
      // not written yet
    }
    const value = accept(text);
    if (value !== undefined) return value;
    if (Date.now() > until) throw new Error(`${file}: ${what} not seen within ${timeoutMs} ms; it holds: ${JSON.stringify(text)}`);
    await pace(20);
  }
}
