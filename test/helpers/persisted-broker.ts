/**
 * A broker CHILD PROCESS with persistence, for crash tests: the built CLI
 * (`bridge broker --persist DIR --persistence-fsync POLICY`) on a fixed port, killed
 * without warning and started again on the same directory and port.
 *
 * The broker logs JSON lines (`--log-format json`), so a test finds "broker listening"
 * and the recovery warnings by their fields, whatever a platform's paths look like.
 * Every wait is on an event (a log line, the process' exit), bounded by a timeout.
 */
import { spawn, type ChildProcessByStdio } from 'node:child_process';
import { randomInt } from 'node:crypto';
import { readFileSync } from 'node:fs';
import net from 'node:net';
import { createInterface } from 'node:readline';
import type { Readable } from 'node:stream';
import { CLI } from './cli.js';

export type FsyncPolicy = 'always' | 'batch' | 'never';

/** One parsed log line of the broker. */
export type BrokerLogLine = { level: string; msg: string } & Record<string, unknown>;

export interface PersistedBrokerOptions {
  dir: string;
  port: number;
  fsync: FsyncPolicy;
  /** Bound on start-up (process start, recovery, listen). */
  startTimeoutMs: number;
  /** More flags (`--max-queue-size ...`). */
  extraArgs?: readonly string[];
}

type Child = ChildProcessByStdio<null, Readable, Readable>;

/** A started broker process; {@link PersistedBroker.start} resolves once it listens. */
export class PersistedBroker {
  /** Every JSON log line, in order. */
  readonly lines: BrokerLogLine[] = [];
  /** Resolves when the process has exited (killed or not). */
  readonly exited: Promise<void>;
  private text = '';
  private isExited = false;

  private constructor(private readonly child: Child) {
    // stdout is read (and dropped) so that a chatty broker can never block on a full pipe.
    child.stdout.resume();
    child.stderr.setEncoding('utf8');
    createInterface({ input: child.stderr }).on('line', (line) => {
      this.text += line + '\n';
      try {
        const parsed = JSON.parse(line) as unknown;
        if (typeof parsed === 'object' && parsed !== null && 'msg' in parsed) this.lines.push(parsed as BrokerLogLine);
      } catch {
        // Not a log line (an uncaught error's stack, a CLI error message): kept in `text` only.
      }
    });
    this.exited = new Promise((resolve) =>
      child.on('exit', () => {
        this.isExited = true;
        resolve();
      }),
    );
  }

  get pid(): number {
    return this.child.pid ?? -1;
  }

  /** Everything the broker wrote to stderr, for failure messages. */
  get stderr(): string {
    return this.text;
  }

  get alive(): boolean {
    return !this.isExited;
  }

  /** Log lines with this level whose message matches. */
  logged(level: string, msg: RegExp): BrokerLogLine[] {
    return this.lines.filter((l) => l.level === level && msg.test(l.msg));
  }

  /**
   * Start a broker and wait for its "broker listening" line. A start that fails only
   * because the port is still held (the killed broker's socket not yet released: it can
   * happen on Windows, Node on POSIX binds with SO_REUSEADDR) is tried again, at most
   * `portRetries` times, each retry triggered by the failed process' exit.
   */
  static async start(opts: PersistedBrokerOptions, portRetries = 3): Promise<PersistedBroker> {
    for (let attempt = 0; ; attempt++) {
      const b = PersistedBroker.spawn(opts);
      try {
        await b.waitListening(opts.startTimeoutMs);
        return b;
      } catch (err) {
        await b.kill();
        if (attempt < portRetries && /EADDRINUSE|address already in use/i.test(b.stderr)) continue;
        throw err;
      }
    }
  }

  private static spawn(opts: PersistedBrokerOptions): PersistedBroker {
    const args = [
      CLI, 'broker',
      '--host', '127.0.0.1',
      '--port', String(opts.port),
      '--persist', opts.dir,
      '--persistence-fsync', opts.fsync,
      '--log-format', 'json',
      '--log-level', 'info',
      ...(opts.extraArgs ?? []),
    ];
    // The developer's own BROKER_* settings must not change what the test runs.
    const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('BROKER_')));
    return new PersistedBroker(spawn(process.execPath, args, { env, stdio: ['ignore', 'pipe', 'pipe'] }));
  }

  private waitListening(timeoutMs: number): Promise<void> {
    return new Promise((resolve, reject) => {
      const listening = (): boolean => this.lines.some((l) => l.msg === 'broker listening');
      const done = (err?: Error): void => {
        clearTimeout(timer);
        this.child.stderr.off('data', onData);
        this.child.off('exit', onExit);
        if (err) reject(err);
        else resolve();
      };
      const timer = setTimeout(() => done(new Error(`broker ${this.pid}: not listening after ${timeoutMs} ms\n${this.text}`)), timeoutMs);
      // After readline has handed out the lines of this chunk.
      const onData = (): void => {
        setImmediate(() => {
          if (listening()) done();
        });
      };
      const onExit = (): void => {
        // The last lines may still be in readline: look once they are out.
        setImmediate(() => done(listening() ? undefined : new Error(`broker ${this.pid} exited before listening\n${this.text}`)));
      };
      this.child.stderr.on('data', onData);
      this.child.on('exit', onExit);
      if (listening()) done();
    });
  }

  /**
   * SIGKILL (TerminateProcess on Windows): no handler runs, nothing is flushed or
   * closed by the broker. Resolves once the process has exited, so the next broker can
   * take the directory's lock and the port.
   */
  async kill(): Promise<void> {
    if (this.isExited) return;
    this.child.kill('SIGKILL');
    await this.exited;
  }
}

/** The ports the OS hands out for bind(0) and outgoing connections: Linux's setting, else Windows' default. */
function ephemeralRange(): [number, number] {
  try {
    const [lo, hi] = readFileSync('/proc/sys/net/ipv4/ip_local_port_range', 'utf8').trim().split(/\s+/).map(Number);
    if (Number.isInteger(lo) && Number.isInteger(hi)) return [lo!, hi!];
  } catch {
    // Not Linux.
  }
  return [49_152, 65_535];
}

function canListen(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = net.createServer();
    server.once('error', () => resolve(false));
    server.listen(port, '127.0.0.1', () => server.close(() => resolve(true)));
  });
}

/**
 * A free loopback port OUTSIDE the OS's ephemeral range. A crash test leaves its port
 * unbound between a kill and the next start, many times over; the ports other tests get
 * from `freePort()` (bind to port 0) and the local ends of outgoing connections all come
 * from the ephemeral range, so none of them can take this one meanwhile.
 */
export async function portOutsideEphemeralRange(): Promise<number> {
  const [lo, hi] = ephemeralRange();
  for (let tries = 0; tries < 100; tries++) {
    const port = randomInt(20_000, 30_000);
    if ((port < lo || port > hi) && (await canListen(port))) return port;
  }
  throw new Error(`no free port in 20000-29999 outside the ephemeral range ${lo}-${hi}`);
}
