/**
 * The upstream engine of the federation scenarios, as its own process on a free port of
 * 127.0.0.1: Debian's nats-server, or Debian's mosquitto with a config of its own in a
 * temp folder (`NATS_SERVER` / `MOSQUITTO` override the paths). Ready once its log says
 * so; stopped by its PID only; the temp folder is removed after.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir, userInfo } from 'node:os';
import path from 'node:path';
import { freePort } from './broker-process.js';
import { HOST } from './client.js';
import { terminate, track } from './processes.js';
import { cpuSeconds } from './proc-stats.js';

const READY_TIMEOUT_MS = 15_000;
const STOP_GRACE_MS = 3000;
const NATS_SERVER = process.env.NATS_SERVER ?? '/usr/sbin/nats-server';
const MOSQUITTO = process.env.MOSQUITTO ?? '/usr/sbin/mosquitto';

export type Engine = 'nats' | 'mqtt';

export interface UpstreamProcess {
  readonly engine: Engine;
  readonly pid: number;
  /** What `--upstream` takes. */
  readonly url: string;
  /** CPU seconds so far (null without /proc). */
  cpuSeconds(): number | null;
  stop(): Promise<void>;
}

interface Launch {
  binary: string;
  args: string[];
  url: string;
  /** The log line that says it accepts clients. */
  ready: RegExp;
  /** apt package, for the error when the binary is missing. */
  pkg: string;
  dir: string | null;
}

async function launchOf(engine: Engine): Promise<Launch> {
  const port = await freePort();
  if (engine === 'nats') {
    return { binary: NATS_SERVER, args: ['-a', HOST, '-p', String(port)], url: `nats://${HOST}:${port}`, ready: /Server is ready/, pkg: 'nats-server', dir: null };
  }
  // Mosquitto 2 listens on a given port only through a config file; anonymous on loopback.
  const dir = mkdtempSync(path.join(tmpdir(), 'ahk-bench-mosquitto-'));
  const conf = path.join(dir, 'mosquitto.conf');
  writeFileSync(conf, [`listener ${port} ${HOST}`, 'allow_anonymous true', `user ${userInfo().username}`, 'log_dest stderr', 'log_type notice', 'log_type information', ''].join('\n'));
  return { binary: MOSQUITTO, args: ['-c', conf], url: `mqtt://${HOST}:${port}`, ready: /mosquitto version \S+ running/, pkg: 'mosquitto', dir };
}

export async function startUpstream(engine: Engine): Promise<UpstreamProcess> {
  const launch = await launchOf(engine);
  const child = spawn(launch.binary, launch.args, { stdio: ['ignore', 'ignore', 'pipe'] });
  track(child);
  const name = path.basename(launch.binary);
  const upstream: UpstreamProcess = {
    engine,
    pid: child.pid ?? -1,
    url: launch.url,
    cpuSeconds: () => (child.pid === undefined ? null : cpuSeconds(child.pid)),
    stop: async () => {
      await terminate(child, STOP_GRACE_MS);
      if (launch.dir !== null) rmSync(launch.dir, { recursive: true, force: true });
    },
  };
  let log = '';
  try {
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`${name} not ready after ${READY_TIMEOUT_MS} ms: ${log}`)), READY_TIMEOUT_MS);
      child.once('error', (err) => {
        clearTimeout(timer);
        reject(new Error(`cannot start ${launch.binary} (apt-get install ${launch.pkg}): ${err.message}`));
      });
      child.once('exit', (code) => {
        clearTimeout(timer);
        reject(new Error(`${name} exited (${code}) before it was ready: ${log}`));
      });
      child.stderr?.setEncoding('utf8').on('data', (text: string) => {
        log = (log + text).slice(-4000);
        if (launch.ready.test(log)) {
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
