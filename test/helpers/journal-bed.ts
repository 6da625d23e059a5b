/**
 * What the persistence tests share: a temp directory per test, a logger whose lines can
 * be searched, messages, and the model a journal's recovered state is compared with
 * (the records folded by the same reducer, without any file in between).
 */
import { readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { Logger } from '../../src/log/logger.js';
import type { BrokerMessage } from '../../src/broker/message.js';
import { Journal, type JournalOptions, type JournalRecord, type OpenedJournal, type RecoveredState } from '../../src/broker/persistence/index.js';
import { DurableState } from '../../src/broker/persistence/durable-state.js';
import { encodeRecord } from '../../src/broker/persistence/record-codec.js';

export { useTempDirs } from './temp-dirs.js';

/** One parsed JSON log line. */
export type LogLine = { level: string; msg: string } & Record<string, unknown>;

/** A logger at debug level whose lines are kept, parsed. */
export function captureLog(): { log: Logger; lines: LogLine[]; at(level: string): LogLine[] } {
  const lines: LogLine[] = [];
  const log = new Logger({ level: 'debug', format: 'json', component: 'persistence', sink: { write: (l) => void lines.push(JSON.parse(l) as LogLine) } });
  return { log, lines, at: (level) => lines.filter((l) => l.level === level) };
}

export const T0 = Date.UTC(2026, 0, 1);

/** A QoS 1 message with a small JSON payload. */
export function msg(id: string, extra: Partial<BrokerMessage> = {}): BrokerMessage {
  return { id, topic: `t/${id}`, payload: { id, text: 'payload' }, sender: 'pub', timestamp: '2026-01-01T00:00:00.000Z', qos: 1, expiresAt: 0, ...extra };
}

/** What replaying `records` must give, computed without the journal. */
export function model(records: readonly JournalRecord[], now = 0): RecoveredState {
  const s = new DurableState();
  for (const r of records) s.apply(r, encodeRecord(r).length);
  s.prune(now);
  return s.recovered();
}

/** Open a journal with a captured log; options default to `batch` and no automatic compaction. */
export async function openJournal(dir: string, options: Partial<JournalOptions> = {}): Promise<OpenedJournal & ReturnType<typeof captureLog>> {
  const cap = captureLog();
  const opened = await Journal.open({ dir, log: cap.log, autoCompact: false, ...options });
  return { ...opened, ...cap };
}

/** Sum of the sizes of the journal's files (segments and snapshots) as the OS sees them. */
export function journalBytesOnDisk(dir: string): number {
  let n = 0;
  for (const name of readdirSync(dir)) if (/^(journal-\d+\.log|snapshot-\d+\.snap)$/.test(name)) n += statSync(join(dir, name)).size;
  return n;
}

/** Journal file names in `dir` (lock and temp files left out), sorted. */
export function journalFiles(dir: string): string[] {
  return readdirSync(dir).filter((n) => /^(journal-\d+\.log|snapshot-\d+\.snap)$/.test(n)).sort();
}
