/**
 * A real broker with its status page on free loopback ports, both stopped after the test:
 * the setup of the status page's endpoint, security and browser tests.
 */
import http from 'node:http';
import { afterEach } from 'vitest';
import type { BrokerConfig, HttpSetting } from '../../src/broker/index.js';
import { Logger, parseLogLevel } from '../../src/log/logger.js';
import { StatusPage, type StatusPageOptions } from '../../bridge/status-page/status-page.js';
import type { StartedBroker } from './broker-fixture.js';
import type { LogLine, TestBed } from './test-bed.js';

export interface PageUnderTest {
  broker: StartedBroker;
  page: StatusPage;
  /** `http://127.0.0.1:PORT` (no trailing slash). */
  base: string;
}

/** What a test may set of the page itself (beyond its broker and address). */
export type PageTuning = Partial<Pick<StatusPageOptions, 'stuckStreamMs' | 'log'>>;

export function useStatusPage(
  bed: TestBed,
): (overrides?: Partial<BrokerConfig>, setting?: Partial<HttpSetting>, tuning?: PageTuning) => Promise<PageUnderTest> {
  const pages: StatusPage[] = [];
  // Registered after useTestBed's hook: vitest runs afterEach hooks in reverse, so pages
  // close before their brokers stop.
  afterEach(async () => {
    await Promise.all(pages.splice(0).map((p) => p.stop()));
  });
  return async (overrides = {}, setting = {}, tuning = {}) => {
    const broker = await bed.broker(overrides);
    const level = (process.env.TEST_LOG_LEVEL && parseLogLevel(process.env.TEST_LOG_LEVEL)) || 'silent';
    const log = tuning.log ?? new Logger({ level, component: 'http' });
    const page = new StatusPage({ broker: broker.broker, setting: { host: null, port: 0, ...setting }, ...tuning, log });
    await page.start();
    pages.push(page);
    return { broker, page, base: `http://127.0.0.1:${page.port}` };
  };
}

/**
 * Server-sent events as text arrives: parsed into named events (`message` when a block
 * names none; a block without data, such as `retry:` or a keepalive comment, is none),
 * and waited for.
 */
class SseEvents {
  private buffer = '';
  readonly list: { event: string; data: unknown }[] = [];
  private waiters: (() => void)[] = [];

  /** Take `text` from the stream; whole events are parsed and their waiters woken. */
  push(text: string): void {
    this.buffer += text;
    let end: number;
    while ((end = this.buffer.indexOf('\n\n')) !== -1) {
      const block = this.buffer.slice(0, end);
      this.buffer = this.buffer.slice(end + 2);
      let event = 'message';
      let data = '';
      for (const line of block.split('\n')) {
        if (line.startsWith('event: ')) event = line.slice(7);
        else if (line.startsWith('data: ')) data += line.slice(6);
      }
      if (data !== '') this.list.push({ event, data: JSON.parse(data) as unknown });
    }
    this.wake();
  }

  /** Wake the waiters (the stream ended, or events arrived). */
  wake(): void {
    for (const w of this.waiters.splice(0)) w();
  }

  /** Index of the first event named `event` whose data satisfies `pred`, waiting up to `timeoutMs` or until `ended()`. */
  async indexOf(event: string, pred: (data: unknown) => boolean, timeoutMs: number, ended: () => boolean): Promise<number> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const i = this.list.findIndex((e) => e.event === event && pred(e.data));
      if (i !== -1) return i;
      const left = deadline - Date.now();
      if (left <= 0 || ended()) {
        throw new Error(`no "${event}" event matching within ${timeoutMs} ms (ended: ${ended()}); got: ${this.list.map((e) => e.event).join(', ')}`);
      }
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, left);
        this.waiters.push(() => {
          clearTimeout(t);
          resolve();
        });
      });
    }
  }
}

/** The events of a server-sent-events stream, read as they arrive. */
export class EventReader {
  private readonly events = new SseEvents();
  private readonly abort = new AbortController();

  private constructor(readonly response: Response) {}

  static async open(url: string, init: RequestInit = {}): Promise<EventReader> {
    const controller = new AbortController();
    const res = await fetch(url, { ...init, signal: controller.signal });
    const reader = new EventReader(res);
    reader.abort.signal.addEventListener('abort', () => controller.abort());
    if (res.ok && res.body) reader.pump(res.body).catch(() => undefined); // ends when closed
    return reader;
  }

  /** Every event so far named `event`. */
  all(event: string): unknown[] {
    return this.events.list.filter((e) => e.event === event).map((e) => e.data);
  }

  /** The first event named `event` whose data satisfies `pred`, waiting up to `timeoutMs`. */
  async next(event: string, pred: (data: unknown) => boolean = () => true, timeoutMs = 10_000): Promise<unknown> {
    return this.events.list[await this.events.indexOf(event, pred, timeoutMs, () => false)]!.data;
  }

  close(): void {
    this.abort.abort();
  }

  private async pump(body: ReadableStream<Uint8Array>): Promise<void> {
    const decoder = new TextDecoder();
    for await (const chunk of body as unknown as AsyncIterable<Uint8Array>) this.events.push(decoder.decode(chunk, { stream: true }));
  }
}

/**
 * A viewer that reads an event stream's response headers and then nothing (a hung browser
 * tab): its socket's buffers fill and the server's writes back up. `resume()` starts
 * reading, from the first byte the server sent.
 */
export class StalledViewer {
  private readonly events = new SseEvents();
  isClosed = false;
  /** Resolves when the server ends or drops the stream. */
  readonly closed: Promise<void>;

  private constructor(
    readonly status: number,
    private readonly res: http.IncomingMessage,
  ) {
    this.closed = new Promise((resolve) =>
      res.socket.once('close', () => {
        this.isClosed = true;
        this.events.wake();
        resolve();
      }),
    );
  }

  static open(port: number, pathname: string): Promise<StalledViewer> {
    return new Promise((resolve, reject) => {
      // Its own socket (no agent): nothing else may read from it.
      const req = http.get({ host: '127.0.0.1', port, path: pathname, agent: false }, (res) => resolve(new StalledViewer(res.statusCode!, res)));
      req.on('error', reject);
    });
  }

  /** Events parsed since `resume()`, oldest first. */
  get received(): readonly { event: string; data: unknown }[] {
    return this.events.list;
  }

  resume(): void {
    this.res.setEncoding('utf8');
    this.res.on('data', (chunk: string) => this.events.push(chunk));
  }

  /** Index in `received` of the first event named `event` whose data satisfies `pred`. */
  indexOf(event: string, pred: (data: unknown) => boolean, timeoutMs = 15_000): Promise<number> {
    return this.events.indexOf(event, pred, timeoutMs, () => this.isClosed);
  }

  close(): void {
    this.res.destroy();
  }
}

/** A logger that keeps its lines, parsed, for a test to read. */
export function recordingLogger(): { log: Logger; lines: LogLine[] } {
  const lines: LogLine[] = [];
  const log = new Logger({ level: 'debug', format: 'json', component: 'http', sink: { write: (l) => void lines.push(JSON.parse(l) as LogLine) } });
  return { log, lines };
}
