/**
 * One framed TCP connection to the broker: opens the socket, decodes incoming frames into
 * JSON values, and batches outgoing frames into one `socket.write` per event-loop turn.
 *
 * Batching is the single biggest throughput lever in Node (each `write` costs ~2 µs of
 * CPU; see docs/performance.md), and a client that publishes in a loop or acks a burst
 * of deliveries produces many small frames per turn.
 */
import net from 'node:net';
import { performance } from 'node:perf_hooks';
import { FrameDecoder } from '../protocol/framing.js';
import { addressesOf } from '../protocol/localhost.js';
import { decodeFrameText } from '../protocol/text.js';
import { BrokerConnectionError, connectionError, NOT_A_BROKER } from './errors.js';
import { readPublishAnswers } from './publish-answers.js';

/** What a {@link Connection} reports to its owner. */
export interface ConnectionHandlers {
  /**
   * One parsed JSON value per frame, in arrival order; a batch of publish answers may come
   * as {@link import('./publish-answers.js').PublishAnswers} instead. `body` is the
   * frame's bytes, valid only during the call. Must not throw.
   */
  onValue(value: unknown, body: Buffer): void;
  /** A frame that is not JSON (skipped; the connection stays up). */
  onError(error: Error): void;
  /** The socket closed; called exactly once. `reason` is the one given to `destroy`, else `connection_lost`. */
  onClose(reason: string, error: Error | undefined): void;
}

/** Parameters of {@link Connection.open}. */
export interface OpenOptions {
  host: string;
  port: number;
  /** Give up on the TCP connect after this many milliseconds. */
  timeoutMs: number;
  /** Largest incoming frame body; a bigger header means the stream is not ours (or broken). */
  maxFrameSize: number;
}

/**
 * Largest amount of outgoing data held while the socket is not draining. Past it,
 * {@link Connection.send} refuses frames so a stalled broker surfaces as errors at the
 * caller instead of silently growing the heap.
 */
export const MAX_BUFFERED_BYTES = 32 * 1024 * 1024;

/**
 * Incoming frame limit. The broker's own `max_message_size` bounds what clients send, and
 * deliveries add only a small envelope; this is far above that but low enough that a
 * non-broker peer (an HTTP server's `HTTP` reads as a 1.2 GB length) is caught at once.
 */
export const DEFAULT_MAX_INCOMING_FRAME = 64 * 1024 * 1024;

/**
 * What a delivery adds to the publish it carries, with room to spare: the envelope's
 * names, timestamp, message id and a sender of up to 128 characters, each escaped.
 */
const DELIVERY_ENVELOPE_SLACK = 64 * 1024;

/**
 * UTF-8 bytes a delivery may take per byte of the frame it was published in: a frame that
 * is not UTF-8 is read in the broker's legacy code page (Windows-1252), where one byte can
 * become three (`€`), and the broker checks max_message_size on the frame as it came.
 */
const TRANSCODING_GROWTH = 3;

/** A frame length header holds 32 bits. */
const LARGEST_FRAME = 2 ** 32 - 1;

/**
 * The incoming frame limit for a broker that advertised `maxMessageSize` in its connect
 * result: a broker configured for messages near or over {@link DEFAULT_MAX_INCOMING_FRAME}
 * delivers frames that large, and refusing one would close the connection at every
 * reconnect while its QoS 1 message waited to be redelivered.
 */
export function incomingFrameLimit(maxMessageSize: unknown): number {
  if (typeof maxMessageSize !== 'number' || !(maxMessageSize > 0)) return DEFAULT_MAX_INCOMING_FRAME;
  return Math.min(LARGEST_FRAME, Math.max(DEFAULT_MAX_INCOMING_FRAME, TRANSCODING_GROWTH * maxMessageSize + DELIVERY_ENVELOPE_SLACK));
}

// Probe a silent peer well before the OS default of 2 hours; the broker does the same.
const KEEPALIVE_DELAY_MS = 15_000;

/**
 * Frames of a turn that average at least this many bytes are handed to the socket as
 * they are, corked, and leave in one `writev`; smaller ones are joined into one buffer
 * first. Joining a queue file's batch frames (two of about 56 KB per turn on a backlog)
 * copied every byte into a new buffer as large as both, once per batch pair.
 */
