/**
 * The orchestrator's one control connection for the bridge scenarios: it subscribes to a
 * bridge's lifecycle topics (`scripts.<key>.started`, `scripts.<key>.ready`) before the
 * bridge is spawned and notes when each first arrives, on the orchestrator's clock (the
 * same clock that timed the spawn). It carries a handful of messages per bridge, never
 * measured traffic.
 */
import { performance } from 'node:perf_hooks';
import type { BridgeProcess } from './bridge-process.js';
import { BenchConnection } from './client.js';

export interface Arrival {
  /** performance.now() when the delivery was decoded. */
  atMs: number;
  payload: unknown;
}

export class BridgeEvents {
  private readonly waiters = new Map<string, (a: Arrival) => void>();
  private conn: BenchConnection | null = null;

  static async open(port: number, clientId: string): Promise<BridgeEvents> {
    const ev = new BridgeEvents();
    ev.conn = await BenchConnection.open(port, clientId, (params) => ev.onDelivery(params));
    return ev;
  }

  /** Subscribe to `topics`; each promise resolves at that topic's first delivery from now on. */
  async arm(topics: string[]): Promise<Promise<Arrival>[]> {
    const arrivals = topics.map(
      (topic) =>
        new Promise<Arrival>((resolve) => {
          this.waiters.set(topic, resolve);
        }),
    );
    await this.conn!.subscribe(topics);
    return arrivals;
  }

  close(): void {
    this.waiters.clear();
    this.conn?.close();
  }

  private onDelivery(params: Record<string, unknown>): void {
    const atMs = performance.now();
    const topic = params.topic;
    if (typeof topic !== 'string') return;
    const resolve = this.waiters.get(topic);
    if (!resolve) return;
    this.waiters.delete(topic);
    resolve({ atMs, payload: params.payload });
  }
}

/**
 * `arrival`, or a rejection when it has not come within `timeoutMs` or the bridge exited
 * first (with the bridge's last log lines).
 */
export function awaitArrival(arrival: Promise<Arrival>, what: string, bridge: BridgeProcess, timeoutMs: number): Promise<Arrival> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`no ${what} within ${timeoutMs} ms${logOf(bridge)}`)), timeoutMs);
  });
  const exit = bridge.exited.then((e): never => {
    throw new Error(`bridge exited (${e.code ?? e.signal}) before ${what}${logOf(bridge)}`);
  });
  exit.catch(() => {}); // only observed through the race below
  return Promise.race([arrival, timeout, exit]).finally(() => clearTimeout(timer));
}

function logOf(bridge: BridgeProcess): string {
  const log = bridge.logTail();
  return log ? ` (bridge log: ${log.split('\n').slice(-3).join(' | ')})` : '';
}
