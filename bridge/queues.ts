/**
 * Queue files (file-ipc/) wired to the broker: each accepted publish is confirmed by the
 * broker's `publish` result before the tailer saves its position, which is what makes the
 * delivery at-least-once across bridge crashes.
 */
import { statSync } from 'node:fs';
import path from 'node:path';
import { ErrorCode, RpcError, type BrokerClient } from '../src/client/index.js';
import type { Logger } from '../src/log/logger.js';
import type { PublishBatch, PublishRefusal, QueueTailer } from '../file-ipc/index.js';
import { mapTargetProblem, normalisePrefix, prefixProblem } from '../file-ipc/line-parser.js';
import { CliError } from './cli-error.js';

export interface QueueEntry {
  file: string;
  encoding?: string;
  prefix?: string;
  topicMap?: Record<string, string>;
  positionFile?: string;
  deadLetterFile?: string;
  flushTimeoutMs?: number;
  /** QoS of the publishes (default 1: offline subscriber sessions queue them). */
  qos: 0 | 1;
}

/**
 * Why the broker's refusal `err` can never turn into an acceptance by trying again, or
 * `null` when it may (no connection, a timeout, a broker that could not store the message).
 * Classified by the error code (and for -32004, whether a permission rule refused it).
 */
export function permanentRefusal(err: unknown): string | null {
  if (!(err instanceof RpcError)) return null;
  switch (err.code) {
    case ErrorCode.INVALID_PARAMS: // the topic or payload itself
    case ErrorCode.INVALID_REQUEST: // over the broker's max_message_size
      return err.message;
    case ErrorCode.PUBLISH_ERROR: {
      // A permission rule says no; a journal that could not store it (data.reason) may work later.
      const data = err.data as { rule?: unknown } | undefined;
      return typeof data?.rule === 'string' ? err.message : null;
    }
    default:
      return null;
  }
}

/**
 * A PublishBatch that sends the lines as one batch frame and resolves once the broker
 * answered every publish: with the ones it refused for good (dead-lettered by the
 * tailer), or rejects when any failed in a way a retry may fix.
 */
export function publishThrough(client: BrokerClient, qos: 0 | 1): PublishBatch {
  return async (items) => {
    // The lines' publishes go as they are: the client writes a payload from its bytes or
    // its JSON text when it has them, and reads `payload` (made on demand) only otherwise.
    const outcomes = await client.publishBatch(items, { qos });
    const refused: PublishRefusal[] = [];
    // Indexed: an entries() iterator made a pair per line of a backlog.
    for (let index = 0; index < outcomes.length; index++) {
      const outcome = outcomes[index]!;
      if (outcome.ok) continue;
      const reason = permanentRefusal(outcome.error);
      if (reason === null) throw outcome.error;
      refused.push({ index, reason });
    }
    return refused;
  };
}

/**
 * Why `entry` can never be tailed as given, or `null`: a queue path that is a folder, a
 * prefix or map target that gives no valid topic (the topic rule it breaks). A file that
 * does not exist yet is fine: a script creates it with its first FileAppend.
 */
export function queueEntryProblem(entry: QueueEntry): string | null {
  const dir = directoryProblem(entry.file);
  if (dir) return dir;
  for (const [what, file] of [['position file', entry.positionFile], ['dead-letter file', entry.deadLetterFile]] as const) {
    if (file !== undefined && isDirectoryPath(file)) return `queue ${entry.file}: the ${what} ${file} is a directory; name a file (or leave it out for the default beside the queue)`;
    const folder = file === undefined ? null : missingFolderProblem(file);
    if (folder) return `queue ${entry.file}: the ${what} ${file} cannot be written: ${folder}`;
  }
  const prefix = normalisePrefix(entry.prefix);
  const badPrefix = prefixProblem(prefix);
  if (badPrefix) return `queue ${entry.file}: invalid prefix "${entry.prefix}": ${badPrefix}`;
  for (const [from, to] of Object.entries(entry.topicMap ?? {})) {
    const bad = mapTargetProblem(prefix, to);
    if (bad) return `queue ${entry.file}: topic map entry "${from}" -> "${prefix + to}" is not a topic lines can be published to: ${bad}`;
  }
  return null;
}

/** `<file> is a directory; ...` when the queue path `file` names a folder, else `null` (missing is fine). */
export function directoryProblem(file: string): string | null {
  return isDirectoryPath(file) ? `${file} is a directory; give the queue file inside it, e.g. ${path.join(file, 'broker_queue.txt')}` : null;
}

/**
 * Why a file of ours (a position or dead-letter file) could never be written at `file`:
 * its folder does not exist or is not a folder. Left unchecked, a position that cannot be
 * saved makes every restart publish the whole queue again. `null` when the folder is there.
 */
export function missingFolderProblem(file: string): string | null {
  const folder = path.dirname(path.resolve(file));
  try {
    return statSync(folder).isDirectory() ? null : `${folder} is not a folder`;
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    return code === 'ENOENT' || code === 'ENOTDIR' ? `the folder ${folder} does not exist; create it first` : null;
  }
}

/** True when `file` names a folder now. */
export function isDirectoryPath(file: string): boolean {
  try {
    return statSync(file).isDirectory();
  } catch {
    // Missing is fine (it may appear later); any other failure the tailer reports as it uses the path.
    return false;
  }
}

/**
 * Refuse entries that can never be tailed, naming the first bad one. Commands call it
 * before they join or host a broker: once a link is open, an error no longer ends them.
 */
export function checkQueues(entries: QueueEntry[]): void {
  for (const e of entries) {
    const problem = queueEntryProblem(e);
    if (problem) throw new CliError(problem);
  }
}

/**
 * Start a tailer per entry. Every entry is checked before any starts, so a bad one stops
 * them all with a {@link CliError} that names it.
 */
export async function startQueues(entries: QueueEntry[], client: BrokerClient, log: Logger): Promise<QueueTailer[]> {
  checkQueues(entries);
  const tailers: QueueTailer[] = [];
  if (entries.length === 0) return tailers;
  // The tailer and its parts only for a command that has queue files (most `bridge run`s have none).
  const { QueueTailer } = await import('../file-ipc/tailer.js');
  for (const e of entries) {
    const tailer = new QueueTailer(
      {
        file: e.file,
        encoding: e.encoding,
        prefix: e.prefix,
        topicMap: e.topicMap,
        positionFile: e.positionFile,
        deadLetterFile: e.deadLetterFile,
        flushTimeoutMs: e.flushTimeoutMs,
        log,
      },
      publishThrough(client, e.qos),
    );
    tailer.on('invalid', (info) =>
      log.warning(info.deadLettered ? 'queue line not publishable; dead-lettered' : 'queue line not publishable; not dead-lettered: its file could not be written', {
        file: e.file, reason: info.reason, offset: info.offset,
      }),
    );
    tailer.on('reset', (info) => log.info('queue file reset; reading from the start', { file: e.file, reason: info.reason }));
    await tailer.start();
    log.info('tailing queue file', { file: e.file, encoding: e.encoding ?? 'windows-1252 (unless a BOM says otherwise)' });
    tailers.push(tailer);
  }
  return tailers;
}

/** Stop tailers (their positions are saved as batches are accepted). */
export async function stopQueues(tailers: QueueTailer[]): Promise<void> {
  await Promise.all(tailers.map((t) => t.stop()));
}