const WRITEV_MIN_AVERAGE_BYTES = 8 * 1024;

/** How an HTTP server's reply starts. */
const HTTP_REPLY = Buffer.from('HTTP/', 'latin1');
/** A connected, framed socket. Create with {@link Connection.open}. */
export class Connection {
  private readonly decoder: FrameDecoder;
  private queue: Buffer[] = [];
  private queuedBytes = 0;
  private flushScheduled = false;
  private waitingForDrain = false;
  private closed = false;
  private closeReason: string | undefined;
  /** A frame has arrived: what comes later is a broker's, whatever it looks like. */
  private heardFrame = false;
  private closeWaiters: (() => void)[] = [];
  private lastRx = performance.now();

  private constructor(
    private readonly socket: net.Socket,
    private readonly handlers: ConnectionHandlers,
    maxFrameSize: number,
  ) {
    this.decoder = new FrameDecoder(maxFrameSize);
    socket.on('data', (chunk: Buffer) => this.onData(chunk));
    socket.on('drain', () => {
      this.waitingForDrain = false;
      this.flush();
    });
    // Errors are followed by 'close'; the listener only keeps them from being thrown.
    let lastError: Error | undefined;
    socket.on('error', (err) => {
      lastError = err;
    });
    socket.on('close', () => {
      this.closed = true;
      this.queue = [];
      this.queuedBytes = 0;
      const waiters = this.closeWaiters;
      this.closeWaiters = [];
      for (const w of waiters) w();
      this.handlers.onClose(this.closeReason ?? 'connection_lost', lastError);
    });
  }

  /**
   * Open a TCP connection. Rejects with a {@link BrokerConnectionError} whose message
   * names host:port and the likely cause.
   *
   * `localhost` is connected to by address, 127.0.0.1 and then ::1, as the broker listens:
   * given the name, Node checks it against its IPv6 address pattern, which it compiles on
   * first use, before it looks the name up, and that cost each client process about 11 ms
   * of CPU at its start.
   */
  static open(options: OpenOptions, handlers: ConnectionHandlers): Promise<Connection> {
    const { host, port, timeoutMs } = options;
    const addresses = addressesOf(host);
    return new Promise<Connection>((resolve, reject) => {
      let socket: net.Socket;
      let firstError: Error | undefined;
      const timer = setTimeout(() => {
        const err = new BrokerConnectionError(
          `timed out after ${+(timeoutMs / 1000).toFixed(3)}s connecting to broker at ${host}:${port}`,
          host,
          port,
          'ETIMEDOUT',
        );
        cleanup();
        socket.destroy();
        reject(err);
      }, timeoutMs);
      const onError = (err: Error): void => {
        cleanup();
        socket.destroy();
        firstError ??= err;
        // The next address, if any; the first failure says best why none would take us.
        if (attempt < addresses.length) connect();
        else {
          clearTimeout(timer);
          reject(connectionError(firstError, host, port));
        }
      };
      const onConnect = (): void => {
        clearTimeout(timer);
        cleanup();
        // Frames are small and latency-sensitive; batching already coalesces writes.
        socket.setNoDelay(true);
        socket.setKeepAlive(true, KEEPALIVE_DELAY_MS);
        resolve(new Connection(socket, handlers, options.maxFrameSize));
      };
      function cleanup(): void {
        socket.off('error', onError);
        socket.off('connect', onConnect);
      }
      let attempt = 0;
      function connect(): void {
        socket = net.connect({ host: addresses[attempt++]!, port });
        socket.once('error', onError);
        socket.once('connect', onConnect);
      }
      connect();
    });
  }

  /** `performance.now()` of the last bytes received, for the silence watchdog. */
  get lastReceivedAt(): number {
    return this.lastRx;
  }

  /** True once the socket has closed or `destroy` was called. */
  get isClosed(): boolean {
    return this.closed;
  }

  /** Outgoing bytes not yet handed to the kernel (ours plus the socket's own buffer). */
  get bufferedBytes(): number {
    return this.queuedBytes + this.socket.writableLength;
  }

  /** Set once the broker's connect result set the incoming limit (see {@link acceptFramesUpTo}). */
  brokerLimitKnown = false;

