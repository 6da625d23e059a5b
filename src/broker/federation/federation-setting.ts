/**
 * The `federation` option: the upstream engine to join, and which topics cross.
 * `"nats://host:4222"` alone (or `--upstream URL`) federates every topic outside
 * `system.` and `_internal.` both ways.
 */
import { patternError } from '../../protocol/topics.js';
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
  /** Credentials as the engine's client takes them (also possible in the URL). */
  user: string | null;
  pass: string | null;
  token: string | null;
  /** TLS: file paths of a CA, a client certificate and key. */
  tls: { ca?: string; cert?: string; key?: string } | null;
}

const KEYS = ['upstream', 'export', 'import', 'queue_size', 'user', 'pass', 'token', 'tls'];
const DEFAULT_QUEUE = 10_000;

function engineOf(url: string, source: string): 'nats' | 'mqtt' {
  let scheme: string;
  try {
    scheme = new URL(url).protocol.replace(/:$/, '');
  } catch {
    throw new ConfigError(`${source}: federation upstream "${url}" is not a URL; use nats://host:4222 or mqtt://host:1883`);
  }
  if (scheme === 'nats' || scheme === 'tls') return 'nats';
  if (scheme === 'mqtt' || scheme === 'mqtts') return 'mqtt';
  throw new ConfigError(`${source}: federation upstream "${url}" has scheme "${scheme}"; use nats:// (or tls://) or mqtt:// (or mqtts://)`);
}

function patterns(value: unknown, name: string, source: string): string[] {
  if (value === undefined) return ['#'];
  if (!Array.isArray(value) || value.length === 0) throw new ConfigError(`${source}: federation ${name} must be a non-empty list of topic patterns`);
  return value.map((p) => {
    const err = patternError(p);
    if (err !== null) throw new ConfigError(`${source}: federation ${name} pattern ${JSON.stringify(p)}: ${err}`);
    return p as string;
  });
}

function optionalString(o: Record<string, unknown>, key: string, source: string): string | null {
  const v = o[key];
  if (v === undefined || v === null) return null;
  if (typeof v !== 'string') throw new ConfigError(`${source}: federation ${key} must be a string`);
  return v;
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
  const tls = o.tls ?? null;
  if (tls !== null && (typeof tls !== 'object' || Array.isArray(tls))) throw new ConfigError(`${source}: federation tls must be {"ca", "cert", "key"} file paths`);
  return {
    upstream: o.upstream,
    engine: engineOf(o.upstream, source),
    export: patterns(o.export, 'export', source),
    import: patterns(o.import, 'import', source),
    queue_size: queue,
    user: optionalString(o, 'user', source),
    pass: optionalString(o, 'pass', source),
    token: optionalString(o, 'token', source),
    tls: tls as FederationSetting['tls'],
  };
}

/** The upstream URL without credentials, for logs and status. */
export function redactedUrl(url: string): string {
  try {
    const u = new URL(url);
    u.username = '';
    u.password = '';
    return u.toString().replace(/\/$/, '');
  } catch {
    return '(invalid URL)';
  }
}
