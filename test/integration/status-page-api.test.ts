/**
 * The status page's JSON endpoints, live streams and /metrics over real HTTP, against a
 * real broker with real clients, and scripts supervised by a real `bridge run` process.
 */
import http from 'node:http';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { BrokerClient } from '../../src/client/index.js';
import { useCliProcesses, type StartedCli } from '../helpers/cli.js';
import type { RawClient } from '../helpers/raw-client.js';
import { EventReader, recordingLogger, useStatusPage, type PageUnderTest } from '../helpers/status-page-bed.js';
import { FETCH_CONNECTS } from '../helpers/platform.js';
import { useTestBed } from '../helpers/test-bed.js';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const FAKE_AHK = path.join(ROOT, 'fixtures/fake-ahk/AutoHotkey.mjs');
const script = (name: string): string => path.join(ROOT, 'fixtures/scripts', `${name}.ahk`);

const bed = useTestBed();
const startPage = useStatusPage(bed);
const procs = useCliProcesses();

let p: PageUnderTest;
const clients: BrokerClient[] = [];
const readers: EventReader[] = [];

beforeEach(async () => {
  p = await startPage();
});
afterEach(async () => {
  for (const r of readers.splice(0)) r.close();
  await Promise.all(clients.splice(0).map((c) => c.disconnect()));
});

async function client(id: string, opts: { clientType?: string; cleanSession?: boolean } = {}): Promise<BrokerClient> {
  const c = new BrokerClient(id, { host: '127.0.0.1', port: p.broker.port, autoReconnect: false, ...opts });
  await c.connect();
  clients.push(c);
  return c;
}

async function getJson<T = Record<string, unknown>>(pathname: string): Promise<T> {
  const res = await fetch(p.base + pathname);
  expect(res.status, `${pathname}: ${await res.clone().text()}`).toBe(200);
  expect(res.headers.get('content-type')).toBe('application/json; charset=utf-8');
  return (await res.json()) as T;
}

async function post(pathname: string): Promise<Response> {
  return fetch(p.base + pathname, { method: 'POST', headers: { 'Content-Type': 'application/json', Origin: p.base }, body: '{}' });
}

async function stream(pathname: string): Promise<EventReader> {
  const r = await EventReader.open(p.base + pathname);
  readers.push(r);
  return r;
}

/** A GET with the request target as given: fetch() normalizes it first. */
function rawGet(port: number, target: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = http.get({ host: '127.0.0.1', port, path: target }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => (body += c));
      res.on('end', () => resolve({ status: res.statusCode!, body }));
    });
    req.on('error', reject);
  });
}

interface ClientRowJson {
  client_id: string;
  client_type: string;
  online: boolean;
  address: string | null;
  connected_at: string | null;
  last_seen: string | null;
  subscriptions: string[];
  queued: number;
}

