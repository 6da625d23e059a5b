/**
 * Broker configuration. Option names are the seed's `BrokerConfig` names (snake_case),
 * so a JSON config file written for the Python broker keeps working.
 *
 * Precedence, lowest first: defaults, the JSON config file, `BROKER_*` environment
 * variables, command-line flags.
 */
import { readFileSync } from 'node:fs';
import { DEFAULT_HOST, DEFAULT_PORT } from '../protocol/messages.js';
import { DEFAULT_LEGACY_ENCODING, isKnownEncoding } from '../protocol/text.js';
import { isTimerSeconds, MAX_TIMER_S } from '../protocol/long-timeout.js';
import { parseLogLevel, type LogLevel } from '../log/logger.js';
import { parseAnonymousPermissions, parseClientCredentials } from './auth/credentials.js';
import { ConfigError } from './config-error.js';
import { parseFederationSetting, type FederationSetting } from './federation/federation-setting.js';
import { parseHttpSetting, type HttpSetting } from './http-setting.js';
import type { FsyncPolicy } from './persistence/index.js';

/** The values of `persistence_fsync`, in the order `--help` and errors list them. */
export const FSYNC_POLICIES: readonly FsyncPolicy[] = ['always', 'batch', 'never'];

export interface BrokerConfig {
  /** Interface to listen on. `localhost` means 127.0.0.1 and ::1 (loopback only). */
  host: string;
  /** TCP port; 0 picks a free one (tests). */
  port: number;
  /** Open sockets accepted at once; the next gets -32006 and is closed. */
  max_connections: number;
  /** Seconds a new socket may take to send `connect`. */
  connection_timeout: number;
  /** Largest frame body in bytes. */
  max_message_size: number;
  /** Messages held per client (outbound backlog, or offline QoS 1 queue). */
  max_queue_size: number;
  /**
   * Unsent bytes (responses plus queued deliveries) one connection may hold before it is
   * closed with reason `output_limit`: a client that stops reading cannot grow the broker.
   */
  max_output_bytes: number;
  /** Seconds between client pings, advertised in `connect`'s result. */
  heartbeat_interval: number;
  /** Seconds of silence after which a client that pings is dropped. */
  heartbeat_timeout: number;
  /** Seconds a disconnected client's subscriptions and QoS 1 messages are kept. */
  session_expiry: number;
  /** Patterns one client may hold. */
  max_subscriptions: number;
  /** Shared secret clients must present in `connect`; `null` disables the check. */
  token: string | null;
  /**
   * Whether clients without credentials may connect. `null` (the default) means: yes when
   * neither `token` nor `clients` is set. A listener beyond loopback refuses to start
   * when anyone could connect, unless this is `true`.
   */
  allow_anonymous: boolean | null;
  /**
   * Per-client credentials and permissions (config file only): a list of
   * `{id, secret, publish, subscribe, request}`; `id` may be a pattern with `*`.
   */
  clients: readonly unknown[];
  /** What clients without credentials may do, when they are allowed at all. */
  anonymous_permissions: Readonly<Record<string, unknown>> | null;
  /** Code page for frames that are not valid UTF-8 (older AutoHotkey clients send ANSI). */
  legacy_encoding: string;
  /**
   * Keep retained messages, sessions and unacked QoS 1 messages in `persistence_path`
   * (a directory) across restarts and crashes. Off by default.
   */
  persistence_enabled: boolean;
  /** The persistence directory (created when missing); required when persistence is enabled. */
  persistence_path: string | null;
  /**
   * When a journal append counts as durable: `always` (fsync each append), `batch` (appends
   * within a few ms share one fsync) or `never` (written, not fsynced: survives a killed
   * broker, not a power loss).
   */
  persistence_fsync: FsyncPolicy;
  log_level: LogLevel;
  /** Log every publish at info level (verbose). */
  log_messages: boolean;
  /**
   * Where the status page and monitoring endpoints listen; `null`: no HTTP server. Read by
   * the commands that host a broker, not by the broker itself.
   */
  http: HttpSetting | null;
  /**
   * Join a distributed engine (NATS, MQTT) for the topics that must cross PCs; `null`: this
   * broker is on its own. See docs/federation.md.
   */
  federation: FederationSetting | null;
}

export const DEFAULT_CONFIG: Readonly<BrokerConfig> = Object.freeze({
  host: DEFAULT_HOST,
  port: DEFAULT_PORT,
  max_connections: 100,
  connection_timeout: 30,
  max_message_size: 1024 * 1024,
  max_queue_size: 10_000,
  max_output_bytes: 64 * 1024 * 1024,
  heartbeat_interval: 5,
  heartbeat_timeout: 30,
  session_expiry: 3600,
  max_subscriptions: 1000,
  token: null,
  allow_anonymous: null,
  clients: Object.freeze([]),
  anonymous_permissions: null,
  legacy_encoding: DEFAULT_LEGACY_ENCODING,
  persistence_enabled: false,
  persistence_path: null,
  persistence_fsync: 'batch',
  log_level: 'info',
  log_messages: false,
  http: null,
  federation: null,
});

