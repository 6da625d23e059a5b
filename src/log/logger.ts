/**
 * Structured logging with levels. One line per event: a timestamp, the level, the
 * component, a message and `key=value` fields (or one JSON object per line with
 * `format: 'json'`). Written to stderr so stdout stays free for command output.
 */
import { isoUtc } from '../protocol/timestamp.js';

export const LOG_LEVELS = ['debug', 'info', 'warning', 'error', 'critical', 'silent'] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];

const RANK: Record<LogLevel, number> = { debug: 10, info: 20, warning: 30, error: 40, critical: 50, silent: 100 };

// Python's logging names (the seed's `log_level="INFO"`) and common aliases.
const ALIASES: Record<string, LogLevel> = {
  debug: 'debug', trace: 'debug', info: 'info', warning: 'warning', warn: 'warning',
  error: 'error', critical: 'critical', fatal: 'critical', silent: 'silent', off: 'silent', none: 'silent',
};

/** Parse a level name case-insensitively; `undefined` when it is not one. */
export function parseLogLevel(name: string): LogLevel | undefined {
  const key = name.trim().toLowerCase();
  // hasOwn: a plain lookup would return Object.prototype members for `constructor` etc.
  return Object.hasOwn(ALIASES, key) ? ALIASES[key] : undefined;
}

export type LogFields = Record<string, unknown>;

export interface LogSink {
  write(line: string): void;
}

export interface LoggerOptions {
  level?: LogLevel;
  format?: 'text' | 'json';
  sink?: LogSink;
  component?: string;
}

const stderrSink: LogSink = { write: (line) => process.stderr.write(line) };

function formatValue(value: unknown): string {
  if (value instanceof Error) return JSON.stringify(value.message);
  if (typeof value === 'string') return /[\s"=]/.test(value) || value === '' ? JSON.stringify(value) : value;
  if (typeof value === 'number' || typeof value === 'boolean' || value === null || value === undefined) return String(value);
  try {
    return JSON.stringify(value);
  } catch {
    return '[unserialisable]';
  }
}

// A log call must never throw into its caller (the text format already guards this):
// on a circular or BigInt field, retry with each unserialisable field replaced.
function jsonLine(obj: LogFields): string {
  try {
    return JSON.stringify(obj);
  } catch {
    const safe: LogFields = {};
    for (const [k, v] of Object.entries(obj)) {
      try {
        JSON.stringify(v);
        safe[k] = v;
      } catch {
        safe[k] = '[unserialisable]';
      }
    }
    return JSON.stringify(safe);
  }
}

/** A logger bound to a component; `child()` makes one for a sub-component sharing level and sink. */
export class Logger {
  private readonly state: { level: LogLevel; format: 'text' | 'json'; sink: LogSink };
  readonly component: string;

  constructor(options: LoggerOptions = {}, shared?: Logger['state']) {
    this.state = shared ?? { level: options.level ?? 'info', format: options.format ?? 'text', sink: options.sink ?? stderrSink };
    this.component = options.component ?? 'bridge';
  }

  get level(): LogLevel {
    return this.state.level;
  }

  set level(level: LogLevel) {
    this.state.level = level;
  }

  child(component: string): Logger {
    return new Logger({ component }, this.state);
  }

  enabled(level: LogLevel): boolean {
    return RANK[level] >= RANK[this.state.level] && level !== 'silent';
  }

  debug(msg: string, fields?: LogFields): void {
    if (this.enabled('debug')) this.emit('debug', msg, fields);
  }
  info(msg: string, fields?: LogFields): void {
    if (this.enabled('info')) this.emit('info', msg, fields);
  }
  warning(msg: string, fields?: LogFields): void {
    if (this.enabled('warning')) this.emit('warning', msg, fields);
  }
  error(msg: string, fields?: LogFields): void {
    if (this.enabled('error')) this.emit('error', msg, fields);
  }
  critical(msg: string, fields?: LogFields): void {
    if (this.enabled('critical')) this.emit('critical', msg, fields);
  }

  private emit(level: LogLevel, msg: string, fields: LogFields | undefined): void {
    const time = isoUtc(Date.now());
    let line: string;
    if (this.state.format === 'json') {
      const obj: LogFields = { time, level, component: this.component, msg };
      if (fields) {
        for (const [k, v] of Object.entries(fields)) obj[k] = v instanceof Error ? v.message : v;
      }
      line = jsonLine(obj);
    } else {
      line = `${time} ${level.toUpperCase().padEnd(8)} ${this.component}: ${msg}`;
      if (fields) {
        for (const [k, v] of Object.entries(fields)) {
          if (v !== undefined) line += ` ${k}=${formatValue(v)}`;
        }
      }
    }
    this.state.sink.write(line + '\n');
  }
}

/** A logger that drops everything, for embedding where the host does its own logging. */
export const silentLogger = (): Logger => new Logger({ level: 'silent' });
