/**
 * Per-test brokers and raw clients, all torn down after each test: the setup every
 * black-box broker test file needs, in one place.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, expect } from 'vitest';
import type { BrokerConfig, MessageBrokerOptions } from '../../src/broker/index.js';
import { Logger } from '../../src/log/logger.js';
import { startBroker, type StartedBroker } from './broker-fixture.js';
import { RawClient, type Frame } from './raw-client.js';

export interface TestBed {
  /** Start a broker that is stopped after the test. */
  broker(overrides?: Partial<BrokerConfig>, options?: MessageBrokerOptions): Promise<StartedBroker>;
  /** Open a socket (no `connect`) that is closed after the test. */
  open(port: number, host?: string): Promise<RawClient>;
  /** Open and `connect`; returns the client and the whole `connect` response. */
  connect(port: number, clientId: string, params?: Record<string, unknown>, host?: string): Promise<{ c: RawClient; res: Frame }>;
  /** Open and `connect`, failing the test if the broker refuses. */
  connected(port: number, clientId: string, params?: Record<string, unknown>, host?: string): Promise<RawClient>;
  /** Make an empty folder in the OS temp folder, removed after the test (once its brokers have stopped). */
  tempDir(prefix: string): string;
}

/** Call at the top of a test file (or describe block); registers the cleanup hook. */
export function useTestBed(): TestBed {
  const brokers: StartedBroker[] = [];
  const clients: RawClient[] = [];
  const dirs: string[] = [];
  afterEach(async () => {
    for (const c of clients.splice(0)) c.close();
    await Promise.all(brokers.splice(0).map((b) => b.stop()));
    for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
  });
  const open = async (port: number, host = '127.0.0.1'): Promise<RawClient> => {
    const c = await RawClient.open(port, host);
    clients.push(c);
    return c;
  };
  const connect = async (port: number, clientId: string, params: Record<string, unknown> = {}, host = '127.0.0.1'): Promise<{ c: RawClient; res: Frame }> => {
    const c = await open(port, host);
    const res = await c.call('connect', { client_id: clientId, client_type: 'test', version: '1', ...params });
    expect(res.error, `connect ${clientId}`).toBeUndefined();
    return { c, res };
  };
  return {
    async broker(overrides = {}, options = {}) {
      const b = await startBroker(overrides, options);
      brokers.push(b);
      return b;
    },
    open,
    connect,
    connected: async (port, clientId, params, host) => (await connect(port, clientId, params, host)).c,
    tempDir(prefix) {
      const dir = mkdtempSync(path.join(tmpdir(), prefix));
      dirs.push(dir);
      return dir;
    },
  };
}

/**
 * A broker from `bed` and a raw client connected to it (as `clientId`, default "watcher")
 * that sees what is published there: subscribed to `patterns` when any are given.
 */
export async function brokerWithWatcher(
  bed: TestBed,
  opts: { clientId?: string; patterns?: string[]; broker?: Partial<BrokerConfig> } = {},
): Promise<{ broker: StartedBroker; watcher: RawClient }> {
  const broker = await bed.broker(opts.broker);
  const watcher = await bed.connected(broker.port, opts.clientId ?? 'watcher');
  if (opts.patterns) await watcher.call('subscribe', { patterns: opts.patterns });
  return { broker, watcher };
}

/** One line of a broker's JSON log, parsed. */
export interface LogLine {
  level: string;
  msg: string;
  [field: string]: unknown;
}

/** A broker from `bed` whose log (debug and up) is kept as parsed JSON lines. */
export async function loggedBroker(bed: TestBed, overrides: Partial<BrokerConfig> = {}): Promise<{ port: number; logs: LogLine[] }> {
  const logs: LogLine[] = [];
  const logger = new Logger({ level: 'debug', format: 'json', component: 'broker', sink: { write: (l) => logs.push(JSON.parse(l) as LogLine) } });
  const { port } = await bed.broker(overrides, { logger });
  return { port, logs };
}

/** Subscribe and check the broker confirmed exactly `patterns`. */
export async function subscribe(c: RawClient, ...patterns: string[]): Promise<void> {
  const res = await c.call('subscribe', { patterns });
  expect(res.result).toEqual({ subscribed: patterns });
}

/** A ping round trip: every frame the broker queued for `c` before it has arrived. */
export async function roundTrip(c: RawClient): Promise<void> {
  const res = await c.call('ping');
  expect(res.result?.pong).toBe(true);
}

/** A fresh broker for every test, and clients bound to whichever broker is current. */
export interface BrokerPerTest {
  /** The current test's broker. */
  readonly current: StartedBroker;
  /** `--host 127.0.0.1 --port <port>`: the CLI's flags for the current broker. */
  readonly cliArgs: string[];
  /** Replace it with one started with other options (the old one stops after the test). */
  restart(overrides?: Partial<BrokerConfig>): Promise<StartedBroker>;
  open(): Promise<RawClient>;
  connected(clientId: string, params?: Record<string, unknown>): Promise<RawClient>;
}

/** Call at the top of a test file: starts a broker with `overrides` before each test. */
export function useBrokerPerTest(overrides: Partial<BrokerConfig> = {}): BrokerPerTest {
  const bed = useTestBed();
  let current: StartedBroker | undefined;
  beforeEach(async () => {
    current = await bed.broker(overrides);
  });
  const now = (): StartedBroker => {
    if (!current) throw new Error('no broker yet: use it inside a test');
    return current;
  };
  return {
    get current() {
      return now();
    },
    get cliArgs() {
      return ['--host', '127.0.0.1', '--port', String(now().port)];
    },
    async restart(o = {}) {
      current = await bed.broker(o);
      return current;
    },
    open: () => bed.open(now().port),
    connected: (clientId, params) => bed.connected(now().port, clientId, params),
  };
}
