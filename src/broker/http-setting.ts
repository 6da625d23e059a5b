/**
 * The `http` option: where the status page listens. Given as `true` (the default port on
 * loopback), a port, `HOST:PORT` / `HOST`, or `{"host": ..., "port": ...}`; `false` or
 * `null` turns it off. The host stays `null` unless given: the page then listens on
 * loopback only, whatever the broker's own `host` is.
 */
import { ConfigError } from './config-error.js';

/** The status page's default port: the broker's, plus one. */
export const DEFAULT_HTTP_PORT = 15235;

export interface HttpSetting {
  /** `null`: loopback only (no host was given). */
  host: string | null;
  /** 0 picks a free port (tests). */
  port: number;
}

const EXPECTED = 'true, a port, "HOST:PORT", or {"host": "...", "port": N}';

function parsePort(raw: unknown, source: string): number {
  const n = typeof raw === 'string' && /^\d+$/.test(raw) ? Number(raw) : raw;
  if (typeof n === 'number' && Number.isInteger(n) && n >= 0 && n <= 65_535) return n;
  throw new ConfigError(`${source}: http port must be a number from 1 to 65535 (0: any free port), got ${JSON.stringify(raw)}`);
}

function parseHost(raw: unknown, source: string): string {
  if (typeof raw === 'string' && raw.trim() !== '' && !/\s/.test(raw)) return raw;
  throw new ConfigError(`${source}: http host must be a host name or address, got ${JSON.stringify(raw)}`);
}

/** `8080`, `0.0.0.0:8080`, `[::1]:8080`, `0.0.0.0` (default port). */
function parseAddress(text: string, source: string): HttpSetting {
  if (/^\d+$/.test(text)) return { host: null, port: parsePort(text, source) };
  const bracketed = /^\[([^\]]+)\](?::(\d*))?$/.exec(text);
  if (bracketed) return { host: bracketed[1]!, port: bracketed[2] ? parsePort(bracketed[2], source) : DEFAULT_HTTP_PORT };
  const colons = text.split(':').length - 1;
  if (colons === 1) {
    const [host, port] = text.split(':') as [string, string];
    return { host: parseHost(host, source), port: parsePort(port, source) };
  }
  // No colon: a host alone. Several: a bare IPv6 address (its port needs brackets).
  return { host: parseHost(text, source), port: DEFAULT_HTTP_PORT };
}

/** Check and convert an `http` value from a file, a flag or code; `null` means off. */
export function parseHttpSetting(value: unknown, source: string): HttpSetting | null {
  if (value === null || value === false || value === undefined) return null;
  if (value === true) return { host: null, port: DEFAULT_HTTP_PORT };
  if (typeof value === 'number') return { host: null, port: parsePort(value, source) };
  if (typeof value === 'string') {
    if (/^(true|on|yes)$/i.test(value)) return { host: null, port: DEFAULT_HTTP_PORT };
    if (/^(false|off|no)$/i.test(value)) return null;
    return parseAddress(value.trim(), source);
  }
  if (typeof value === 'object' && !Array.isArray(value)) {
    const o = value as Record<string, unknown>;
    const unknown = Object.keys(o).filter((k) => k !== 'host' && k !== 'port');
    if (unknown.length > 0) throw new ConfigError(`${source}: http has unknown key "${unknown[0]!}" (known: host, port)`);
    return {
      host: o.host === undefined || o.host === null ? null : parseHost(o.host, source),
      port: o.port === undefined ? DEFAULT_HTTP_PORT : parsePort(o.port, source),
    };
  }
  throw new ConfigError(`${source}: http must be ${EXPECTED}, got ${JSON.stringify(value)}`);
}
