/**
 * Log lines while a large backlog is read (a queue that grew while the bridge was down):
 * its start, progress every tenth or every 5 s with lines/s, and its end. Small reads,
 * the usual case, log nothing.
 */
import type { Logger } from '../src/log/logger.js';

/** A backlog at least this large is logged. */
const BACKLOG_LOG_BYTES = 1024 * 1024;
/** Progress is logged at least this often, even when a tenth takes longer. */
const PROGRESS_LOG_MS = 5000;

/** Progress of reading one backlog. */
export class BacklogProgress {
  private lines = 0;
  private readonly startedAt = Date.now();
  private loggedAt = this.startedAt;
  private nextTenth = 1;

  private constructor(
    private readonly log: Logger,
    private readonly file: string,
    private readonly from: number,
    private readonly total: number,
  ) {}

  /**
   * Logs the start of a read of `backlog` bytes from offset `from`, and returns its
   * progress; null when the backlog is too small to log.
   */
  static start(log: Logger, file: string, backlog: number, from: number): BacklogProgress | null {
    if (backlog < BACKLOG_LOG_BYTES) return null;
    log.info('reading queue backlog', { file, bytes: backlog, from_offset: from });
    return new BacklogProgress(log, file, from, backlog);
  }

  /** `lines` more lines were accepted, up to `offset`. */
  report(lines: number, offset: number): void {
    this.lines += lines;
    const done = offset - this.from;
    const now = Date.now();
    const tenth = Math.floor((done / this.total) * 10);
    if (tenth < this.nextTenth && now - this.loggedAt < PROGRESS_LOG_MS) return;
    this.nextTenth = tenth + 1;
    this.loggedAt = now;
    const secs = Math.max(0.001, (now - this.startedAt) / 1000);
    this.log.info('queue backlog progress', {
      file: this.file, percent: Math.min(100, Math.round((done / this.total) * 100)), lines: this.lines, lines_per_s: Math.round(this.lines / secs),
    });
  }

  /** The read reached the end of the file. */
  end(): void {
    const secs = Math.max(0.001, (Date.now() - this.startedAt) / 1000);
    this.log.info('queue backlog read', { file: this.file, lines: this.lines, seconds: Number(secs.toFixed(2)), lines_per_s: Math.round(this.lines / secs) });
  }
}
