/**
 * Lines that cannot be published are kept, not dropped: appended to a dead-letter file
 * beside the queue (`<queue>.dead` unless configured), one line each:
 *
 *     <ISO time> TAB <queue_id> TAB <reason> TAB <raw line>
 *
 * in UTF-8 without BOM, the raw text last so it may contain tabs; CR, LF and backslash
 * in it are escaped (`\r`, `\n`, `\\`) to keep one entry per line. The file is written
 * like AutoHotkey writes: open for append, write, close, so a script or an editor may
 * open it in between.
 */
import * as fsp from 'node:fs/promises';
import { isoUtc } from '../src/protocol/timestamp.js';
import { retryBusy, type RetryOptions } from './retry.js';

/** One line that could not be published. */
export interface DeadLetter {
  /** The line's text as decoded (without CR/LF). */
  raw: string;
  /** Why it was not published. */
  reason: string;
  /** The line's stable id (`<file identity>:<byte offset>`). */
  queueId: string;
  /** When it was read (default: now). */
  time?: Date;
}

/** Minimal append API, injectable for tests. */
export type AppendFn = (path: string, data: string) => Promise<void>;

/** Open with the append flag, write, close: `fs.appendFile` does exactly that. */
const nodeAppend: AppendFn = (path, data) => fsp.appendFile(path, data, { encoding: 'utf8' });

/** Render one dead-letter entry as its file line (with the final LF). */
export function formatDeadLetter(entry: DeadLetter): string {
  const raw = entry.raw.replace(/[\\\r\n]/g, (c) => (c === '\\' ? '\\\\' : c === '\r' ? '\\r' : '\\n'));
  const reason = entry.reason.replace(/[\t\r\n]/g, ' ');
  return `${isoUtc(entry.time?.getTime() ?? Date.now())}\t${entry.queueId}\t${reason}\t${raw}\n`;
}

/** Appends dead letters to one file and counts them. */
export class DeadLetterFile {
  /** Entries written since construction. */
  written = 0;

  constructor(
    readonly path: string,
    private readonly append: AppendFn = nodeAppend,
    private readonly retry: RetryOptions = {},
  ) {}

  /** Append `entries` in one open-append-close; resolves once they are on disk. */
  async write(entries: readonly DeadLetter[]): Promise<void> {
    if (entries.length === 0) return;
    const text = entries.map(formatDeadLetter).join('');
    await retryBusy(() => this.append(this.path, text), this.retry);
    this.written += entries.length;
  }
}