// Node's fetch cannot connect under Wine (test/helpers/platform.ts); the server is covered
// there by status-page-security.test.ts, which uses node:http.
describe.skipIf(!FETCH_CONNECTS)('the status page over HTTP', () => {
  describe('/api/broker', () => {
    it('reports the version, address, counters and gauges of the broker it sits beside', async () => {
      const sub = await client('sub');
      let got = 0;
      await sub.subscribe(['jobs.*'], () => {
        got++;
        return undefined;
      });
      const pub = await client('pub');
      for (let i = 0; i < 3; i++) await pub.publish('jobs.activated', { i }, { qos: 1 });
      await expect.poll(() => got).toBe(3);
      const b = await getJson<{
        version: string;
        port: number;
        counters: Record<string, number>;
        gauges: Record<string, number>;
        history: { interval_s: number; messages_per_s: number[] };
      }>('/api/broker');
      expect(b.version).toMatch(/^\d+\.\d+\.\d+/);
      expect(b.port).toBe(p.broker.port);
      expect(b).toMatchObject({ heartbeat_interval: 5 });
      expect(b.counters.messages).toBe(3);
      expect(b.counters.deliveries).toBe(3);
      expect(b.gauges.clients_online).toBe(2);
      expect(b.gauges.subscriptions).toBe(1);
      expect(b.history.interval_s).toBe(1);
    });

    it('pushes the message rate each second on /api/live while messages flow', async () => {
      const live = await stream('/api/live');
      await live.next('broker');
      const pub = await client('pub');
      // Publish until a per-second sample has seen some: the rate is of a whole second.
      let stop = false;
      const publishing = (async () => {
        while (!stop) await pub.publish('load.tick', null, { qos: 1 });
      })();
      const tick = (await live.next('broker', (d) => (d as { rates: { messages_per_s: number } }).rates.messages_per_s > 0, 15_000)) as {
        rates: { messages_per_s: number };
        history?: unknown;
      };
      stop = true;
      await publishing;
      expect(tick.rates.messages_per_s).toBeGreaterThan(0);
      expect(tick.history).toBeUndefined();
      const b = await getJson<{ history: { messages_per_s: number[] } }>('/api/broker');
      expect(Math.max(...b.history.messages_per_s)).toBeGreaterThan(0);
    });
  });

  describe('/api/clients', () => {
    it('has one row per session: id, type, address, connected since, last seen, subscriptions, queue', async () => {
      const c = await client('job_manager', { clientType: 'python' });
      await c.subscribe(['jobs.*', 'system.#'], () => undefined);
      const { clients: rows } = await getJson<{ clients: ClientRowJson[] }>('/api/clients');
      const row = rows.find((r) => r.client_id === 'job_manager')!;
      expect(row).toMatchObject({ client_type: 'python', online: true, subscriptions: ['jobs.*', 'system.#'], queued: 0 });
      expect(row.address).toMatch(/^127\.0\.0\.1:\d+$/);
      expect(Date.parse(row.connected_at!)).toBeLessThanOrEqual(Date.parse(row.last_seen!));
      expect(Date.now() - Date.parse(row.last_seen!)).toBeLessThan(60_000);
    });

    it('says which clients ping: only their silence means trouble (AutoHotkey clients never ping)', async () => {
      await bed.connected(p.broker.port, 'ahk_script');
      const pinger = await bed.connected(p.broker.port, 'pinger');
      await pinger.call('ping', {});
      const rows = (await getJson<{ clients: (ClientRowJson & { pings: boolean })[] }>('/api/clients')).clients;
      expect(rows.find((r) => r.client_id === 'ahk_script')!.pings).toBe(false);
      expect(rows.find((r) => r.client_id === 'pinger')!.pings).toBe(true);
    });

    it('keeps a disconnected session as offline, with no address, until it expires', async () => {
      const c = await client('saw', { cleanSession: false });
      await c.subscribe(['saw.#'], () => undefined);
      await c.disconnect();
      await expect.poll(async () => (await getJson<{ clients: ClientRowJson[] }>('/api/clients')).clients.find((r) => r.client_id === 'saw')?.online).toBe(false);
      const row = (await getJson<{ clients: ClientRowJson[] }>('/api/clients')).clients.find((r) => r.client_id === 'saw')!;
      expect(row).toMatchObject({ address: null, connected_at: null, last_seen: null, subscriptions: ['saw.#'] });
    });

    it('a client connecting shows up on /api/live', async () => {
      const live = await stream('/api/live');
      await live.next('clients');
      await client('newcomer');
      const rows = (await live.next('clients', (d) => (d as { clients: ClientRowJson[] }).clients.some((r) => r.client_id === 'newcomer'))) as { clients: ClientRowJson[] };
      expect(rows.clients.find((r) => r.client_id === 'newcomer')!.online).toBe(true);
    });
  });

  describe('/api/topics', () => {
    it('lists recent topics newest first, with counts and the last payload and sender', async () => {
      const pub = await client('pub');
      await pub.publish('jobs.a', { n: 1 }, { qos: 1 });
      await pub.publish('jobs.a', { n: 2 }, { qos: 1 });
      await pub.publish('jobs.b', 'text', { qos: 1 });
      const { topics } = await getJson<{ limit: number; topics: { topic: string; messages: number; last_payload: unknown; last_sender: string }[] }>('/api/topics');
      const mine = topics.filter((t) => t.topic.startsWith('jobs.'));
      expect(mine).toEqual([
        expect.objectContaining({ topic: 'jobs.b', messages: 1, last_payload: 'text', last_sender: 'pub' }),
        expect.objectContaining({ topic: 'jobs.a', messages: 2, last_payload: { n: 2 }, last_sender: 'pub' }),
      ]);
    });

    it('is bounded: a flood of one-off topics keeps the newest 100', async () => {
      const pub = await client('pub');
      for (let i = 0; i < 250; i++) await pub.publish(`once.t${i}`, i, { qos: 1 });
      const { limit, topics } = await getJson<{ limit: number; topics: { topic: string }[] }>('/api/topics');
      expect(limit).toBe(100);
      expect(topics).toHaveLength(100);
      expect(topics[0]!.topic).toBe('once.t249');
      expect(topics.map((t) => t.topic)).not.toContain('once.t100');
    });

    it('cuts a large payload to 2,000 characters of JSON and says so', async () => {
      const pub = await client('pub');
      await pub.publish('big.one', { blob: 'x'.repeat(5000) }, { qos: 1 });
      const { topics } = await getJson<{ topics: { topic: string; last_payload: unknown; truncated: boolean }[] }>('/api/topics');
      const big = topics.find((t) => t.topic === 'big.one')!;
      expect(big.truncated).toBe(true);
      expect(big.last_payload).toBe(JSON.stringify({ blob: 'x'.repeat(5000) }).slice(0, 2000));
    });
  });

  describe('/api/messages (live messages under a topic filter)', () => {
    it('streams the messages that match the pattern, and only those', async () => {
      const view = await stream('/api/messages?topic=jobs.%23');
      await view.next('subscribed');
      const pub = await client('pub');
      await pub.publish('other.x', 1, { qos: 1 });
      await pub.publish('jobs.activated', { job: 17 }, { qos: 1 });
      const msg = (await view.next('message')) as Record<string, unknown>;
      expect(msg).toMatchObject({ topic: 'jobs.activated', sender: 'pub', qos: 1, payload: { job: 17 }, truncated: false });
      expect(view.all('message').map((m) => (m as { topic: string }).topic)).toEqual(['jobs.activated']);
    });

    it('sends at most 50 a second to one view and counts the rest as skipped', async () => {
      const view = await stream('/api/messages?topic=flood.%23');
      await view.next('subscribed');
      const pub = await client('pub');
      for (let i = 0; i < 200; i++) pub.publish('flood.x', i).catch(() => undefined);
      await pub.publish('flood.x', 'last', { qos: 1 });
      const skippedTotal = (): number => view.all('skipped').reduce((n: number, s) => n + (s as { count: number }).count, 0);
      // Every one of the 201 is either sent or counted in a `skipped` event.
      await expect.poll(() => view.all('message').length + skippedTotal(), { timeout: 10_000 }).toBe(201);
      const sent = view.all('message').length;
      expect(skippedTotal()).toBeGreaterThanOrEqual(201 - 50 * (view.all('skipped').length + 1));
      // At most 50 in each second: a second that skipped some reports them once.
      expect(sent).toBeLessThanOrEqual(50 * (view.all('skipped').length + 1));
      expect(sent).toBeGreaterThanOrEqual(50);
    });

    it('refuses a missing or invalid pattern with 400, and a closed view leaves no tap behind', async () => {
      for (const q of ['', '?topic=', '?topic=a..b', '?topic=a.%23.b']) {
        const res = await fetch(`${p.base}/api/messages${q}`);
        expect(res.status, q).toBe(400);
        expect(((await res.json()) as { error: { code: string } }).error.code).toBe('invalid_pattern');
      }
      const monitor = p.broker.broker.monitor();
      const view = await stream('/api/messages?topic=a.b');
      await view.next('subscribed');
      expect(monitor.tapCount).toBe(1);
      view.close();
      await expect.poll(() => monitor.tapCount).toBe(0);
    });
  });

  describe('/metrics', () => {
    it('serves the Prometheus text format with the same counters as /api/broker', async () => {
      const pub = await client('pub');
      await pub.publish('m.x', 1, { qos: 1 });
      const res = await fetch(`${p.base}/metrics`);
      expect(res.status).toBe(200);
      expect(res.headers.get('content-type')).toBe('text/plain; version=0.0.4; charset=utf-8');
      const text = await res.text();
      const value = (name: string): number => Number(new RegExp(`^${name} (\\S+)$`, 'm').exec(text)?.[1]);
      const b = await getJson<{ counters: { messages: number } }>('/api/broker');
      expect(value('ahkbridge_messages_total')).toBe(b.counters.messages);
      expect(value('ahkbridge_clients_online')).toBe(1);
      expect(text).toMatch(/^ahkbridge_client_online\{client_id="pub"\} 1$/m);
      expect(text).toMatch(/^# TYPE ahkbridge_messages_total counter$/m);
    });
  });

  describe('/api/scripts', () => {
    let watcher: RawClient;
    let bridge: StartedCli;

    beforeEach(async () => {
      watcher = await bed.connected(p.broker.port, 'watcher');
      await watcher.call('subscribe', { patterns: ['scripts.#'] });
      const started = watcher.waitDelivery('scripts.chatty.output', (m) => (m.payload as { line?: string }).line === 'second line', 15_000);
      bridge = procs.start(['run', script('chatty'), '--key', 'chatty', '--ahk', FAKE_AHK, '--host', '127.0.0.1', '--port', String(p.broker.port), '--watch']);
      await started;
    });

    interface ScriptJson {
      key: string;
      state: string;
      running: boolean;
      pid: number | null;
      bridge: string;
      restarts: number;
    }

    it('lists every script with its state, pid and bridge, and its recent output', async () => {
      const { scripts, silent_bridges } = await getJson<{ scripts: ScriptJson[]; silent_bridges: string[] }>('/api/scripts');
      expect(silent_bridges).toEqual([]);
      expect(scripts).toEqual([expect.objectContaining({ key: 'chatty', state: 'running', running: true, restarts: 0, bridge: expect.stringMatching(/^bridge/) })]);
      expect(scripts[0]!.pid).toBeGreaterThan(0);
      const out = await getJson<{ key: string; lines: { stream: string; text: string }[] }>('/api/scripts/chatty/output?lines=50');
      expect(out.key).toBe('chatty');
      expect(out.lines.filter((l) => l.stream === 'stdout').map((l) => l.text)).toEqual(['first line', 'second line']);
      expect(out.lines.filter((l) => l.stream === 'stderr').map((l) => l.text)).toEqual(['a warning']);
      expect(bridge.child.exitCode).toBeNull();
      // The page's own questions to the bridges (a new answer topic each) stay out of the topic table.
      const { topics } = await getJson<{ topics: { topic: string; last_sender: string }[] }>('/api/topics');
      expect(topics.filter((t) => t.topic.startsWith('bridge.scripts.answer.status-page') || t.last_sender === 'status-page')).toEqual([]);
      expect(topics.map((t) => t.topic)).toContain('scripts.chatty.output');
    });

    it('stop answers once stopped, publishes scripts.<key>.stopped, and /api/live shows it; start brings it back', async () => {
      const live = await stream('/api/live');
      await live.next('scripts', (d) => (d as { scripts: ScriptJson[] }).scripts.some((s) => s.key === 'chatty' && s.running));
      const stopped = watcher.waitDelivery('scripts.chatty.stopped', () => true, 15_000);
      const res = await post('/api/scripts/chatty/stop');
      expect(res.status).toBe(200);
      const body = (await res.json()) as { ok: boolean; result: string; status: ScriptJson };
      expect(body.ok).toBe(true);
      expect(body.result).toMatch(/^stopped chatty \(was pid \d+/);
      expect(body.status.running).toBe(false);
      await stopped;
      await live.next('scripts', (d) => (d as { scripts: ScriptJson[] }).scripts.some((s) => s.key === 'chatty' && s.state === 'stopped'));
      const again = await post('/api/scripts/chatty/start');
      expect(again.status).toBe(200);
      expect(((await again.json()) as { result: string }).result).toMatch(/^started chatty pid \d+$/);
    });

    it('an unknown key is 404 naming the known ones; a key that cannot be one is 400', async () => {
      const res = await post('/api/scripts/nope/restart');
      expect(res.status).toBe(404);
      expect(await res.json()).toEqual({ error: { code: 'unknown_script', message: 'no script with key "nope" on this broker', known: ['chatty'] } });
      const out = await fetch(`${p.base}/api/scripts/nope/output`);
      expect(out.status).toBe(404);
      for (const bad of ['..%2Fetc', 'a%20b', 'x'.repeat(65)]) {
        const r = await post(`/api/scripts/${bad}/stop`);
        expect(r.status, bad).toBe(400);
        expect(((await r.json()) as { error: { code: string } }).error.code).toBe('invalid_key');
      }
      const lines = await fetch(`${p.base}/api/scripts/chatty/output?lines=0`);
      expect(lines.status).toBe(400);
    });
  });

  describe('HTTP edges', () => {
    it('unknown paths are 404 JSON, wrong methods 405 with Allow, big bodies 413', async () => {
      const res = await fetch(`${p.base}/api/nothing`);
      expect(res.status).toBe(404);
      expect(((await res.json()) as { error: { code: string } }).error.code).toBe('not_found');
      const put = await fetch(`${p.base}/api/broker`, { method: 'PUT' });
      expect(put.status).toBe(405);
      expect(put.headers.get('allow')).toBe('GET');
      const get = await fetch(`${p.base}/api/scripts/x/stop`);
      expect(get.status).toBe(405);
      expect(get.headers.get('allow')).toBe('POST');
      const big = await fetch(`${p.base}/api/scripts/x/stop`, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: '{"a":"' + 'x'.repeat(20_000) + '"}' });
      expect(big.status).toBe(413);
      const bad = await fetch(`${p.base}/api/scripts/x/stop`, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: '{nope' });
      expect(bad.status).toBe(400);
      expect(((await bad.json()) as { error: { code: string } }).error.code).toBe('invalid_json');
    });

    it('a malformed %-escape is the caller\'s mistake (400 with its code), never a 500 with an ERROR logged', async () => {
      const { log, lines } = recordingLogger();
      const q = await startPage({}, {}, { log });
      const codeOf = async (res: Response): Promise<string> => ((await res.json()) as { error: { code: string } }).error.code;
      // %ZZ is no escape; %E9 alone is not UTF-8.
      for (const key of ['%ZZ', '%E9', 'a%']) {
        const out = await fetch(`${q.base}/api/scripts/${key}/output`);
        expect(out.status, key).toBe(400);
        expect(await codeOf(out)).toBe('invalid_key');
        const stop = await fetch(`${q.base}/api/scripts/${key}/stop`, { method: 'POST', headers: { 'Content-Type': 'application/json', Origin: q.base }, body: '{}' });
        expect(stop.status, key).toBe(400);
        expect(await codeOf(stop)).toBe('invalid_key');
      }
      const badLines = await fetch(`${q.base}/api/scripts/x/output?lines=%ZZ`);
      expect(badLines.status).toBe(400);
      expect(await codeOf(badLines)).toBe('invalid_lines');
      // Queries decode leniently: a pattern with a stray % is a pattern like any other.
      const view = await EventReader.open(`${q.base}/api/messages?topic=%ZZ.%E9.%23`);
      readers.push(view);
      expect(await view.next('subscribed')).toEqual({ topic: '%ZZ.\uFFFD.#' });
      // Request targets fetch would not send: a path that looks like `//host` is a path,
      // and an absolute URL that is none is 400.
      for (const [target, status, code] of [
        ['//', 404, 'not_found'],
        ['//x:99999/api/broker', 404, 'not_found'],
        ['http://a:b/', 400, 'invalid_url'],
      ] as const) {
        const res = await rawGet(q.page.port, target);
        expect(res.status, target).toBe(status);
        expect(JSON.parse(res.body), target).toMatchObject({ error: { code } });
      }
      expect(lines.filter((l) => l.level === 'error' || l.level === 'critical')).toEqual([]);
    });
  });
});
