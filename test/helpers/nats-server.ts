/**
 * A real nats-server (Debian's `nats-server` package) for federation tests: loopback, free
 * ports, its monitoring endpoint on, started and restarted on the same ports, killed by
 * its own PID only. Start-up is awaited on the server's own "Server is ready" line.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { afterEach } from 'vitest';
import { freePort } from './ports.js';

/** Where Debian installs it; `NATS_SERVER` overrides. */
export const NATS_SERVER = process.env.NATS_SERVER ?? '/usr/sbin/nats-server';

const READY_MS = 10_000;

/** One client connection as /connz?subs=1 reports it. */
export interface NatsConnection {
  cid: number;
  name?: string;
  subscriptions_list?: string[];
  in_msgs: number;
  out_msgs: number;
}

export class NatsServer {
  private child: ChildProcess | null = null;
  private exited: Promise<void> = Promise.resolve();
  /** Everything the server wrote, over all its runs (for failure messages). */
  output = '';

  private constructor(
    readonly port: number,
    readonly monitorPort: number,
    /** More nats-server arguments: TLS, credentials. */
    private readonly args: readonly string[] = [],
  ) {}

  /** Start one on free ports (or the given ones) and wait until it accepts clients. */
  static async start(ports: { port?: number; monitorPort?: number; args?: readonly string[] } = {}): Promise<NatsServer> {
    const server = new NatsServer(ports.port ?? (await freePort()), ports.monitorPort ?? (await freePort()), ports.args);
    await server.run();
    return server;
  }

  get url(): string {
    return `nats://127.0.0.1:${this.port}`;
  }

  get pid(): number | undefined {
    return this.child?.pid;
  }

  get running(): boolean {
    return this.child !== null;
  }

  /** Start (again) on the same ports; resolves once the server says it is ready. */
  async run(): Promise<void> {
    if (this.child) throw new Error('nats-server already running');
    const child = spawn(NATS_SERVER, ['-a', '127.0.0.1', '-p', String(this.port), '-m', String(this.monitorPort), ...this.args], { stdio: ['ignore', 'pipe', 'pipe'] });
    this.child = child;
    this.exited = new Promise((resolve) =>
      child.on('exit', () => {
        if (this.child === child) this.child = null;
        resolve();
      }),
    );
    await new Promise<void>((resolve, reject) => {
      let seen = '';
      const timer = setTimeout(() => fail(new Error(`nats-server not ready after ${READY_MS} ms:\n${seen}`)), READY_MS);
      const onData = (d: Buffer): void => {
        seen += d.toString('utf8');
        this.output += d.toString('utf8');
        if (seen.includes('Server is ready')) done();
      };
      const onExit = (code: number | null): void => fail(new Error(`nats-server exited (${code}) before it was ready:\n${seen}`));
      const onError = (err: Error): void => fail(new Error(`cannot start ${NATS_SERVER}: ${err.message} (apt-get install nats-server)`));
      const cleanup = (): void => {
        clearTimeout(timer);
        child.stderr!.off('data', onData);
        child.stdout!.off('data', onData);
        child.off('exit', onExit);
        child.off('error', onError);
      };
      function done(): void {
        cleanup();
        resolve();
      }
      function fail(err: Error): void {
        cleanup();
        reject(err);
      }
      child.stderr!.on('data', onData);
      child.stdout!.on('data', onData);
      child.once('exit', onExit);
      child.once('error', onError);
    });
    // Keep draining its output so a chatty server never blocks on a full pipe.
    child.stderr!.on('data', (d: Buffer) => (this.output += d.toString('utf8')));
    child.stdout!.on('data', (d: Buffer) => (this.output += d.toString('utf8')));
  }

  /** Kill it (SIGKILL by default: a crash, no goodbye to clients) and wait until it has exited. */
  async kill(signal: NodeJS.Signals = 'SIGKILL'): Promise<void> {
    const child = this.child;
    if (!child) return;
    child.kill(signal);
    await this.exited;
  }

  /** GET a monitoring endpoint (`/connz?subs=1`, `/subsz?subs=1`) as JSON. */
  async monitor<T>(pathAndQuery: string): Promise<T> {
    const res = await fetch(`http://127.0.0.1:${this.monitorPort}${pathAndQuery}`);
    if (!res.ok) throw new Error(`nats-server monitoring ${pathAndQuery}: HTTP ${res.status}`);
    return (await res.json()) as T;
  }

  /** The client connections, with their subscriptions. */
  async connections(): Promise<NatsConnection[]> {
    return (await this.monitor<{ connections: NatsConnection[] }>('/connz?subs=1')).connections;
  }

  /**
   * The subjects one of our brokers subscribes upstream (its connection is named
   * `ahk-bridge <origin id>`), without the client library's own `_INBOX.` reply
   * subscription; `null` when it has no connection.
   */
  async subjectsOf(originId: string): Promise<string[] | null> {
    const conn = (await this.connections()).find((c) => c.name === `ahk-bridge ${originId}`);
    if (!conn) return null;
    return (conn.subscriptions_list ?? []).filter((s) => !s.startsWith('_INBOX.')).sort();
  }
}

/** Call at the top of a test file: `start()` gives a server killed after each test. */
export function useNatsServers(): { start: (ports?: { port?: number; monitorPort?: number; args?: readonly string[] }) => Promise<NatsServer> } {
  const servers: NatsServer[] = [];
  afterEach(async () => {
    await Promise.all(servers.splice(0).map((s) => s.kill('SIGTERM')));
  });
  return {
    async start(ports) {
      const s = await NatsServer.start(ports);
      servers.push(s);
      return s;
    },
  };
}
