/**
 * The scripts one bridge supervises, by key, and the broker requests that control them:
 * `scripts.status`, `scripts.list`, `scripts.<key>.start|stop|restart|logs`, `scripts.run`,
 * `bridge.scripts.query`, and the command topics `scripts.<key>.command[.<name>]` that go
 * to a script's stdin.
 */
import { realpathSync } from 'node:fs';
import path from 'node:path';
import type { BrokerClient, Message } from '../src/client/index.js';
import type { Logger } from '../src/log/logger.js';
import type { BrokerLink } from './broker-link.js';
import { DEFAULT_STOP_GRACE, SCRIPT_KEY, scriptFileProblem, type ScriptEntry } from './bridge-config.js';
import { DEFAULT_RESTART } from './supervisor/restart-policy.js';
import { findInterpreter, interpreterCommand, type GivenInterpreters, type InterpreterChoice } from './supervisor/interpreter.js';
import { ScriptSupervisor, type ScriptSpec, type ScriptStatus } from './supervisor/script-supervisor.js';
import { DEFAULT_LOG_LINES } from './supervisor/output-ring.js';
import { invalidParams } from '../src/protocol/jsonrpc.js';
import { ErrorCode, RpcError } from '../src/protocol/errors.js';
import { isReservedTopic, topicError } from '../src/protocol/topics.js';
import type { Clock } from '../src/protocol/clock.js';
import { STARTUP_SETTLE_MS, startupSettled } from './startup-settle.js';

/**
 * The topic on which the bridge that supervises `key` answers "mine". Several bridges can
 * share one broker; a request about a key a bridge does not have is only answered "no such
 * script" once no bridge answers here (-32005 from the broker, at once), so the owner's
 * answer never races a stranger's.
 */
export function ownerTopic(key: string): string {
  return `bridge.owner.${key}`;
}

/**
 * Answered by every bridge that takes `scripts.run` (one with script_folders), so a
 * program that needs one (Python's AHKBridge) can tell whether to start it: -32005 means
 * none is there.
 */
export const RUN_HOST_TOPIC = 'bridge.run_host';

/** `scripts.<key>.logs`: the script's output ring, answered by the bridge that supervises it. */
export function logsTopic(key: string): string {
  return `scripts.${key}.logs`;
}

/** A logs reply stays well under the broker's default 1 MiB message limit. */
const MAX_LOGS_REPLY_BYTES = 512 * 1024;

/**
 * Published to by `bridge ps` with `{reply_topic}`; every bridge publishes a
 * {@link ScriptsAnswer} there.
 */
export const SCRIPTS_QUERY_TOPIC = 'bridge.scripts.query';

/** One bridge's answer to {@link SCRIPTS_QUERY_TOPIC}. */
export interface ScriptsAnswer {
  /** The bridge's client id (`bridge`, `bridge.<key>`). */
  bridge: string;
  pid: number;
  scripts: ScriptStatus[];
}

/** How long the owner question may take before the key counts as nobody's (a `#` subscriber that is not a bridge never answers). */
const OWNER_QUESTION_TIMEOUT_S = 2;

/**
 * The answer on {@link ownerTopic} of the bridge that supervises a key. Every field is
 * optional: an older bridge answers `true`, which still means "mine".
 */
export interface KeyHolder {
  /** That bridge's client id. */
  bridge?: string;
  pid?: number;
  /** The script it supervises under the key. */
  script?: string;
}

function holderFrom(answer: unknown): KeyHolder {
  const o = asObject(answer);
  return {
    ...(typeof o.bridge === 'string' ? { bridge: o.bridge } : {}),
    ...(typeof o.pid === 'number' ? { pid: o.pid } : {}),
    ...(typeof o.script === 'string' ? { script: o.script } : {}),
  };
}

/** "bridge bridge.cad (pid 42, C:/scripts/cad.ahk)", or "another bridge" when it did not say. */
export function describeHolder(holder: KeyHolder): string {
  const details = [holder.pid === undefined ? undefined : `pid ${holder.pid}`, holder.script].filter((d): d is string => d !== undefined);
  const who = holder.bridge === undefined ? 'another bridge' : `bridge ${holder.bridge}`;
  return details.length > 0 ? `${who} (${details.join(', ')})` : who;
}

/** Another bridge on this broker already supervises the key (`code` is `key_taken`). */
export class KeyTakenError extends Error {
  override name = 'KeyTakenError';
  readonly code = 'key_taken';

