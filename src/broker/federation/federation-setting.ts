/**
 * The `federation` option: the upstream engine to join, and which topics cross.
 * `"nats://host:4222"` alone (or `--upstream URL`) federates every topic outside
 * `system.` and `_internal.` both ways.
 */
import { isReservedTopic, patternError } from '../../protocol/topics.js';
import { ConfigError } from '../config-error.js';

export interface FederationSetting {
  /** `nats://[user:pass@]host:port` or `mqtt://...` (`tls://`, `mqtts://` for TLS). */
  upstream: string;
  engine: 'nats' | 'mqtt';
  /** Local publishes sent upstream. */
  export: string[];
  /** Upstream messages delivered locally (subscribed upstream only while someone local wants them). */
  import: string[];
  /** QoS 1 exports held while the upstream is unreachable; past this the oldest are dropped. */
  queue_size: number;
  /** The same queue's bound in bytes (payloads and topics): past it the oldest are dropped. */
  queue_bytes: number;
  /** Credentials as the engine's client takes them (also possible in the URL). */
  user: string | null;
  pass: string | null;
  token: string | null;
  /** TLS: file paths of a CA, a client certificate and key. */
  tls: { ca?: string; cert?: string; key?: string } | null;
}

const KEYS = ['upstream', 'export', 'import', 'queue_size', 'queue_bytes', 'user', 'pass', 'token', 'tls'];
const DEFAULT_QUEUE = 10_000;
/** 64 MiB: ten thousand exports of a few kilobytes, or sixty-four of the largest a client may publish (1 MiB). */
const DEFAULT_QUEUE_BYTES = 64 * 1024 * 1024;

const SCHEME = /^[a-z][a-z0-9+.-]*:\/\//i;

/** `url` as an error may show it: nothing before its last `@` (user, password, token). */
function shownUrl(url: string): string {
  const at = url.lastIndexOf('@');
  if (at < 0) return url;
  const scheme = SCHEME.exec(url)?.[0] ?? '';
  return scheme.length <= at ? scheme + url.slice(at + 1) : url.slice(at + 1);
}

function engineOf(url: string, source: string): 'nats' | 'mqtt' {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new ConfigError(`${source}: federation upstream "${shownUrl(url)}" is not a URL; use nats://host:4222 or mqtt://host:1883`);
  }
  const scheme = parsed.protocol.replace(/:$/, '');
  const engine = scheme === 'nats' || scheme === 'tls' ? 'nats' : scheme === 'mqtt' || scheme === 'mqtts' ? 'mqtt' : null;
  if (engine === null) {
    throw new ConfigError(`${source}: federation upstream "${shownUrl(url)}" has scheme "${scheme}"; use nats:// (or tls://) or mqtt:// (or mqtts://)`);
  }
  // `nats:host:4222` parses, as a URL without a host (the client would try some default).
  if (parsed.hostname === '') throw new ConfigError(`${source}: federation upstream "${shownUrl(url)}" has no host; use ${scheme}://host:port`);
  return engine;
}

function patterns(value: unknown, name: string, source: string): string[] {
  if (value === undefined) return ['#'];
  if (!Array.isArray(value) || value.length === 0) throw new ConfigError(`${source}: federation ${name} must be a non-empty list of topic patterns`);
  return value.map((p) => {
    const err = patternError(p) ?? crossingError(p as string);
    if (err !== null) throw new ConfigError(`${source}: federation ${name} pattern ${JSON.stringify(p)}: ${err}`);
    return p as string;
  });
}

/**
 * What makes a valid pattern useless on the link: NATS's `>` (here a level of that one
 * character, matching nothing a client publishes), or a topic space that never crosses.
 */
function crossingError(pattern: string): string | null {
  if (pattern.split('.').includes('>')) return 'a ">" level is NATS\'s wildcard, not this broker\'s: use "#" for any number of levels';
  if (isReservedTopic(pattern)) return '"system." and "_internal." topics never cross the link';
  return null;
}

function optionalString(o: Record<string, unknown>, key: string, source: string): string | null {
  const v = o[key];
  if (v === undefined || v === null) return null;
  if (typeof v !== 'string') throw new ConfigError(`${source}: federation ${key} must be a string`);
  return v;
}

const TLS_KEYS = ['ca', 'cert', 'key'];

/** `{"ca", "cert", "key"}`, each a file path (a number would be read as a file descriptor). */
function isTlsFiles(v: unknown): boolean {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) return false;
  return Object.entries(v).every(([k, path]) => TLS_KEYS.includes(k) && typeof path === 'string' && path !== '');
}

/** Check and convert a `federation` value (a URL, or an object); `null` means none. */
export function parseFederationSetting(value: unknown, source: string): FederationSetting | null {
  if (value === null || value === undefined || value === false || value === '') return null;
  const o: Record<string, unknown> = typeof value === 'string' ? { upstream: value } : (value as Record<string, unknown>);
  if (typeof o !== 'object' || Array.isArray(o)) throw new ConfigError(`${source}: federation must be an upstream URL or {"upstream": URL, "export": [...], "import": [...]}`);
  const unknown = Object.keys(o).filter((k) => !KEYS.includes(k));
  if (unknown.length > 0) throw new ConfigError(`${source}: federation has unknown key "${unknown[0]!}" (known: ${KEYS.join(', ')})`);
  if (typeof o.upstream !== 'string' || o.upstream === '') throw new ConfigError(`${source}: federation needs "upstream": nats://host:4222 or mqtt://host:1883`);
  const queue = o.queue_size ?? DEFAULT_QUEUE;
  if (typeof queue !== 'number' || !Number.isInteger(queue) || queue < 1) throw new ConfigError(`${source}: federation queue_size must be a positive integer`);
  const queueBytes = o.queue_bytes ?? DEFAULT_QUEUE_BYTES;
  if (typeof queueBytes !== 'number' || !Number.isInteger(queueBytes) || queueBytes < 1) throw new ConfigError(`${source}: federation queue_bytes must be a positive integer (bytes)`);
  const tls = o.tls ?? null;
  if (tls !== null && !isTlsFiles(tls)) throw new ConfigError(`${source}: federation tls must be {"ca", "cert", "key"} file paths`);
  return {
    upstream: o.upstream,
    engine: engineOf(o.upstream, source),
    export: patterns(o.export, 'export', source),
    import: patterns(o.import, 'import', source),
    queue_size: queue,
    queue_bytes: queueBytes,
    user: optionalString(o, 'user', source),
    pass: optionalString(o, 'pass', source),
    token: optionalString(o, 'token', source),
    tls: tls as FederationSetting['tls'],
  };
}

/** The upstream URL without credentials, for logs and status. */
export function redactedUrl(url: string): string {
  // `saw:secret@h` parses as scheme "saw" with the rest as its path: shown whole.
  if (!SCHEME.test(url)) return '(invalid URL)';
  try {
    const u = new URL(url);
    u.username = '';
    u.password = '';
    return u.toString().replace(/\/$/, '');
  } catch {
    return '(invalid URL)';
  }
}
