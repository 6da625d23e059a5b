/**
 * The upstream engine of the federation scenarios, as its own process on a free port of
 * 127.0.0.1: Debian's nats-server (`NATS_SERVER` overrides the path). Ready once it says
 * so; stopped by its PID only.
 */
import { spawn } from 'node:child_process';
import { freePort } from './broker-process.js';
import { HOST } from './client.js';
import { terminate, track } from './processes.js';
import { cpuSeconds } from './proc-stats.js';

const READY_TIMEOUT_MS = 15_000;
const STOP_GRACE_MS = 3000;
const NATS_SERVER = process.env.NATS_SERVER ?? '/usr/sbin/nats-server';

export interface UpstreamProcess {
  readonly engine: 'nats';
  readonly pid: number;
  /** What `--upstream` takes. */
  readonly url: string;
  /** CPU seconds so far (null without /proc). */
  cpuSeconds(): number | null;
  stop(): Promise<void>;
}

export async function startUpstream(engine: 'nats'): Promise<UpstreamProcess> {
  const port = await freePort();
  const child = spawn(NATS_SERVER, ['-a', HOST, '-p', String(port)], { stdio: ['ignore', 'ignore', 'pipe'] });
  track(child);
  const upstream: UpstreamProcess = {
    engine,
    pid: child.pid ?? -1,
    url: `nats://${HOST}:${port}`,
    cpuSeconds: () => (child.pid === undefined ? null : cpuSeconds(child.pid)),
    stop: () => terminate(child, STOP_GRACE_MS),
  };
  let log = '';
  try {
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`nats-server not ready after ${READY_TIMEOUT_MS} ms: ${log}`)), READY_TIMEOUT_MS);
      child.once('error', (err) => {
        clearTimeout(timer);
        reject(new Error(`cannot start ${NATS_SERVER} (apt-get install nats-server): ${err.message}`));
      });
      child.once('exit', (code) => {
        clearTimeout(timer);
        reject(new Error(`nats-server exited (${code}) before it was ready: ${log}`));
      });
      child.stderr?.setEncoding('utf8').on('data', (text: string) => {
        log = (log + text).slice(-4000);
        if (log.includes('Server is ready')) {
          clearTimeout(timer);
          resolve();
        }
      });
    });
  } catch (err) {
    await upstream.stop();
    throw err;
  }
  return upstream;
}
