/**
 * Queue files (file-ipc/) wired to the broker: each accepted publish is confirmed by the
 * broker's `publish` result before the tailer saves its position, which is what makes the
 * delivery at-least-once across bridge crashes.
 */
import type { BrokerClient } from '../src/client/index.js';
import type { Logger } from '../src/log/logger.js';
import { QueueTailer, type PublishBatch } from '../file-ipc/index.js';

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

/** A PublishBatch that resolves once the broker answered every publish. */
export function publishThrough(client: BrokerClient, qos: 0 | 1): PublishBatch {
  return async (items) => {
    await Promise.all(items.map((item) => client.publish(item.topic, item.payload, { qos })));
  };
}

/** Start a tailer per entry. */
export async function startQueues(entries: QueueEntry[], client: BrokerClient, log: Logger): Promise<QueueTailer[]> {
  const tailers: QueueTailer[] = [];
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
    tailer.on('invalid', (info) => log.warning('queue line not publishable; dead-lettered', { file: e.file, reason: info.reason, offset: info.offset }));
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