  constructor(
    readonly key: string,
    readonly holder: KeyHolder,
  ) {
    super(`key ${key} is already supervised by ${describeHolder(holder)} on this broker`);
  }
}

/**
 * Which bridge on the broker `client` is connected to supervises `key`: its answer, or
 * null when nobody answers (-32005). Other failures (a timeout, a refused permission) throw.
 */
export async function askOwner(client: BrokerClient, key: string): Promise<KeyHolder | null> {
  try {
    return holderFrom(await client.request(ownerTopic(key), null, { timeout: OWNER_QUESTION_TIMEOUT_S }));
  } catch (err) {
    if (err instanceof RpcError && err.code === ErrorCode.NO_RESPONDERS) return null;
    throw err;
  }
}

/**
 * The interpreter a script will be started with: the same search the supervisor makes at
 * every start, so `bridge run` and `bridge up` can refuse before starting anything.
 * @throws InterpreterNotFoundError
 */
export function interpreterFor(entry: Pick<ScriptEntry, 'path' | 'interpreter'>, given: GivenInterpreters): Promise<InterpreterChoice> {
  return findInterpreter({ ...given, own: entry.interpreter, scriptPath: entry.path });
}

export interface RegistryOptions {
  link: BrokerLink;
  log: Logger;
  /** Interpreters from `--ahk` and the config file (a script's own is in its entry). */
  interpreter?: GivenInterpreters;
  /** Folders `scripts.run` may start scripts from; empty = `scripts.run` refused. */
  scriptFolders: string[];
  /** Time source for the supervisors' restart delays and timeouts (tests pass a manual one). */
  clock?: Clock;
}

function asObject(payload: unknown): Record<string, unknown> {
  return typeof payload === 'object' && payload !== null && !Array.isArray(payload) ? (payload as Record<string, unknown>) : {};
}

/**
 * True when `file` is inside one of `folders` (after resolving links and `..`); with
 * `orEqual`, also when it is one of them.
 */
export function isInsideFolders(file: string, folders: string[], opts: { orEqual?: boolean } = {}): boolean {
  let real: string;
  try {
    real = realpathSync(file);
  } catch {
    return false;
  }
  return folders.some((folder) => {
    let root: string;
    try {
      root = realpathSync(folder);
    } catch {
      return false;
    }
    const rel = path.relative(root, real);
    if (rel === '') return opts.orEqual === true;
    return !rel.startsWith('..') && !path.isAbsolute(rel);
  });
}

export class ScriptRegistry {
  private readonly scripts = new Map<string, ScriptSupervisor>();

  constructor(private readonly opts: RegistryOptions) {}

  get(key: string): ScriptSupervisor | undefined {
    return this.scripts.get(key);
  }

  list(): ScriptStatus[] {
    return [...this.scripts.values()].map((s) => s.status());
  }

  /**
   * Add a script (not started) and subscribe to its command topics, after asking the other
   * bridges on the broker whether one of them supervises the key.
   * @throws KeyTakenError when one does
   */
  async add(entry: ScriptEntry): Promise<ScriptSupervisor> {
    await this.checkKeyFree(entry.key);
    return this.addChecked(entry);
  }

  /** {@link add} for several scripts: the questions go out together, the scripts are added in order. */
  async addAll(entries: ScriptEntry[]): Promise<ScriptSupervisor[]> {
    await Promise.all(entries.map((e) => this.checkKeyFree(e.key)));
    const added: ScriptSupervisor[] = [];
    for (const entry of entries) added.push(await this.addChecked(entry));
    return added;
  }

  private async checkKeyFree(key: string): Promise<void> {
    let holder: KeyHolder | null;
    try {
      holder = await askOwner(this.opts.link.client, key);
    } catch (err) {
      this.opts.log.warning('could not ask the other bridges whether they supervise a script; supervising it here', { key, error: err as Error });
      return;
    }
    if (holder) throw new KeyTakenError(key, holder);
  }