export { ConfigError } from './config-error.js';

type Kind =
  | 'string'
  | 'nullable-string'
  | 'port'
  | 'positive-int'
  | 'non-negative'
  | 'positive'
  | 'boolean'
  | 'nullable-boolean'
  | 'level'
  | 'encoding'
  | 'fsync'
  | 'clients'
  | 'permissions'
  | 'http'
  | 'federation';

const KINDS: Record<keyof BrokerConfig, Kind> = {
  host: 'string',
  port: 'port',
  max_connections: 'positive-int',
  connection_timeout: 'positive',
  max_message_size: 'positive-int',
  max_queue_size: 'positive-int',
  max_output_bytes: 'positive-int',
  heartbeat_interval: 'positive',
  heartbeat_timeout: 'positive',
  session_expiry: 'non-negative',
  max_subscriptions: 'positive-int',
  token: 'nullable-string',
  allow_anonymous: 'nullable-boolean',
  clients: 'clients',
  anonymous_permissions: 'permissions',
  legacy_encoding: 'encoding',
  persistence_enabled: 'boolean',
  persistence_path: 'nullable-string',
  persistence_fsync: 'fsync',
  log_level: 'level',
  log_messages: 'boolean',
  http: 'http',
  federation: 'federation',
};

/** Options whose values are secrets: never echoed in an error. */
const SECRET_KEYS = new Set<keyof BrokerConfig>(['token']);

/** Options without a generic `--key value` flag: lists and objects (config file only), `http` (its own `--http [ADDR]`) and `federation` (`--upstream URL`). */
export const FILE_ONLY_KEYS: ReadonlySet<keyof BrokerConfig> = new Set<keyof BrokerConfig>(['clients', 'anonymous_permissions', 'http', 'federation']);

/** Names of every option, for `--help` and unknown-key errors. */
export const CONFIG_KEYS = Object.keys(KINDS) as (keyof BrokerConfig)[];

/**
 * Check and convert one option. Strings are accepted for numbers and booleans because
 * environment variables and flags arrive as text.
 */
export function coerceOption<K extends keyof BrokerConfig>(key: K, value: unknown, source: string): BrokerConfig[K] {
  const kind = KINDS[key];
  const fail = (expected: string): never => {
    const got = SECRET_KEYS.has(key) ? `a ${value === null ? 'null' : typeof value}` : JSON.stringify(value);
    throw new ConfigError(`${source}: ${key} must be ${expected}, got ${got}`);
  };
  const bool = (): boolean => {
    if (typeof value === 'boolean') return value;
    if (typeof value === 'string' && /^(true|1|yes|on)$/i.test(value)) return true;
    if (typeof value === 'string' && /^(false|0|no|off)$/i.test(value)) return false;
    return fail('true or false');
  };
  const structured = (parse: () => unknown): BrokerConfig[K] => {
    try {
      parse();
    } catch (err) {
      throw new ConfigError((err as Error).message);
    }
    return value as BrokerConfig[K];
  };
  const num = (): number => {
    const n = typeof value === 'string' && value.trim() !== '' ? Number(value) : value;
    return typeof n === 'number' && Number.isFinite(n) ? n : fail('a number');
  };
  switch (kind) {
    case 'string':
      return (typeof value === 'string' && value.length > 0 ? value : fail('a non-empty string')) as BrokerConfig[K];
    case 'nullable-string':
      return (value === null || value === '' ? null : typeof value === 'string' ? value : fail('a string or null')) as BrokerConfig[K];
    case 'port': {
      const n = num();
      return (Number.isInteger(n) && n >= 0 && n <= 65_535 ? n : fail('a number from 1 to 65535 (0: any free port)')) as BrokerConfig[K];
    }
    case 'positive-int': {
      const n = num();
      return (Number.isInteger(n) && n > 0 ? n : fail('a positive integer')) as BrokerConfig[K];
    }
    case 'positive': {
      // These options set timers, which cannot wait longer than MAX_TIMER_S.
      const n = num();
      return (isTimerSeconds(n) ? n : fail(`a positive number of seconds, at most ${MAX_TIMER_S} (about 24 days)`)) as BrokerConfig[K];
    }
    case 'non-negative': {
      const n = num();
      return (n >= 0 ? n : fail('zero or a positive number of seconds')) as BrokerConfig[K];
    }
    case 'boolean':
      return bool() as BrokerConfig[K];
    case 'nullable-boolean':
      return (value === null ? null : bool()) as BrokerConfig[K];
    case 'clients':
      return structured(() => parseClientCredentials(value, source));
    case 'permissions':
      return value === null ? (null as BrokerConfig[K]) : structured(() => parseAnonymousPermissions(value, source));
    case 'level': {
      const level = typeof value === 'string' ? parseLogLevel(value) : undefined;
      return (level ?? fail('one of debug, info, warning, error, critical, silent')) as BrokerConfig[K];
    }
    case 'encoding':
      return (typeof value === 'string' && isKnownEncoding(value) ? value : fail('an encoding iconv-lite knows (e.g. windows-1252)')) as BrokerConfig[K];
    case 'http':
      return parseHttpSetting(value, source) as BrokerConfig[K];
    case 'federation':
      return parseFederationSetting(value, source) as BrokerConfig[K];
    case 'fsync':
      return (typeof value === 'string' && (FSYNC_POLICIES as readonly string[]).includes(value) ? value : fail(`one of ${FSYNC_POLICIES.join(', ')}`)) as BrokerConfig[K];
  }
}

