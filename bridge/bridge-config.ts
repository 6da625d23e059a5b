/**
 * `bridge.config.json`: the broker's options (under `broker`), the interpreter, the
 * scripts `bridge up` supervises, the folders `scripts.run` may start scripts from, and
 * (later) queue files. Paths are relative to the config file's folder.
 */
import { readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { CONFIG_KEYS, parseConfigObject, type BrokerConfig } from '../src/broker/config.js';
import { isTimerSeconds, MAX_TIMER_S } from '../src/protocol/long-timeout.js';
import { isKnownEncoding } from '../src/protocol/text.js';
import { CliError } from './cli-error.js';
import { repeatedName } from './json-duplicates.js';
import { excerpt, locateJsonError } from '../src/protocol/json-break.js';
import type { QueueEntry } from './queues.js';
import { DEFAULT_RESTART, MIN_RESTART_WINDOW_MS, RESTART_MODES, type RestartMode, type RestartOptions } from './supervisor/restart-policy.js';

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
/** Keys of one `scripts` entry and of one `queues` entry (the object form). */
const SCRIPT_KEYS = ['key', 'path', 'args', 'restart', 'encoding', 'interpreter', 'stop_grace', 'ready_timeout'];
const RESTART_KEYS = ['mode', 'initial_delay', 'max_delay', 'max_restarts', 'window', 'stable_after'];
const QUEUE_KEYS = ['file', 'encoding', 'prefix', 'topic_map', 'flush_timeout', 'qos', 'position_file', 'dead_letter_file'];

/** The config file does not exist (`code` is `config_not_found`); `bridge up` says how to make one. */
export class ConfigNotFoundError extends CliError {
  readonly code = 'config_not_found';

  constructor(readonly file: string) {
    super(`config file not found: ${file}; check the path given with --config, or create one with \`bridge init\``);
  }
}

function fail(source: string, msg: string): never {
  throw new CliError(`${source}: ${msg}`);
}

function refuseUnknownKeys(o: Json, known: string[], where: string, opts: { allowComments?: boolean; brokerHint?: boolean } = {}): void {
  const unknown = Object.keys(o).filter((k) => !known.includes(k) && !(opts.allowComments === true && k.startsWith('_')));
  if (unknown.length === 0) return;
  // `bridge broker --config` takes its options at the top level too, so people put them there.
  const brokerOptions = opts.brokerHint === true ? unknown.filter((k) => (CONFIG_KEYS as string[]).includes(k)) : [];
  if (brokerOptions.length > 0) {
    const names = brokerOptions.map((k) => `"${k}"`).join(', ');
    fail(where, `${names} ${brokerOptions.length > 1 ? 'are broker options' : 'is a broker option'}: put ${brokerOptions.length > 1 ? 'them' : 'it'} under "broker", e.g. {"broker": {"${brokerOptions[0]}": ...}, "scripts": [...]}`);
  }
  fail(where, `unknown key${unknown.length > 1 ? 's' : ''} ${unknown.map((k) => `"${k}"`).join(', ')} (known: ${known.join(', ')})`);
}

/**
 * A duration in seconds from the config, or undefined when absent: more than 0 (or 0
 * with `zero`) and at most MAX_TIMER_S, since each sets a timer and Node's timers fire at
 * once past it.
 */
function seconds(o: Json, key: string, where: string, opts: { zero?: boolean; name?: string } = {}): number | undefined {
  const n = o[key];
  if (n === undefined) return undefined;
  if (!isTimerSeconds(n, opts.zero)) {
    fail(where, `${opts.name ?? key} must be ${opts.zero === true ? 'zero or a positive' : 'a positive'} number of seconds, at most ${MAX_TIMER_S} (about 24 days)`);
  }
  return n;
}

/**
 * A path from the config, relative to its folder. A Windows absolute path
 * (`C:/Program Files/...`) stays as written on every host, so an example config written
 * for Windows does not turn into `<folder>/C:/...` elsewhere.
 */
function resolveFrom(base: string, p: string): string {
  if (process.platform !== 'win32' && (/^[A-Za-z]:[\\/]/.test(p) || /^\\\\/.test(p))) return p;
  return path.resolve(base, p);
}

/**
 * Why `file` cannot be run as a script, or undefined when it is a file: missing, a
 * folder, or unreadable. Checked before a bridge starts anything.
 */
export function scriptFileProblem(file: string): string | undefined {
  try {
    if (statSync(file).isDirectory()) return `${file} is a directory; give the .ahk file`;
    return undefined;
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ENOTDIR') return `script not found: ${file}`;
    return `cannot read script ${file}: ${(err as Error).message}`;
  }
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
  // A misspelt limit (max_restart) would leave the default in force without a word.
  refuseUnknownKeys(o, RESTART_KEYS, `${source}: restart`);
  const out: RestartOptions = { ...base };
  if (o.mode !== undefined) out.mode = parseRestart(o.mode, source).mode;
  const num = (key: string, field: keyof RestartOptions, scale: number): void => {
    if (o[key] === undefined) return;
    const n = o[key];
    if (typeof n !== 'number' || !(n >= 0)) fail(source, `restart.${key} must be a non-negative number`);
    (out as unknown as Record<string, number>)[field] = n * scale;
  };
  // The delays and stable_after set timers; window and max_restarts only count.
  const delay = (key: string, field: keyof RestartOptions): void => {
    const n = seconds(o, key, source, { zero: true, name: `restart.${key}` });
    if (n !== undefined) (out as unknown as Record<string, number>)[field] = n * 1000;
  };
  delay('initial_delay', 'initialDelayMs');
  delay('max_delay', 'maxDelayMs');
  num('max_restarts', 'maxRestarts', 1);
  num('window', 'windowMs', 1000);
  delay('stable_after', 'stableAfterMs');
  if (o.window !== undefined && out.windowMs < MIN_RESTART_WINDOW_MS) {
    fail(source, `restart.window must be at least ${MIN_RESTART_WINDOW_MS / 1000} second: max_restarts counts the restarts within it, and a shorter one lets a script that dies at once restart without end`);
  }
  return out;
}

function parseScript(raw: unknown, i: number, base: string, source: string, restartDefaults: RestartOptions): ScriptEntry {
  const where = `${source}: scripts[${i}]`;
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) fail(where, 'must be an object');
  const o = raw as Json;
  refuseUnknownKeys(o, SCRIPT_KEYS, where);
  const scriptPath = str(o, 'path', where) ?? fail(where, 'path is required');
  const key = str(o, 'key', where) ?? path.basename(scriptPath, path.extname(scriptPath));
  if (!SCRIPT_KEY.test(key)) fail(where, `key "${key}" must be 1-64 of A-Z a-z 0-9 _ -`);
  const args = o.args ?? [];
  if (!Array.isArray(args) || args.some((a) => typeof a !== 'string')) fail(where, 'args must be an array of strings');
  const encoding = str(o, 'encoding', where) ?? 'utf-8';
  if (!isKnownEncoding(encoding)) fail(where, `unknown encoding "${encoding}"`);
  const interpreter = str(o, 'interpreter', where);
  const grace = seconds(o, 'stop_grace', where) ?? DEFAULT_STOP_GRACE;
  const ready = seconds(o, 'ready_timeout', where);
  return {
    key,
    path: resolveFrom(base, scriptPath),
    args: args as string[],
    restart: parseRestart(o.restart, where, restartDefaults),
    encoding,
    interpreter: interpreter && resolveFrom(base, interpreter),
    stopGrace: grace,
    ...(ready === undefined ? {} : { readyTimeout: ready }),
  };
}