  private async addChecked(entry: ScriptEntry): Promise<ScriptSupervisor> {
    if (this.scripts.has(entry.key)) throw new Error(`a script with key "${entry.key}" is already supervised`);
    const spec: ScriptSpec = {
      key: entry.key,
      path: entry.path,
      args: entry.args,
      restart: entry.restart,
      encoding: entry.encoding,
      stopGrace: entry.stopGrace,
      readyTimeout: entry.readyTimeout,
    };
    const log = this.opts.log.child(`script:${entry.key}`);
    const supervisor = new ScriptSupervisor(spec, {
      publish: (topic, payload) => this.opts.link.publish(topic, payload),
      flow: this.opts.link,
      log,
      clock: this.opts.clock,
      command: async (s) => {
        const choice = await interpreterFor({ path: s.path, interpreter: entry.interpreter }, this.opts.interpreter ?? {});
        return interpreterCommand(choice, s.path, s.args);
      },
    });
    this.scripts.set(entry.key, supervisor);
    await this.opts.link.subscribe([`scripts.${entry.key}.command.#`], (msg) => this.onCommand(supervisor, msg));
    const holder: KeyHolder = { bridge: this.opts.link.client.clientId, pid: process.pid, script: entry.path };
    await this.opts.link.subscribe([ownerTopic(entry.key)], () => holder);
    await this.serveLogs(supervisor);
    return supervisor;
  }

  /**
   * Whether another bridge on this broker supervises `key`. Only asked for keys this
   * bridge does not have; errors other than "nobody answers" are logged and count as no.
   */
  private async ownedElsewhere(key: string): Promise<boolean> {
    try {
      return (await askOwner(this.opts.link.client, key)) !== null;
    } catch (err) {
      this.opts.log.warning('could not ask the other bridges whether they supervise a script; answering as if none did', { key, error: err as Error });
      return false;
    }
  }

  private onCommand(supervisor: ScriptSupervisor, msg: Message): Promise<unknown> | undefined {
    const prefix = `scripts.${supervisor.spec.key}.command`;
    // No check of the sender here: every script of this bridge publishes as the bridge, and
    // scripts command each other. A script's publish on its own command topic, which would
    // loop, is refused where it prints it (line-protocol.ts).
    const payload = msg.payload;
    let name = msg.topic.slice(prefix.length + 1);
    if (msg.topic === prefix) {
      const n = asObject(payload).name;
      name = typeof n === 'string' ? n : 'command';
    }
    const expectReply = msg.replyTo !== undefined;
    const sent = supervisor.command(name, payload, expectReply);
    if (expectReply) return sent;
    sent.catch((err: unknown) => this.opts.log.warning('command not delivered to the script', { key: supervisor.spec.key, name, error: err as Error }));
    return undefined;
  }

  /** Answer `scripts.<key>.logs` {lines?} with the newest entries of the script's output ring. */
  private async serveLogs(supervisor: ScriptSupervisor): Promise<void> {
    await this.opts.link.subscribe([logsTopic(supervisor.spec.key)], (msg) => {
      if (!msg.replyTo) return undefined;
      const lines = asObject(msg.payload).lines ?? DEFAULT_LOG_LINES;
      if (typeof lines !== 'number' || !Number.isInteger(lines) || lines < 1) throw invalidParams('lines must be a positive whole number', { lines });
      const tail = supervisor.output.tail(Math.min(lines, supervisor.output.limits.lines), MAX_LOGS_REPLY_BYTES);
      return { key: supervisor.spec.key, ...tail };
    });
  }

  /** This bridge's answer to `bridge.scripts.query`: who it is and what it supervises. */
  private scriptsAnswer(): ScriptsAnswer {
    return { bridge: this.opts.link.client.clientId, pid: process.pid, scripts: this.list() };
  }

  /** Subscribe to the control requests. */
  async serveControl(): Promise<void> {
    const { link } = this.opts;
    // Every bridge answers, on the asker's own topic: `bridge ps` gathers one answer per
    // bridge, which a request (first answer wins) could not.
    await link.subscribe([SCRIPTS_QUERY_TOPIC], (msg) => {
      const replyTopic = asObject(msg.payload).reply_topic;
      if (typeof replyTopic !== 'string' || topicError(replyTopic) !== null || isReservedTopic(replyTopic)) {
        this.opts.log.warning('ignored a scripts query without a usable reply_topic', { sender: msg.sender, reply_topic: replyTopic });
        return undefined;
      }
      link.publish(replyTopic, this.scriptsAnswer());
      return undefined;
    });
    await link.subscribe(['scripts.status'], async (msg) => {
      const id = asObject(msg.payload).script_id;
      const s = typeof id === 'string' ? this.scripts.get(id) : undefined;
      if (s) return s.status();
      if (!msg.replyTo) return undefined;
      if (typeof id === 'string' && SCRIPT_KEY.test(id) && (await this.ownedElsewhere(id))) return undefined; // its bridge answers
      return { script_id: id ?? null, running: false, known: false };
    });
    await link.subscribe(['scripts.list'], () => ({ scripts: this.list() }));
    await link.subscribe(['scripts.+.start', 'scripts.+.stop', 'scripts.+.restart'], async (msg) => {
      const [, key = '', op] = msg.topic.split('.');
      const s = this.scripts.get(key);
      if (!s) {
        if (!msg.replyTo || (await this.ownedElsewhere(key))) return undefined; // its bridge answers
        throw invalidParams(`no bridge supervises a script with key "${key}"`, { key, reason: 'unknown_script' });
      }
      this.opts.log.info('control request', { key, op, sender: msg.sender });
      return op === 'stop' ? s.stop() : this.startSettled(s, op === 'start' ? 'start' : 'restart');
    });
    // Only a bridge that may run scripts takes scripts.run: a refusal from one without
    // script_folders would otherwise race the answer of one that has them.
    if (this.opts.scriptFolders.length > 0) {
      await link.subscribe(['scripts.run'], (msg) => this.run(msg));
      await link.subscribe([RUN_HOST_TOPIC], () => ({ script_folders: this.opts.scriptFolders.length }));
    }
  }

