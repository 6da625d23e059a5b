/**
 * The status page's event streams under viewers that do not keep up: a viewer that stops
 * reading `/api/live` costs the broker at most about one snapshot, gets the current state
 * once it reads again, and is closed when it stays stuck; `/api/live` and `/api/messages`
 * share one limit of open streams. Real broker, real HTTP clients that really stop reading.
 */
import http from 'node:http';
import { afterEach, describe, expect, it } from 'vitest';
import { EventStream, eventFrame } from '../../bridge/status-page/event-stream.js';
import { MAX_STREAMS } from '../../bridge/status-page/status-page.js';
import { Logger } from '../../src/log/logger.js';
import { FETCH_CONNECTS } from '../helpers/platform.js';
import { EventReader, recordingLogger, StalledViewer, useStatusPage, type PageUnderTest } from '../helpers/status-page-bed.js';
import { useTestBed } from '../helpers/test-bed.js';

const bed = useTestBed();
const startPage = useStatusPage(bed);

const readers: EventReader[] = [];
const stalled: StalledViewer[] = [];
afterEach(() => {
  for (const r of readers.splice(0)) r.close();
  for (const s of stalled.splice(0)) s.close();
});

interface ClientsJson {
  clients: { client_id: string }[];
}
interface BrokerJson {
  gauges: { sessions: number };
}

const hasClient = (id: string) => (d: unknown) => (d as ClientsJson).clients.some((c) => c.client_id === id);

async function reader(p: PageUnderTest, pathname: string): Promise<EventReader> {
  const r = await EventReader.open(p.base + pathname);
  readers.push(r);
  return r;
}

async function stalledViewer(p: PageUnderTest, pathname: string): Promise<StalledViewer> {
  const s = await StalledViewer.open(p.page.port, pathname);
  stalled.push(s);
  expect(s.status).toBe(200);
  return s;
}

/**
 * Sessions whose subscriptions make the clients table about `bytes` of JSON: big enough
 * that a socket whose reader stopped fills within a few pushes, as with the tester's
 * 1,500 sessions.
 */
async function bigClientsTable(p: PageUnderTest, bytes: number): Promise<void> {
  const patterns = Array.from({ length: 400 }, (_, j) => `bulk.pattern.${j}.with.some.padding.to.make.it.longer.#`);
  const perSession = JSON.stringify(patterns).length;
  await Promise.all(
    Array.from({ length: Math.ceil(bytes / perSession) }, async (_, i) => {
      const c = await bed.connected(p.broker.port, `bulk-${i}`);
      expect((await c.call('subscribe', { patterns })).result).toBeDefined();
      // Offline sessions keep their rows: the connections are free for the test.
      c.socket.end();
      await c.closed;
    }),
  );
}

let churned = 0;
/** A new client, seen by `watcher` on `/api/live`: the clients table changed, and a push went out. */
async function churn(p: PageUnderTest, watcher: EventReader): Promise<void> {
  const id = `churn-${++churned}`;
  await bed.connected(p.broker.port, id);
  await watcher.next('clients', hasClient(id), 15_000);
}

describe.skipIf(!FETCH_CONNECTS)('a live view that stops reading', () => {
  it('holds about one snapshot of the broker memory however many pushes it misses, and ends current once it reads again', async () => {
    const p = await startPage();
    await bigClientsTable(p, 2_000_000);
    const watcher = await reader(p, '/api/live');
    const frame = JSON.stringify(await watcher.next('clients')).length;
    expect(frame).toBeGreaterThan(1_900_000);
    const hung = await stalledViewer(p, '/api/live');

    // Eight pushes of the whole table (~16 MB), each seen by the reading viewer.
    let peak = 0;
    for (let i = 0; i < 8; i++) {
      await churn(p, watcher);
      peak = Math.max(peak, ...p.page.streamBuffers());
    }
    expect(p.page.streamBuffers()).toHaveLength(2);
    // One table written past a full buffer, plus the small events: never a backlog of tables.
    expect(peak).toBeLessThan(2 * frame);

    // A change while it is behind: it must get it once it reads, with the broker's
    // figures of the same moment, not several seconds of figures ahead of a stale table.
    await bed.connected(p.broker.port, 'latecomer');
    await watcher.next('clients', hasClient('latecomer'), 15_000);
    const sessions = ((await (await fetch(`${p.base}/api/broker`)).json()) as BrokerJson).gauges.sessions;
    hung.resume();
    const at = await hung.indexOf('clients', hasClient('latecomer'));
    const brokerAhead = hung.received.slice(0, at).filter((e) => e.event === 'broker' && (e.data as BrokerJson).gauges.sessions >= sessions);
    expect(brokerAhead.length).toBeLessThanOrEqual(1);
  }, 45_000);

  it('is closed once it has read nothing for the stuck limit, which frees its place', async () => {
    const { log, lines } = recordingLogger();
    const p = await startPage({}, {}, { stuckStreamMs: 1500, log });
    await bigClientsTable(p, 2_000_000);
    const watcher = await reader(p, '/api/live');
    await watcher.next('clients');
    const hung = await stalledViewer(p, '/api/live');
    // Pushes until the OS's buffers are full and the broker's writes back up; then no
    // drain comes, and the limit closes it.
    for (let i = 0; i < 30 && p.page.streamBuffers().length > 1; i++) await churn(p, watcher);
    expect(p.page.streamBuffers()).toHaveLength(1);
    expect(lines.filter((l) => l.msg.includes('stopped reading'))).toEqual([
      expect.objectContaining({ level: 'info', msg: 'status page: closed a live stream whose viewer stopped reading', path: '/api/live', stuck_s: 1.5 }),
    ]);
    // A viewer that reads again finds the stream ended (its EventSource would reconnect).
    hung.resume();
    await hung.closed;
    // The reading viewer is not touched by it.
    await churn(p, watcher);
  }, 45_000);
});