function parseQueue(raw: unknown, i: number, base: string, source: string): QueueEntry {
  const where = `${source}: queues[${i}]`;
  if (typeof raw === 'string') return { file: resolveFrom(base, raw), qos: 1 };
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) fail(where, 'must be a file path or an object with "file"');
  const o = raw as Json;
  refuseUnknownKeys(o, QUEUE_KEYS, where);
  const file = str(o, 'file', where) ?? fail(where, 'file is required');
  const encoding = str(o, 'encoding', where);
  if (encoding && !isKnownEncoding(encoding)) fail(where, `unknown encoding "${encoding}"`);
  const map = o.topic_map ?? {};
  if (typeof map !== 'object' || map === null || Array.isArray(map) || Object.values(map).some((v) => typeof v !== 'string')) {
    fail(where, 'topic_map must map legacy names to topics, e.g. {"JOB_ACTIVATED": "jobs.activated"}');
  }
  const flush = seconds(o, 'flush_timeout', where);
  const qos = o.qos ?? 1;
  if (qos !== 0 && qos !== 1) fail(where, 'qos must be 0 or 1');
  const positionFile = str(o, 'position_file', where);
  const deadLetterFile = str(o, 'dead_letter_file', where);
  return {
    file: resolveFrom(base, file),
    encoding,
    prefix: str(o, 'prefix', where),
    topicMap: map as Record<string, string>,
    positionFile: positionFile && resolveFrom(base, positionFile),
    deadLetterFile: deadLetterFile && resolveFrom(base, deadLetterFile),
    flushTimeoutMs: flush === undefined ? undefined : flush * 1000,
    qos,
  };
}

