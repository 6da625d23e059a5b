/**
 * `bridge.config.json`: the broker's options (under `broker`), the interpreter, the
 * scripts `bridge up` supervises, the folders `scripts.run` may start scripts from, and
 * (later) queue files. Paths are relative to the config file's folder.
 */
import path from 'node:path';
import { parseConfigObject, readJsonConfigFile, type BrokerConfig } from '../src/broker/index.js';
import { isKnownEncoding } from '../src/protocol/text.js';
import { CliError } from './cli-error.js';
import type { QueueEntry } from './queues.js';
import { DEFAULT_RESTART, RESTART_MODES, type RestartMode, type RestartOptions } from './supervisor/restart-policy.js';

export interface ScriptEntry {
  key: string;
  path: string;
  args: string[];
  restart: RestartOptions;
  encoding: string;
  interpreter?: string;
  stopGrace: number;
  /** Seconds commands wait for the script's `@ready`. */
  readyTimeout?: number;
}

export interface BridgeConfig {
  broker: Partial<BrokerConfig>;
  /** Restart defaults for every script (each entry may override them). */
  restart: RestartOptions;
  interpreter?: string;
  scripts: ScriptEntry[];
  /** Folders `scripts.run` may start scripts from (absolute). */
  scriptFolders: string[];
  /** Legacy FileAppend queue files to publish. */
  queues: QueueEntry[];
  /** Where the file was, for messages. */
  source: string;
}

/** Script keys become topic levels: keep them to characters every client can type. */
export const SCRIPT_KEY = /^[A-Za-z0-9_-]{1,64}$/;
export const DEFAULT_STOP_GRACE = 3;

type Json = Record<string, unknown>;

/** Top-level keys of bridge.config.json; anything else is a typo worth an error. */
const TOP_LEVEL_KEYS = ['broker', 'interpreter', 'restart', 'scripts', 'script_folders', 'queues'];

function fail(source: string, msg: string): never {
  throw new CliError(`${source}: ${msg}`);
}

function str(obj: Json, key: string, source: string): string | undefined {
  const v = obj[key];
  if (v === undefined || v === null) return undefined;
  if (typeof v !== 'string' || v === '') fail(source, `${key} must be a non-empty string`);
  return v;
}

/**
 * Restart options from a mode name, or an object with `mode` and limits in seconds
 * (`initial_delay`, `max_delay`, `max_restarts`, `window`, `stable_after`), over `base`.
 */
export function parseRestart(value: unknown, source: string, base: RestartOptions = DEFAULT_RESTART): RestartOptions {
  if (value === undefined || value === null) return { ...base };
  if (typeof value === 'string') {
    if (!RESTART_MODES.includes(value as RestartMode)) fail(source, `restart must be one of ${RESTART_MODES.join(', ')}`);
    return { ...base, mode: value as RestartMode };
  }
  if (typeof value !== 'object' || Array.isArray(value)) fail(source, 'restart must be a mode name or an object');
  const o = value as Json;
  const out: RestartOptions = { ...base };
  if (o.mode !== undefined) out.mode = parseRestart(o.mode, source).mode;
  const num = (key: string, field: keyof RestartOptions, scale: number): void => {
    if (o[key] === undefined) return;
    const n = o[key];
    if (typeof n !== 'number' || !(n >= 0)) fail(source, `restart.${key} must be a non-negative number`);
    (out as unknown as Record<string, number>)[field] = n * scale;
  };
  num('initial_delay', 'initialDelayMs', 1000);
  num('max_delay', 'maxDelayMs', 1000);
  num('max_restarts', 'maxRestarts', 1);
  num('window', 'windowMs', 1000);
  num('stable_after', 'stableAfterMs', 1000);
  return out;
}

function parseScript(raw: unknown, i: number, base: string, source: string, restartDefaults: RestartOptions): ScriptEntry {
  const where = `${source}: scripts[${i}]`;
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) fail(where, 'must be an object');
  const o = raw as Json;
  const scriptPath = str(o, 'path', where) ?? fail(where, 'path is required');
  const key = str(o, 'key', where) ?? path.basename(scriptPath, path.extname(scriptPath));
  if (!SCRIPT_KEY.test(key)) fail(where, `key "${key}" must be 1-64 of A-Z a-z 0-9 _ -`);
  const args = o.args ?? [];
  if (!Array.isArray(args) || args.some((a) => typeof a !== 'string')) fail(where, 'args must be an array of strings');
  const encoding = str(o, 'encoding', where) ?? 'utf-8';
  if (!isKnownEncoding(encoding)) fail(where, `unknown encoding "${encoding}"`);
  const interpreter = str(o, 'interpreter', where);
  const grace = o.stop_grace ?? DEFAULT_STOP_GRACE;
  if (typeof grace !== 'number' || !(grace > 0)) fail(where, 'stop_grace must be a positive number of seconds');
  const ready = o.ready_timeout;
  if (ready !== undefined && (typeof ready !== 'number' || !(ready > 0))) fail(where, 'ready_timeout must be a positive number of seconds');
  return {
    key,
    path: path.resolve(base, scriptPath),
    args: args as string[],
    restart: parseRestart(o.restart, where, restartDefaults),
    encoding,
    interpreter: interpreter && path.resolve(base, interpreter),
    stopGrace: grace,
    ...(ready === undefined ? {} : { readyTimeout: ready as number }),
  };
}

