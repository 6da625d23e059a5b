/**
 * A real Mosquitto 2.0 for federation tests: its own config in a temp folder, loopback,
 * anonymous, optionally persistent; started again on the same port to test an upstream
 * restart, after a clean stop or a crash. Ready means its log said "running" (it prints
 * that once it listens).
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir, userInfo } from 'node:os';
import path from 'node:path';
import { afterEach } from 'vitest';
import { freePort } from './ports.js';

/** Debian's mosquitto (MOSQUITTO overrides). */
export const MOSQUITTO = process.env.MOSQUITTO ?? '/usr/sbin/mosquitto';
/** Its password file tool, from the same package. */
const MOSQUITTO_PASSWD = path.join(path.dirname(MOSQUITTO), '..', 'bin', 'mosquitto_passwd');

export interface MosquittoOptions {
  /**
   * Keep sessions and queued messages across a restart (`persistence true`). Mosquitto
   * writes them on a clean stop and every `autosave_interval` (30 min unless set): a
   * {@link Mosquitto.kill} loses what changed since.
   */
  persistence?: boolean;
  /** Refuse anonymous clients; these user names and passwords connect. */
  users?: Record<string, string>;
  /** TLS on the listener (then `url` is mqtts://). */
  tls?: { cert: string; key: string };
  /** `max_packet_size`: the largest packet it takes (announced in its CONNACK). */
  maxPacketSize?: number;
}

/**
 * A developer without mosquitto skips the MQTT federation tests; CI must have it
 * (.ci/run installs it), so there a missing binary fails instead of passing unseen.
 */
export const NO_MOSQUITTO = !existsSync(MOSQUITTO) && !process.env.CI;

const START_TIMEOUT_MS = 10_000;

export class Mosquitto {
  private child: ChildProcess | null = null;
  private exited: Promise<void> = Promise.resolve();
  /** Everything it logged, across restarts (for failure messages). */
  output = '';

  private constructor(
    readonly port: number,
    private readonly conf: string,
    readonly dir: string,
    private readonly tls = false,
  ) {}

  /** Write the config and start it on a free port. */
  static async start(opts: MosquittoOptions = {}): Promise<Mosquitto> {
    const dir = mkdtempSync(path.join(tmpdir(), 'ahk-mosquitto-'));
    const port = await freePort();
    const lines = [`listener ${port} 127.0.0.1`, ...(opts.tls ? [`certfile ${opts.tls.cert}`, `keyfile ${opts.tls.key}`] : []), 'log_dest stderr', 'log_type error', 'log_type warning', 'log_type notice', 'log_type information'];
    // Started as root, mosquitto switches to user "mosquitto", who cannot write the
    // persistence folder made here: stay the user who runs the tests.
    lines.push(`user ${userInfo().username}`);
    // Saved on a clean stop, and otherwise hourly (the default is 30 min): a test that kills
    // it knows what the snapshot it comes back from holds.
    if (opts.persistence) lines.push('persistence true', `persistence_location ${dir}/`, 'autosave_interval 3600');
    if (opts.maxPacketSize !== undefined) lines.push(`max_packet_size ${opts.maxPacketSize}`);
    if (opts.users) {
      const passwords = path.join(dir, 'passwords');
      writeFileSync(passwords, '');
      for (const [user, pass] of Object.entries(opts.users)) execFileSync(MOSQUITTO_PASSWD, ['-b', passwords, user, pass]);
      lines.push('allow_anonymous false', `password_file ${passwords}`);
    } else {
      lines.push('allow_anonymous true');
    }
    const conf = path.join(dir, 'mosquitto.conf');
    writeFileSync(conf, lines.join('\n') + '\n');
    const m = new Mosquitto(port, conf, dir, opts.tls !== undefined);
    await m.restart();
    return m;
  }

  get url(): string {
    return `${this.tls ? 'mqtts' : 'mqtt'}://127.0.0.1:${this.port}`;
  }

  get running(): boolean {
    return this.child !== null;
  }

  /** Start it (again, on the same port and with the same persistence folder); resolves once it listens. */
  async restart(): Promise<void> {
    if (this.child) throw new Error('mosquitto is already running');
    const child = spawn(MOSQUITTO, ['-c', this.conf], { stdio: ['ignore', 'pipe', 'pipe'] });
    this.child = child;
    this.exited = new Promise((resolve) =>
      child.once('exit', () => {
        if (this.child === child) this.child = null;
        resolve();
      }),
    );
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => fail(new Error(`mosquitto did not start within ${START_TIMEOUT_MS} ms:\n${this.output}`)), START_TIMEOUT_MS);
      const onData = (chunk: Buffer): void => {
        this.output += chunk.toString();
        if (/mosquitto version \S+ running/.test(this.output.slice(this.output.lastIndexOf('starting')))) done();
      };
      const onExit = (code: number | null): void => fail(new Error(`mosquitto exited (${code}) before it listened:\n${this.output}`));
      const onError = (err: Error): void => fail(err);
      const cleanup = (): void => {
        clearTimeout(timer);
        child.off('exit', onExit);
        child.off('error', onError);
      };
      const done = (): void => {
        cleanup();
        resolve();
      };
      const fail = (err: Error): void => {
        cleanup();
        reject(err);
      };
      child.stdout!.on('data', onData);
      child.stderr!.on('data', onData);
      child.once('exit', onExit);
      child.once('error', onError);
    });
  }

  /** SIGTERM (it saves its database when persistent) and wait until it has exited. */
  async stop(): Promise<void> {
    const child = this.child;
    if (!child) return;
    child.kill('SIGTERM');
    await this.exited;
  }

  /** SIGKILL, as a crash: a persistent one keeps only what it saved before. Waits until it has exited. */
  async kill(): Promise<void> {
    const child = this.child;
    if (!child) return;
    child.kill('SIGKILL');
    await this.exited;
  }

  /** Stop it and remove its folder. */
  async dispose(): Promise<void> {
    await this.stop();
    rmSync(this.dir, { recursive: true, force: true });
  }
}

/** Call at the top of a test file: `start()` makes a Mosquitto that is stopped after each test. */
export function useMosquitto(): { start(opts?: MosquittoOptions): Promise<Mosquitto> } {
  const started: Mosquitto[] = [];
  afterEach(async () => {
    await Promise.all(started.splice(0).map((m) => m.dispose()));
  });
  return {
    async start(opts) {
      const m = await Mosquitto.start(opts);
      started.push(m);
      return m;
    },
  };
}
