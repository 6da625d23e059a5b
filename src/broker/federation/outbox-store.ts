/**
 * The QoS 1 export queue on disk, when the broker has persistence on: exports waiting for
 * the upstream survive a broker restart and flow, in order, once it is back.
 *
 * One file, `federation-outbox.log` in the persistence directory (whose lock already keeps
 * one broker per directory): a JSON line per event, `{"add": message}` when an export is
 * queued and `{"sent": id}` once the upstream took it. Opening replays it (a torn last
 * line, from a crash mid-write, is ignored) and rewrites it with just what still waits;
 * while running it is rewritten the same way once it holds many sent lines. Lines are
 * written synchronously: an export is queued before the publish that caused it returns.
 */
import { closeSync, existsSync, fsyncSync, openSync, readFileSync, renameSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import type { Logger } from '../../log/logger.js';
import type { LinkMessage } from './upstream-link.js';

export const OUTBOX_FILE = 'federation-outbox.log';
/** Rewrite the file once it has this many more lines than messages waiting. */
const COMPACT_AFTER = 10_000;

export class OutboxStore {
  private fd: number;
  private lines = 0;

  private constructor(
    private readonly path: string,
    private readonly log: Logger,
    waiting: readonly LinkMessage[],
  ) {
    this.fd = this.rewrite(waiting);
  }

  /** Open (creating) the store in `dir`; returns it and the exports still waiting, oldest first. */
  static open(dir: string, log: Logger): { store: OutboxStore; waiting: LinkMessage[] } {
    const path = join(dir, OUTBOX_FILE);
    const waiting = existsSync(path) ? replay(readFileSync(path, 'utf8'), log) : [];
    if (waiting.length > 0) log.info('exports waiting from before the restart', { count: waiting.length });
    return { store: new OutboxStore(path, log, waiting), waiting };
  }

  added(msg: LinkMessage): void {
    this.append({ add: msg });
  }

  /** `msg` left the queue (sent, or dropped when full); `waiting` is what remains, for compaction. */
  removed(id: string, waiting: () => readonly LinkMessage[]): void {
    this.append({ sent: id });
    if (this.lines > COMPACT_AFTER) {
      closeSync(this.fd);
      this.fd = this.rewrite(waiting());
    }
  }

  close(): void {
    closeSync(this.fd);
  }

  private append(record: unknown): void {
    writeSync(this.fd, JSON.stringify(record) + '\n');
    this.lines++;
  }

  /** Write the waiting exports to a new file and put it in place; returns it open for appends. */
  private rewrite(waiting: readonly LinkMessage[]): number {
    const tmp = `${this.path}.tmp`;
    const fd = openSync(tmp, 'w');
    try {
      if (waiting.length > 0) writeSync(fd, waiting.map((m) => JSON.stringify({ add: m })).join('\n') + '\n');
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
    renameSync(tmp, this.path);
    this.lines = waiting.length;
    this.log.debug('outbox file rewritten', { waiting: waiting.length });
    return openSync(this.path, 'a');
  }
}

function replay(text: string, log: Logger): LinkMessage[] {
  const waiting = new Map<string, LinkMessage>();
  const lines = text.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i]!;
    if (line === '') continue;
    let record: { add?: LinkMessage; sent?: string };
    try {
      record = JSON.parse(line) as { add?: LinkMessage; sent?: string };
    } catch {
      // Only the last line can be torn (a crash mid-write); anything else is damage worth a word.
      if (i < lines.length - 2) log.warning('skipped a damaged line in the outbox file', { line: i + 1 });
      continue;
    }
    if (record.add) waiting.set(record.add.id, record.add);
    else if (typeof record.sent === 'string') waiting.delete(record.sent);
  }
  return [...waiting.values()];
}