  /** Accept incoming frames up to `bytes` from the next one on (see {@link incomingFrameLimit}). */
  acceptFramesUpTo(bytes: number): void {
    this.decoder.raiseLimit(bytes);
    this.brokerLimitKnown = true;
  }

  /**
   * Queue one encoded frame; it goes out with the others of this event-loop turn.
   * Returns false (and drops the frame) when the connection is closed, or when frames
   * already wait and this one would take them past {@link MAX_BUFFERED_BYTES}.
   */
  send(frame: Buffer): boolean {
    if (this.closed) return false;
    // One frame larger than the bound still goes when nothing waits: the broker's
    // max_message_size, checked before, is what bounds a frame.
    const waiting = this.bufferedBytes;
    if (waiting > 0 && waiting + frame.length > MAX_BUFFERED_BYTES) return false;
    this.queue.push(frame);
    this.queuedBytes += frame.length;
    if (!this.flushScheduled && !this.waitingForDrain) {
      this.flushScheduled = true;
      // setImmediate, not nextTick: it also gathers frames queued by promise continuations
      // (acks after async callbacks), and runs right after the current I/O phase.
      setImmediate(() => {
        this.flushScheduled = false;
        this.flush();
      });
    }
    return true;
  }

  /**
   * Write what is queued, half-close, and resolve once the socket has closed. A peer that
   * does not close its side within `graceMs` is cut off.
   */
  end(graceMs: number): Promise<void> {
    if (this.closed) return Promise.resolve();
    const done = new Promise<void>((resolve) => this.closeWaiters.push(resolve));
    this.closeReason ??= 'client_disconnect';
    // Bypass the drain wait: end() queues behind whatever the socket already holds.
    this.waitingForDrain = false;
    this.flush();
    this.socket.end();
    const timer = setTimeout(() => this.socket.destroy(), graceMs);
    timer.unref();
    const clear = (): void => clearTimeout(timer);
    done.then(clear, clear);
    return done;
  }

  /** Close at once; `reason` is what `onClose` will report. Queued frames are dropped. */
  destroy(reason: string): void {
    if (this.closed) return;
    this.closeReason ??= reason;
    this.closed = true;
    this.socket.destroy();
  }

  private flush(): void {
    if (this.closed || this.waitingForDrain || this.queue.length === 0) return;
    const queue = this.queue;
    const bytes = this.queuedBytes;
    this.queue = [];
    this.queuedBytes = 0;
    const socket = this.socket;
    if (queue.length === 1 || bytes < queue.length * WRITEV_MIN_AVERAGE_BYTES) {
      if (!socket.write(queue.length === 1 ? queue[0]! : Buffer.concat(queue, bytes))) this.waitingForDrain = true;
      return;
    }
    socket.cork();
    let accepted = true;
    for (const frame of queue) if (!socket.write(frame)) accepted = false;
    socket.uncork();
    if (!accepted) this.waitingForDrain = true;
  }

  private onData(chunk: Buffer): void {
    this.lastRx = performance.now();
    const oversize = this.decoder.push(chunk, (body) => {
      if (this.closed) return;
      this.heardFrame = true;
      const publishAnswers = readPublishAnswers(body);
      if (publishAnswers !== null) {
        this.handlers.onValue(publishAnswers, body);
        return;
      }
      let value: unknown;
      try {
        value = JSON.parse(decodeFrameText(body));
      } catch (err) {
        this.handlers.onError(new Error(`malformed frame from broker skipped (${body.length} bytes): ${(err as Error).message}`));
        return;
      }
      this.handlers.onValue(value, body);
    });
    if (oversize) {
      // A web server (the status page's port given for the broker's) answers our first
      // frame in HTTP, whose first bytes read as a frame header of about 1.2 GB.
      if (!this.heardFrame && chunk.subarray(0, HTTP_REPLY.length).equals(HTTP_REPLY)) {
        this.handlers.onError(new Error('the server answered in HTTP: it is a web server (a status page?), not the broker; closing'));
        this.destroy(NOT_A_BROKER);
        return;
      }
      this.handlers.onError(
        new Error(`frame header from broker announces ${oversize.declared} bytes (limit ${oversize.limit}): the stream is not a broker's or is corrupt; closing`),
      );
      this.destroy('protocol_error');
    }
  }
}
