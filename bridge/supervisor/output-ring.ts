/**
 * The last things a script printed that were not protocol lines, and its lifecycle
 * markers: what `bridge logs KEY` shows (pm2's log buffer, kept in memory). One ring per
 * script key; it outlives restarts, so a crash's last words sit beside the restart.
 */
import { cutMarked, cutToBytes } from './cut-text.js';

/** Where an entry came from: the script's stdout or stderr, or the bridge (start, stop). */
export type OutputStream = 'stdout' | 'stderr' | 'event';

/** One line in the ring. */
export interface OutputEntry {
  /** 1, 2, 3, ... per key, across restarts: a follower drops what it already has. */
  seq: number;
  stream: OutputStream;
  text: string;
  /** On a lifecycle marker (stream `event`): which event it marks, for code to tell them apart by. */
  event?: LoggedEvent;
  /** ISO 8601 UTC (`+00:00`). */
  timestamp: string;
}

/** Lines a ring keeps by default. */
export const OUTPUT_RING_LINES = 1000;
/** Bytes of text (UTF-8) a ring keeps by default; whichever limit is reached first wins. */
export const OUTPUT_RING_BYTES = 256 * 1024;
/**
 * Lines `scripts.<key>.logs` returns when the request does not say. Here rather than in
 * script-registry.ts so that `bridge logs --help` can show it without loading the supervisor.
 */
export const DEFAULT_LOG_LINES = 100;

export interface OutputRingLimits {
  lines: number;
  bytes: number;
}

/** What the ring answers for `scripts.<key>.logs`. */
export interface OutputTail {
  lines: OutputEntry[];
  /** The seq the next entry will get: live lines from here on are new. */
  next_seq: number;
}

/**
 * Bytes of one line a ring keeps (a marker says how much was left out): a line of a
 * megabyte, which a script can print, would otherwise evict the whole history, its
 * `started` marker included.
 */
export const OUTPUT_ENTRY_BYTES = 16 * 1024;

/**
 * A line as the ring keeps it, and as `bridge logs --follow` prints a live one, so both
 * read the same.
 */
export function entryText(text: string): string {
  return cutMarked(text, OUTPUT_ENTRY_BYTES);
}

export class OutputRing {
  private entries: OutputEntry[] = [];
  /** Index of the oldest kept entry in `entries` (dropping from the front is amortised). */
  private head = 0;
  private bytes = 0;
  private nextSeq = 1;
  readonly limits: OutputRingLimits;

  constructor(limits: Partial<OutputRingLimits> = {}) {
    this.limits = { lines: limits.lines ?? OUTPUT_RING_LINES, bytes: limits.bytes ?? OUTPUT_RING_BYTES };
  }

  /** Entries kept now. */
  get size(): number {
    return this.entries.length - this.head;
  }

  /** Bytes of text kept now. */
  get byteSize(): number {
    return this.bytes;
  }

  /**
   * Add a line and return its seq. A long line is kept cut ({@link entryText}), and one
   * longer than the whole byte budget is cut to it: the newest line is the one a reader
   * most needs.
   */
  push(stream: OutputStream, text: string, timestamp: string, event?: LoggedEvent): number {
    const kept = cutToBytes(entryText(text), this.limits.bytes);
    const entry: OutputEntry = { seq: this.nextSeq++, stream, text: kept, timestamp };
    if (event !== undefined) entry.event = event;
    this.entries.push(entry);
    this.bytes += Buffer.byteLength(kept, 'utf8');
    while (this.size > this.limits.lines || this.bytes > this.limits.bytes) {
      const old = this.entries[this.head++]!;
      this.bytes -= Buffer.byteLength(old.text, 'utf8');
    }
    if (this.head > 1024 && this.head * 2 > this.entries.length) {
      this.entries = this.entries.slice(this.head);
      this.head = 0;
    }
    return entry.seq;
  }

  /**
   * The newest `lines` entries, oldest first, and fewer when their JSON would pass
   * `maxJsonBytes` (a reply must fit in one broker message, and escaping can make a
   * line of control characters six times longer).
   */
  tail(lines: number, maxJsonBytes = Infinity): OutputTail {
    const out: OutputEntry[] = [];
    let budget = maxJsonBytes;
    for (let i = this.entries.length - 1; i >= this.head && out.length < lines; i--) {
      const entry = this.entries[i]!;
      budget -= Buffer.byteLength(JSON.stringify(entry), 'utf8') + 1;
      if (budget < 0) break;
      out.push(entry);
    }
    return { lines: out.reverse(), next_seq: this.nextSeq };
  }
}

/** `crash (1)`, `crash (SIGKILL)`, `clean_exit (0)`: a reason and what the OS said. */
export function exitText(exit: { reason: string; exit_code: number | null; signal: string | null }): string {
  const detail = exit.exit_code !== null ? String(exit.exit_code) : exit.signal;
  return detail === null ? exit.reason : `${exit.reason} (${detail})`;
}

/** How a stop reason reads in the log. */
const STOPPED_WORDS: Record<string, string> = {
  clean_exit: 'ended by itself',
  crash: 'crashed',
  stopped: 'stopped on request',
  load_failure: 'failed to load',
};

/**
 * The text of a lifecycle marker from the event's topic suffix (`started`, `stopped`,
 * `restart_limit`) and payload, or null for events the log does not show. The bridge
 * writes these into the ring and `bridge logs --follow` prints live events with it, so
 * both read the same: `started (pid 4242)`, `crashed (exit code 3)`,
 * `stopped on request (signal SIGKILL)`, `not restarting: <why>`.
 */
export function eventText(event: string, payload: unknown): string | null {
  const p = typeof payload === 'object' && payload !== null ? (payload as Record<string, unknown>) : {};
  switch (event) {
    case 'started':
      return `started (pid ${String(p.pid)})`;
    case 'stopped': {
      const what = STOPPED_WORDS[String(p.reason)] ?? `stopped: ${String(p.reason)}`;
      if (typeof p.exit_code === 'number') return `${what} (exit code ${p.exit_code})`;
      return typeof p.signal === 'string' ? `${what} (signal ${p.signal})` : what;
    }
    case 'restart_limit':
      return `not restarting: ${String(p.why)}`;
    default:
      return null;
  }
}

/** The lifecycle events that become ring markers (and that `bridge logs --follow` prints). */
export const LOGGED_EVENTS = ['started', 'stopped', 'restart_limit'] as const;

/** One of {@link LOGGED_EVENTS}. */
export type LoggedEvent = (typeof LOGGED_EVENTS)[number];

/** Whether a topic suffix names a lifecycle event the ring marks. */
export function isLoggedEvent(event: string): event is LoggedEvent {
  return (LOGGED_EVENTS as readonly string[]).includes(event);
}
