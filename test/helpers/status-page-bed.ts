/**
 * A real broker with its status page on free loopback ports, both stopped after the test:
 * the setup of the status page's endpoint, security and browser tests.
 */
import { afterEach } from 'vitest';
import type { BrokerConfig, HttpSetting } from '../../src/broker/index.js';
import { Logger, parseLogLevel } from '../../src/log/logger.js';
import { StatusPage } from '../../bridge/status-page/status-page.js';
import type { StartedBroker } from './broker-fixture.js';
import type { TestBed } from './test-bed.js';

export interface PageUnderTest {
  broker: StartedBroker;
  page: StatusPage;
  /** `http://127.0.0.1:PORT` (no trailing slash). */
  base: string;
}

export function useStatusPage(bed: TestBed): (overrides?: Partial<BrokerConfig>, setting?: Partial<HttpSetting>) => Promise<PageUnderTest> {
  const pages: StatusPage[] = [];
  // Registered after useTestBed's hook: vitest runs afterEach hooks in reverse, so pages
  // close before their brokers stop.
  afterEach(async () => {
    await Promise.all(pages.splice(0).map((p) => p.stop()));
  });
  return async (overrides = {}, setting = {}) => {
    const broker = await bed.broker(overrides);
    const level = (process.env.TEST_LOG_LEVEL && parseLogLevel(process.env.TEST_LOG_LEVEL)) || 'silent';
    const page = new StatusPage({ broker: broker.broker, setting: { host: null, port: 0, ...setting }, log: new Logger({ level, component: 'http' }) });
    await page.start();
    pages.push(page);
    return { broker, page, base: `http://127.0.0.1:${page.port}` };
  };
}

/** The events of a server-sent-events stream, read as they arrive. */
export class EventReader {
  private buffer = '';
  private readonly events: { event: string; data: unknown }[] = [];
  private waiters: (() => void)[] = [];
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
    return this.events.filter((e) => e.event === event).map((e) => e.data);
  }

  /** The first event named `event` whose data satisfies `pred`, waiting up to `timeoutMs`. */
  async next(event: string, pred: (data: unknown) => boolean = () => true, timeoutMs = 10_000): Promise<unknown> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const found = this.events.find((e) => e.event === event && pred(e.data));
      if (found) return found.data;
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`no "${event}" event matching within ${timeoutMs} ms; got: ${this.events.map((e) => e.event).join(', ')}`);
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, left);
        this.waiters.push(() => {
          clearTimeout(t);
          resolve();
        });
      });
    }
  }

  close(): void {
    this.abort.abort();
  }

  private async pump(body: ReadableStream<Uint8Array>): Promise<void> {
    const decoder = new TextDecoder();
    for await (const chunk of body as unknown as AsyncIterable<Uint8Array>) {
      this.buffer += decoder.decode(chunk, { stream: true });
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
        if (data !== '') this.events.push({ event, data: JSON.parse(data) as unknown });
      }
      for (const w of this.waiters.splice(0)) w();
    }
  }
}