function parseQueue(raw: unknown, i: number, base: string, source: string): QueueEntry {
  const where = `${source}: queues[${i}]`;
  if (typeof raw === 'string') return { file: path.resolve(base, raw), qos: 1 };
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) fail(where, 'must be a file path or an object with "file"');
  const o = raw as Json;
  const file = str(o, 'file', where) ?? fail(where, 'file is required');
  const encoding = str(o, 'encoding', where);
  if (encoding && !isKnownEncoding(encoding)) fail(where, `unknown encoding "${encoding}"`);
  const map = o.topic_map ?? {};
  if (typeof map !== 'object' || map === null || Array.isArray(map) || Object.values(map).some((v) => typeof v !== 'string')) {
    fail(where, 'topic_map must map legacy names to topics, e.g. {"JOB_ACTIVATED": "jobs.activated"}');
  }
  const flush = o.flush_timeout;
  if (flush !== undefined && (typeof flush !== 'number' || !(flush > 0))) fail(where, 'flush_timeout must be a positive number of seconds');
  const qos = o.qos ?? 1;
  if (qos !== 0 && qos !== 1) fail(where, 'qos must be 0 or 1');
  const positionFile = str(o, 'position_file', where);
  const deadLetterFile = str(o, 'dead_letter_file', where);
  return {
    file: path.resolve(base, file),
    encoding,
    prefix: str(o, 'prefix', where),
    topicMap: map as Record<string, string>,
    positionFile: positionFile && path.resolve(base, positionFile),
    deadLetterFile: deadLetterFile && path.resolve(base, deadLetterFile),
    flushTimeoutMs: flush === undefined ? undefined : (flush as number) * 1000,
    qos,
  };
}

/** Read and check a bridge config file. */
export function loadBridgeConfig(file: string): BridgeConfig {
  let obj: unknown;
  try {
    obj = readJsonConfigFile(file);
  } catch (err) {
    throw new CliError((err as Error).message);
  }
  if (typeof obj !== 'object' || obj === null || Array.isArray(obj)) fail(file, 'expected a JSON object');
  const o = obj as Json;
  // JSON has no comments: a top-level key starting with `_` is one (`bridge init` writes `_comment`).
  const unknown = Object.keys(o).filter((k) => !TOP_LEVEL_KEYS.includes(k) && !k.startsWith('_'));
  if (unknown.length > 0) fail(file, `unknown key${unknown.length > 1 ? 's' : ''} ${unknown.map((k) => `"${k}"`).join(', ')} (known: ${TOP_LEVEL_KEYS.join(', ')})`);
  const base = path.dirname(path.resolve(file));
  let broker: Partial<BrokerConfig> = {};
  try {
    broker = o.broker === undefined ? {} : parseConfigObject(o.broker, `${file}: broker`);
  } catch (err) {
    throw new CliError((err as Error).message);
  }
  const scripts = o.scripts ?? [];
  if (!Array.isArray(scripts)) fail(file, 'scripts must be an array');
  const restart = parseRestart(o.restart, `${file}: restart`);
  const entries = scripts.map((s, i) => parseScript(s, i, base, file, restart));
  const keys = new Set<string>();
  for (const e of entries) {
    if (keys.has(e.key)) fail(file, `two scripts use the key "${e.key}"; keys must be unique`);
    keys.add(e.key);
  }
  const folders = o.script_folders ?? [];
  if (!Array.isArray(folders) || folders.some((f) => typeof f !== 'string')) fail(file, 'script_folders must be an array of folder paths');
  const interpreter = str(o, 'interpreter', file);
  const queues = o.queues ?? [];
  if (!Array.isArray(queues)) fail(file, 'queues must be an array');
  return {
    queues: queues.map((q, i) => parseQueue(q, i, base, file)),
    broker,
    restart,
    interpreter: interpreter && path.resolve(base, interpreter),
    scripts: entries,
    scriptFolders: (folders as string[]).map((f) => path.resolve(base, f)),
    source: file,
  };
}
