/**
 * `--log-file FILE`: the logs of a long-running command in a rotating file instead of on
 * stderr. A bridge started hidden at logon (`bridge install-startup`) has no console, so
 * the file is the only place its story is told: the command's own error message, the one
 * `cli-process.ts` prints when the command fails, goes there too.
 */
import path from 'node:path';
import { Logger } from '../src/log/logger.js';
import { DEFAULT_LOG_KEEP, DEFAULT_LOG_MAX_BYTES, RotatingFileSink } from '../src/log/rotating-file-sink.js';
import { CliError } from './cli-error.js';

interface OpenLogFile {
  sink: RotatingFileSink;
  format: 'text' | 'json';
}

/** By absolute path: several loggers of one command share one file and one rotation. */
const openFiles = new Map<string, OpenLogFile>();

/** What `--help` says of the rotation. */
export const LOG_FILE_ROTATION = `rotated at ${DEFAULT_LOG_MAX_BYTES / 1024 / 1024} MB: bridge.log, then bridge.1.log (newest) to bridge.${DEFAULT_LOG_KEEP}.log`;

/** The sink for `file` (opened, with its folder, on first use). */
export function logFileSink(file: string, format: 'text' | 'json'): RotatingFileSink {
  const absolute = path.resolve(file);
  const existing = openFiles.get(absolute);
  if (existing) return existing.sink;
  let sink: RotatingFileSink;
  try {
    sink = new RotatingFileSink(absolute, {
      onTrouble: (message, err) => process.stderr.write(`bridge: ${message}: ${err.message}\n`),
    });
  } catch (err) {
    throw new CliError(`cannot open --log-file ${file}: ${(err as Error).message}`);
  }
  openFiles.set(absolute, { sink, format });
  return sink;
}

/**
 * Also write a command's final error to every open log file, as an ERROR line in that
 * file's format, so a hidden bridge that exits says why where someone will look.
 */
export function logFatal(message: string): void {
  for (const { sink, format } of openFiles.values()) {
    new Logger({ sink, format, component: 'bridge', level: 'error' }).error(message);
  }
}