describe.skipIf(!FETCH_CONNECTS)('the limit of open streams', () => {
  it(`/api/live and /api/messages count together: past ${MAX_STREAMS}, 503 too_many_streams, until one closes`, async () => {
    const p = await startPage();
    const open: EventReader[] = [];
    for (let i = 0; i < MAX_STREAMS - 1; i++) open.push(await reader(p, '/api/live'));
    open.push(await reader(p, '/api/messages?topic=jobs.%23'));
    expect(open.map((r) => r.response.status)).toEqual(Array<number>(MAX_STREAMS).fill(200));
    for (const pathname of ['/api/live', '/api/messages?topic=jobs.%23']) {
      const res = await fetch(p.base + pathname);
      expect(res.status, pathname).toBe(503);
      expect(((await res.json()) as { error: { code: string } }).error.code).toBe('too_many_streams');
    }
    open[0]!.close();
    await expect.poll(() => p.page.streamBuffers().length).toBe(MAX_STREAMS - 1);
    const again = await reader(p, '/api/live');
    expect(again.response.status).toBe(200);
    await again.next('broker');
  });
});

describe('EventStream, on its own HTTP server', () => {
  const servers: http.Server[] = [];
  afterEach(async () => {
    for (const server of servers.splice(0)) {
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
    }
  });

  /** A server whose one event stream the test drives, and a viewer of it that does not read. */
  async function streamToStalledViewer(): Promise<{ stream: EventStream; viewer: StalledViewer }> {
    let opened!: (s: EventStream) => void;
    const streamOpened = new Promise<EventStream>((resolve) => (opened = resolve));
    const server = http.createServer((req, res) => opened(new EventStream(req, res, { stuckAfterMs: 60_000, log: new Logger({ level: 'silent' }) })));
    servers.push(server);
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const viewer = await StalledViewer.open((server.address() as { port: number }).port, '/');
    stalled.push(viewer);
    return { stream: await streamOpened, viewer };
  }

  it('a viewer that is behind gets, once it reads, the newest snapshot of each kind and none of those between', async () => {
    const { stream, viewer } = await streamToStalledViewer();
    // Big snapshots until the OS's buffers are full and the stream is behind.
    const big = eventFrame('a', { n: 0, fill: 'x'.repeat(1_000_000) });
    let written = 0;
    while (stream.keepingUp && written < 64) {
      stream.offer('a', big);
      written++;
    }
    expect(stream.keepingUp).toBe(false);
    const backlog = stream.buffered;
    for (let n = 1; n <= 5; n++) stream.offer('a', eventFrame('a', { n }));
    stream.offer('b', eventFrame('b', { n: 1 }));
    stream.offer('a', eventFrame('a', { n: 6 }));
    // Held, not written: what the broker holds for it did not grow.
    expect(stream.buffered).toBe(backlog);
    viewer.resume();
    // Nothing more is offered: the drain alone brings the held snapshots.
    await viewer.indexOf('b', () => true);
    const after = viewer.received.filter((e) => (e.data as { n: number }).n !== 0);
    expect(after).toEqual([
      { event: 'a', data: { n: 6 } },
      { event: 'b', data: { n: 1 } },
    ]);
    expect(viewer.received.filter((e) => (e.data as { n: number }).n === 0)).toHaveLength(written);
  });
});
