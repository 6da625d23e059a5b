/**
 * One server-sent-events connection: named events out, a comment every 15 s so idle
 * proxies and browsers keep it open, and a view of whether the browser keeps up. A stream
 * whose socket buffer is full is written no more until it drains (snapshots wait as the
 * newest of each kind; messages are skipped by their feed), so a viewer that stops
 * reading holds at most one write's worth of the broker's memory; one that reads nothing
 * for {@link StreamSettings.stuckAfterMs} is closed.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Logger } from '../../src/log/logger.js';
import { COMMON_HEADERS } from './http-replies.js';

const KEEPALIVE_MS = 15_000;
/** What the browser's EventSource waits before reconnecting. */
const RETRY_MS = 2000;
/** How long a stream may go without its viewer reading before it is closed. */
export const STUCK_AFTER_MS = 60_000;

/** What every stream of a page shares. */
export interface StreamSettings {
  /** Close a stream whose socket has not drained for this long (a hung tab). */
  stuckAfterMs: number;
  log: Logger;
}

/** An event as its wire text; built once and written to any number of streams. */
export function eventFrame(event: string, data: unknown): string {
  return eventFrameOfJson(event, JSON.stringify(data));
}

/** {@link eventFrame} for data already serialized as JSON (one line). */
export function eventFrameOfJson(event: string, json: string): string {
  return `event: ${event}\ndata: ${json}\n\n`;
}

export class EventStream {
  private readonly keepalive: NodeJS.Timeout;
  private stuckTimer: NodeJS.Timeout | null = null;
  private closedFlag = false;
  private readonly onClose: (() => void)[] = [];
  /** The newest frame of each kind not written because the viewer was behind. */
  private readonly held = new Map<string, string>();

  constructor(
    private readonly req: IncomingMessage,
    private readonly res: ServerResponse,
    private readonly settings: StreamSettings,
  ) {
    res.writeHead(200, {
      ...COMMON_HEADERS,
      'Content-Type': 'text/event-stream; charset=utf-8',
      Connection: 'keep-alive',
      'X-Accel-Buffering': 'no',
    });
    this.write(`retry: ${RETRY_MS}\n\n`);
    // A stream that is behind is not idle: no comment is needed, and none may pile up.
    this.keepalive = setInterval(() => {
      if (this.keepingUp) this.write(': keepalive\n\n');
    }, KEEPALIVE_MS);
    this.keepalive.unref();
    const close = (): void => this.close();
    req.on('close', close);
    res.on('close', close);
    res.on('error', close);
    res.on('drain', () => this.drained());
  }

  get closed(): boolean {
    return this.closedFlag;
  }

  /** True while the socket's buffer has room: the browser reads what it is sent. */
  get keepingUp(): boolean {
    return !this.res.writableNeedDrain;
  }

  /** Bytes written to this stream that are still in the broker's memory (not yet in the OS's). */
  get buffered(): number {
    return this.res.writableLength;
  }

  /** Write an event now, whether or not the viewer keeps up: for small, one-off events. */
  send(event: string, data: unknown): void {
    this.write(eventFrame(event, data));
  }

  /**
   * Write a snapshot (a frame from {@link eventFrame}) if the viewer keeps up; else keep
   * it, replacing any older one of the same `kind`, to write once the socket drains. A
   * viewer that falls behind so skips intermediate snapshots but ends with the current one.
   */
  offer(kind: string, frame: string): void {
    if (this.closedFlag) return;
    if (!this.keepingUp) {
      this.held.set(kind, frame);
      return;
    }
    this.held.delete(kind);
    this.writeHeld();
    this.write(frame);
  }

  /** Run `fn` when the stream ends (either side). */
  whenClosed(fn: () => void): void {
    if (this.closedFlag) fn();
    else this.onClose.push(fn);
  }

  close(): void {
    this.finish(() => this.res.end());
  }

  private write(text: string): void {
    if (this.closedFlag) return;
    this.res.write(text);
    if (!this.keepingUp) this.stuckTimer ??= setTimeout(() => this.dropStuck(), this.settings.stuckAfterMs).unref();
  }

  private drained(): void {
    if (this.stuckTimer) clearTimeout(this.stuckTimer);
    this.stuckTimer = null;
    this.writeHeld();
  }

  /**
   * All held frames at once: at most one of each kind, and the viewer gets a consistent
   * state (the broker's counts and the clients table of the same moment).
   */
  private writeHeld(): void {
    if (this.held.size === 0) return;
    const frames = [...this.held.values()];
    this.held.clear();
    for (const frame of frames) this.write(frame);
  }

  /** The viewer has read nothing for a long time: free what it holds, and its place. */
  private dropStuck(): void {
    this.stuckTimer = null;
    if (this.closedFlag) return;
    this.settings.log.info('status page: closed a live stream whose viewer stopped reading', {
      path: this.req.url ?? '',
      remote: this.req.socket.remoteAddress ?? '?',
      buffered_bytes: this.buffered,
      stuck_s: this.settings.stuckAfterMs / 1000,
    });
    // Not end(): that would wait to write what is buffered to a reader that never reads.
    this.finish(() => this.res.destroy());
  }

  private finish(endResponse: () => void): void {
    if (this.closedFlag) return;
    this.closedFlag = true;
    clearInterval(this.keepalive);
    if (this.stuckTimer) clearTimeout(this.stuckTimer);
    this.stuckTimer = null;
    this.held.clear();
    endResponse();
    for (const fn of this.onClose.splice(0)) fn();
  }
}