/**
 * A config file's text: UTF-8, with or without the BOM Windows editors add, or UTF-16 with
 * its BOM (Notepad's "Unicode"), which read as UTF-8 would be nothing but odd characters.
 */
function configText(bytes: Buffer): string {
  if (bytes[0] === 0xff && bytes[1] === 0xfe) return bytes.toString('utf16le', 2);
  if (bytes[0] === 0xfe && bytes[1] === 0xff) {
    // Big-endian: swapped in a copy of whole code units (a stray last byte cannot be one).
    const units = Buffer.from(bytes.subarray(2, bytes.length - (bytes.length % 2)));
    return units.swap16().toString('utf16le');
  }
  const text = bytes.toString('utf8');
  return text.charCodeAt(0) === 0xfeff ? text.slice(1) : text;
}

/**
 * The JSON in `file` (a BOM, which Windows editors add, is skipped).
 * @throws ConfigNotFoundError when there is no such file; CliError naming the line and
 *   column where the JSON breaks
 */
function readJson(file: string): unknown {
  let text: string;
  try {
    text = configText(readFileSync(file));
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ENOTDIR') throw new ConfigNotFoundError(path.resolve(file));
    throw new CliError(`cannot read config file ${file}: ${(err as Error).message}`);
  }
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (err) {
    const at = locateJsonError(text);
    if (!at) throw new CliError(`config file ${file} is not valid JSON: ${(err as Error).message}`);
    throw new CliError(`${file}:${at.line}:${at.column}: not valid JSON: ${at.reason}\n${excerpt(text, at)}`);
  }
  // JSON.parse keeps the last of a repeated name: the file would not say what runs.
  const twice = repeatedName(text);
  if (twice) throw new CliError(`${file}:${twice.line}:${twice.column}: ${twice.reason}: keep one\n${excerpt(text, twice)}`);
  return value;
}

/** Read and check a bridge config file. */
export function loadBridgeConfig(file: string): BridgeConfig {
  const obj = readJson(file);
  if (typeof obj !== 'object' || obj === null || Array.isArray(obj)) fail(file, 'expected a JSON object');
  const o = obj as Json;
  // JSON has no comments: a top-level key starting with `_` is one (`bridge init` writes `_comment`).
  refuseUnknownKeys(o, TOP_LEVEL_KEYS, file, { allowComments: true, brokerHint: true });
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
    interpreter: interpreter && resolveFrom(base, interpreter),
    scripts: entries,
    scriptFolders: (folders as string[]).map((f) => resolveFrom(base, f)),
    source: file,
  };
}