/** Validate a partial configuration object (from a file, flags, or code). */
export function parseConfigObject(obj: unknown, source: string): Partial<BrokerConfig> {
  if (typeof obj !== 'object' || obj === null || Array.isArray(obj)) {
    throw new ConfigError(`${source}: expected a JSON object of broker options`);
  }
  const out: Partial<BrokerConfig> = {};
  for (const [key, value] of Object.entries(obj)) {
    // hasOwn, not `in`: `in` also finds Object.prototype members (`toString`, `__proto__`).
    if (!Object.hasOwn(KINDS, key)) {
      throw new ConfigError(`${source}: unknown option "${key}" (known: ${CONFIG_KEYS.join(', ')})`);
    }
    const k = key as keyof BrokerConfig;
    (out as Record<string, unknown>)[k] = coerceOption(k, value, source);
  }
  return out;
}

/**
 * Parse a JSON config file, tolerating the BOM Windows editors add.
 * @throws ConfigError naming the file when it cannot be read or parsed
 */
export function readJsonConfigFile(path: string): unknown {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    throw new ConfigError(`cannot read config file ${path}: ${(err as Error).message}`);
  }
  try {
    return JSON.parse(text.charCodeAt(0) === 0xfeff ? text.slice(1) : text);
  } catch (err) {
    throw new ConfigError(`config file ${path} is not valid JSON: ${(err as Error).message}`);
  }
}

/**
 * Read a JSON config file. A file that also configures the bridge may nest the broker's
 * options under a `broker` key; both layouts are accepted.
 */
export function loadConfigFile(path: string): Partial<BrokerConfig> {
  const obj = readJsonConfigFile(path);
  const nested = typeof obj === 'object' && obj !== null && 'broker' in obj ? (obj as { broker: unknown }).broker : obj;
  return parseConfigObject(nested, path);
}

/** The `BROKER_HOST`, `BROKER_PORT` and `BROKER_LOG_LEVEL` overrides. */
export function configFromEnv(env: NodeJS.ProcessEnv = process.env): Partial<BrokerConfig> {
  const out: Partial<BrokerConfig> = {};
  if (env.BROKER_HOST) out.host = coerceOption('host', env.BROKER_HOST, 'BROKER_HOST');
  if (env.BROKER_PORT) out.port = coerceOption('port', env.BROKER_PORT, 'BROKER_PORT');
  if (env.BROKER_LOG_LEVEL) out.log_level = coerceOption('log_level', env.BROKER_LOG_LEVEL, 'BROKER_LOG_LEVEL');
  return out;
}

/**
 * Bytes of the largest delivery a frame of `maxMessageSize` bytes can become: a frame in
 * a legacy code page is decoded, and every byte of it (`€` in Windows-1252) can be three
 * in UTF-8; 64 KiB covers what a delivery adds (timestamp, sender, id, flags).
 */
export function largestDelivery(maxMessageSize: number): number {
  return 3 * maxMessageSize + 64 * 1024;
}

/** Defaults, then each layer in order. */
export function resolveConfig(...layers: Partial<BrokerConfig>[]): BrokerConfig {
  const config: BrokerConfig = { ...DEFAULT_CONFIG };
  for (const layer of layers) {
    for (const [k, v] of Object.entries(layer)) {
      if (v !== undefined) (config as unknown as Record<string, unknown>)[k] = v;
    }
  }
  if (config.heartbeat_timeout <= config.heartbeat_interval) {
    throw new ConfigError(
      `heartbeat_timeout (${config.heartbeat_timeout}s) must be longer than heartbeat_interval (${config.heartbeat_interval}s), or every pinging client is dropped`,
    );
  }
  if (config.persistence_enabled && config.persistence_path === null) {
    throw new ConfigError('persistence_enabled is set but persistence_path is not: name the directory to keep state in (bridge broker --persist DIR)');
  }
  const leastOutput = largestDelivery(config.max_message_size);
  if (config.max_output_bytes < leastOutput) {
    throw new ConfigError(
      `max_output_bytes (${config.max_output_bytes}) must be at least 3 x max_message_size (${config.max_message_size}) + 64 KiB = ${leastOutput}: a frame in a legacy code page is delivered as UTF-8, up to three times its size, and a delivery larger than max_output_bytes would close its subscriber, at every reconnect while it is owed`,
    );
  }
  return config;
}