  /**
   * A start or restart on request, answered once it has settled as `bridge up` waits
   * before its table (startup-settle.ts): right after the spawn every script is running,
   * including one that fails to load a moment later, which the asker would report as
   * started.
   */
  private async startSettled(s: ScriptSupervisor, op: 'start' | 'restart'): Promise<ScriptStatus> {
    const before = s.status();
    const starting = op === 'start' ? s.start() : s.restart();
    // Listening at once misses no @ready: the start emits nothing before its first await.
    // The period counts from the spawn (when `starting` is done), not from before the
    // stop or the process listing that come first.
    const settled = startupSettled([s], this.opts.clock, STARTUP_SETTLE_MS, starting);
    const after = await starting;
    // Already running: the start changed nothing, so there is nothing to wait for.
    if (op === 'start' && before.running && after.pid === before.pid) return after;
    await settled;
    return s.status();
  }

  /**
   * `scripts.run` {script_path, program_key, args?}: the seed's `run_script`. Answered once
   * the start has settled, as a start on request is: a script that fails to load is
   * answered as not running, with its exit, not as started.
   */
  private async run(msg: Message): Promise<ScriptStatus> {
    const p = asObject(msg.payload);
    const scriptPath = p.script_path;
    const key = p.program_key;
    // Bad requests are -32602 for the requester (a plain Error would reach it as -32603).
    if (typeof scriptPath !== 'string' || typeof key !== 'string') throw invalidParams('scripts.run needs script_path and program_key (strings)');
    if (!SCRIPT_KEY.test(key)) throw invalidParams(`program_key "${key}" must be 1-64 of A-Z a-z 0-9 _ -`, { program_key: key });
    if (!isInsideFolders(scriptPath, this.opts.scriptFolders)) {
      // A missing file in an allowed folder is a typo or a renamed script, not a refusal.
      const problem = scriptFileProblem(path.resolve(scriptPath));
      if (problem && isInsideFolders(path.dirname(path.resolve(scriptPath)), this.opts.scriptFolders, { orEqual: true })) {
        throw invalidParams(problem, { reason: 'not_found', script_path: scriptPath });
      }
      throw invalidParams(`not allowed: ${scriptPath} is not inside the configured script_folders`, { reason: 'outside_script_folders' });
    }
    const args = Array.isArray(p.args) ? p.args.filter((a): a is string => typeof a === 'string') : [];
    const existing = this.scripts.get(key);
    if (existing) {
      if (path.resolve(existing.spec.path) !== path.resolve(scriptPath)) {
        throw invalidParams(`program_key "${key}" already runs ${existing.spec.path}; choose another key`, { program_key: key });
      }
      return this.startSettled(existing, 'start');
    }
    let supervisor: ScriptSupervisor;
    try {
      supervisor = await this.add({ key, path: path.resolve(scriptPath), args, restart: { ...DEFAULT_RESTART }, encoding: 'utf-8', stopGrace: DEFAULT_STOP_GRACE });
    } catch (err) {
      if (!(err instanceof KeyTakenError)) throw err;
      throw invalidParams(`${err.message}; choose another program_key`, { program_key: key, reason: err.code, holder: err.holder });
    }
    this.opts.log.info('scripts.run', { key, script: scriptPath, sender: msg.sender });
    return this.startSettled(supervisor, 'start');
  }

  /** Stop every script (in parallel). */
  async stopAll(): Promise<void> {
    await Promise.all([...this.scripts.values()].map((s) => s.stop()));
  }
}
