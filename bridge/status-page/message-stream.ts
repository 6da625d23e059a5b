/**
 * `/api/messages?topic=PATTERN`: live messages for one page's topic filter. The broker
 * taps messages for it only while the stream is open. At most {@link MAX_PER_SECOND} a
 * second are sent to one viewer (and none while its socket is backed up); the others are
 * counted and reported as a `skipped` event, so a busy topic cannot flood a browser or
 * hold the broker's memory.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { patternError } from '../../src/protocol/topics.js';
import type { BrokerMonitor } from '../../src/broker/index.js';
import { EventStream, type StreamSettings } from './event-stream.js';
import { HttpError } from './http-replies.js';
import { previewPayload } from './payload-preview.js';

export const MAX_PER_SECOND = 50;

/** @throws HttpError 400 when the pattern is missing or invalid */
export function openMessageStream(req: IncomingMessage, res: ServerResponse, url: URL, monitor: BrokerMonitor, settings: StreamSettings): EventStream {
  const pattern = url.searchParams.get('topic') ?? '';
  const problem = pattern === '' ? 'give the topic pattern to watch: ?topic=jobs.#' : patternError(pattern);
  if (problem !== null) throw new HttpError(400, 'invalid_pattern', `invalid topic pattern "${pattern}": ${problem}`);
  const stream = new EventStream(req, res, settings);
  let sentThisSecond = 0;
  let skipped = 0;
  const untap = monitor.tap(pattern, (msg) => {
    if (sentThisSecond >= MAX_PER_SECOND || !stream.keepingUp) {
      skipped++;
      return;
    }
    sentThisSecond++;
    stream.send('message', {
      topic: msg.topic,
      sender: msg.sender,
      timestamp: msg.timestamp,
      qos: msg.qos,
      ...previewPayload(msg.payload),
    });
  });
  const tick = setInterval(() => {
    sentThisSecond = 0;
    // A viewer that is behind gets the count once it reads again, in one event.
    if (skipped > 0 && stream.keepingUp) {
      stream.send('skipped', { count: skipped });
      skipped = 0;
    }
  }, 1000);
  tick.unref();
  stream.whenClosed(() => {
    untap();
    clearInterval(tick);
  });
  stream.send('subscribed', { topic: pattern });
  return stream;
}
