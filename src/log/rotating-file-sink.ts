/**
 * A log sink that appends to a file and rotates it by size: `bridge.log` becomes
 * `bridge.1.log`, `bridge.1.log` becomes `bridge.2.log`, and the oldest is dropped, so a
 * bridge that runs for months at logon never fills the disk. The rotated names keep the
 * `.log` extension so a double-click opens them in Notepad.
 *
 * Writes are synchronous: a line logged just before a crash or `process.exit()` is in the
 * file, and lines from the several components of one process never interleave mid-line.
 */
import { closeSync, fstatSync, mkdirSync, openSync, renameSync, rmSync, writeSync } from 'node:fs';
import path from 'node:path';
import type { LogSink } from './logger.js';

export interface RotatingFileOptions {
  /** Rotate before a write would take the file past this many bytes. */
  maxBytes?: number;
  /** Rotated files kept beside the current one. */
  keep?: number;
  /**
   * Told once when the file cannot be written or rotated (a full disk, a file another
   * program holds open without sharing): the logger must never throw into its caller.
   */
  onTrouble?: (message: string, err: Error) => void;
}

export const DEFAULT_LOG_MAX_BYTES = 10 * 1024 * 1024;
export const DEFAULT_LOG_KEEP = 5;

/** The name of rotated file `n` (1 is the newest): `bridge.log` -> `bridge.1.log`. */
export function rotatedName(file: string, n: number): string {
  const ext = path.extname(file);
  return ext ? `${file.slice(0, -ext.length)}.${n}${ext}` : `${file}.${n}`;
}

export class RotatingFileSink implements LogSink {
  readonly file: string;
  private readonly maxBytes: number;
  private readonly keep: number;
  private readonly onTrouble: (message: string, err: Error) => void;
  private fd: number | null;
  private size: number;
  /** Rotate past this size: maxBytes, or further on after a rotation failed. */
  private limit: number;
  /** Whether a failure was already reported: one report, not one per line. */
  private troubled = false;
  /** Set by close(): later lines are dropped on purpose, not for want of a file. */
  private closed = false;
  /** When the file may next be opened again after it could not be (ms since the epoch). */
  private reopenAt = 0;

  /** Opens (or creates, with its folder) `file` for appending; throws when it cannot. */
  constructor(file: string, opts: RotatingFileOptions = {}) {
    this.file = path.resolve(file);
    this.maxBytes = opts.maxBytes ?? DEFAULT_LOG_MAX_BYTES;
    this.keep = Math.max(0, opts.keep ?? DEFAULT_LOG_KEEP);
    this.onTrouble = opts.onTrouble ?? (() => undefined);
    mkdirSync(path.dirname(this.file), { recursive: true });
    this.fd = openSync(this.file, 'a');
    this.size = fstatSync(this.fd).size;
    this.limit = this.maxBytes;
  }

  write(line: string): void {
    const bytes = Buffer.from(line, 'utf8');
    if (this.fd === null) this.reopen();
    if (this.size > 0 && this.size + bytes.length > this.limit) this.rotate();
    if (this.fd === null) return;
    try {
      writeSync(this.fd, bytes);
      this.size += bytes.length;
    } catch (err) {
      this.report(`cannot write the log file ${this.file}; log lines are being dropped`, err as Error);
    }
  }

  /** Close the file; later writes are dropped. */
  close(): void {
    this.closed = true;
    if (this.fd === null) return;
    try {
      closeSync(this.fd);
    } finally {
      this.fd = null;
    }
  }

  private rotate(): void {
    if (this.fd === null) return;
    try {
      closeSync(this.fd);
    } catch (err) {
      this.report(`cannot close the log file ${this.file} to rotate it`, err as Error);
    }
    this.fd = null;
    try {
      if (this.keep === 0) {
        rmSync(this.file, { force: true });
      } else {
        rmSync(rotatedName(this.file, this.keep), { force: true });
        for (let n = this.keep - 1; n >= 1; n--) renameIfPresent(rotatedName(this.file, n), rotatedName(this.file, n + 1));
        renameSync(this.file, rotatedName(this.file, 1));
      }
      this.limit = this.maxBytes;
    } catch (err) {
      // Most often another program holds a file open without sharing it (Windows): keep
      // appending to the current file, and try again after another file's worth of lines.
      this.limit = this.size + this.maxBytes;
      this.report(`cannot rotate the log file ${this.file}; it grows past its limit until rotation succeeds`, err as Error);
    }
    this.reopen();
  }

  /**
   * Open the file again after rotating, or after it could not be opened (a folder removed,
   * a full disk): tried at most once a second, so a bridge that runs for months picks its
   * log up again once the cause is gone.
   */
  private reopen(): void {
    if (this.closed || Date.now() < this.reopenAt) return;
    try {
      mkdirSync(path.dirname(this.file), { recursive: true });
      this.fd = openSync(this.file, 'a');
      this.size = fstatSync(this.fd).size;
    } catch (err) {
      this.fd = null;
      this.reopenAt = Date.now() + 1000;
      this.report(`cannot reopen the log file ${this.file}; log lines are dropped until it can be`, err as Error);
    }
  }

  private report(message: string, err: Error): void {
    if (this.troubled) return;
    this.troubled = true;
    this.onTrouble(message, err);
  }
}

function renameIfPresent(from: string, to: string): void {
  try {
    renameSync(from, to);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
  }
}
