/**
 * One server-sent-events connection: named events out, a comment every 15 s so idle
 * proxies and browsers keep it open, and a view of whether the browser keeps up (a
 * stream whose socket buffer is full skips messages rather than growing the broker).
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { COMMON_HEADERS } from './http-replies.js';

const KEEPALIVE_MS = 15_000;
/** What the browser's EventSource waits before reconnecting. */
const RETRY_MS = 2000;

export class EventStream {
  private readonly keepalive: NodeJS.Timeout;
  private closedFlag = false;
  private readonly onClose: (() => void)[] = [];

  constructor(
    req: IncomingMessage,
    private readonly res: ServerResponse,
  ) {
    res.writeHead(200, {
      ...COMMON_HEADERS,
      'Content-Type': 'text/event-stream; charset=utf-8',
      Connection: 'keep-alive',
      'X-Accel-Buffering': 'no',
    });
    res.write(`retry: ${RETRY_MS}\n\n`);
    this.keepalive = setInterval(() => res.write(': keepalive\n\n'), KEEPALIVE_MS);
    this.keepalive.unref();
    const close = (): void => this.close();
    req.on('close', close);
    res.on('close', close);
    res.on('error', close);
  }

  get closed(): boolean {
    return this.closedFlag;
  }

  /** True while the socket's buffer has room: the browser reads what it is sent. */
  get keepingUp(): boolean {
    return !this.res.writableNeedDrain;
  }

  send(event: string, data: unknown): void {
    if (this.closedFlag) return;
    this.res.write(`event: ${event}\ndata: ${JSON.stringify(data)}\n\n`);
  }

  /** Run `fn` when the stream ends (either side). */
  whenClosed(fn: () => void): void {
    if (this.closedFlag) fn();
    else this.onClose.push(fn);
  }

  close(): void {
    if (this.closedFlag) return;
    this.closedFlag = true;
    clearInterval(this.keepalive);
    this.res.end();
    for (const fn of this.onClose.splice(0)) fn();
  }
}
