/**
 * Starts our broker as its own process through the real CLI, exactly as users run it
 * (`node dist/bridge/cli.js broker ...`), on a free port of 127.0.0.1, and stops it again.
 * A fresh broker per run keeps sessions, peak RSS and CPU time from leaking between runs.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import net from 'node:net';
import { HOST } from './client.js';
import { terminate, track } from './processes.js';

const START_TIMEOUT_MS = 15_000;
const STOP_GRACE_MS = 3000;
/** Lines of broker stderr kept for error messages. */
const LOG_TAIL_LINES = 20;

export interface BrokerProcess {
  readonly pid: number;
  readonly port: number;
  alive(): boolean;
  /** The last lines the broker wrote (warnings and errors only, at --log-level warning). */
  logTail(): string;
  stop(): Promise<void>;
}

/** A port that was free on 127.0.0.1 a moment ago. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.once('error', reject);
    srv.listen(0, HOST, () => {
      const { port } = srv.address() as net.AddressInfo;
      srv.close(() => resolve(port));
    });
  });
}

function accepts(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = net.connect({ host: HOST, port });
    const done = (ok: boolean): void => {
      s.destroy();
      resolve(ok);
    };
    s.once('connect', () => done(true));
    s.once('error', () => done(false));
    s.setTimeout(1000, () => done(false));
  });
}

async function waitListening(port: number, child: ChildProcess): Promise<void> {
  const deadline = Date.now() + START_TIMEOUT_MS;
  while (Date.now() < deadline) {
    if (child.exitCode !== null || child.signalCode !== null) throw new Error(`broker exited (${child.exitCode ?? child.signalCode}) before listening`);
    if (await accepts(port)) return;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`broker not listening on ${HOST}:${port} after ${START_TIMEOUT_MS} ms`);
}

export interface BrokerOptions {
  cliPath: string;
  /** Per-subscriber outbound queue bound: large enough that the bench's window never drops. */
  maxQueueSize: number;
  /** More broker flags (the QoS 1 persisted scenarios: `--persist DIR --persistence-fsync P`). */
  extraArgs?: readonly string[];
}

export async function startBroker(opts: BrokerOptions): Promise<BrokerProcess> {
  const port = await freePort();
  const args = [opts.cliPath, 'broker', '--host', HOST, '--port', String(port), '--log-level', 'warning', '--max-queue-size', String(opts.maxQueueSize), ...(opts.extraArgs ?? [])];
  const child = spawn(process.execPath, args, { stdio: ['ignore', 'ignore', 'pipe'] });
  track(child);
  const tail: string[] = [];
  child.stderr?.setEncoding('utf8').on('data', (text: string) => {
    for (const line of text.split('\n')) if (line.trim()) tail.push(line);
    tail.splice(0, Math.max(0, tail.length - LOG_TAIL_LINES));
  });
  const broker: BrokerProcess = {
    pid: child.pid ?? -1,
    port,
    alive: () => child.exitCode === null && child.signalCode === null,
    logTail: () => tail.join('\n'),
    stop: () => terminate(child, STOP_GRACE_MS),
  };
  try {
    await waitListening(port, child);
  } catch (err) {
    await broker.stop();
    const log = broker.logTail();
    throw new Error(`${(err as Error).message}${log ? `\n${log}` : ''}`);
  }
  return broker;
}
