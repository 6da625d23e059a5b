/**
 * One client socket: framing in, batched frames out, and the state the protocol keeps
 * per connection (the attached session, heartbeat bookkeeping, why it closed).
 */
import type { Socket } from 'node:net';
import { FrameDecoder } from '../protocol/framing.js';
import type { DisconnectReason } from '../protocol/messages.js';
import type { Logger } from '../log/logger.js';
import type { FlushScheduler } from './flush-scheduler.js';
import type { ReadTurns } from './read-turns.js';
import type { BrokerMessage } from './message.js';
import { httpRefusal, NOT_HTTP, NOT_TLS, recogniseMisdirected, requestLineExcerpt } from './misdirected.js';
import { OutboundQueue } from './outbound-queue.js';
import { beginRead, endRead } from './read-clock.js';
import { releaseBuffer } from '../runtime/release-buffer.js';
import type { AckTemplate } from './ack-template.js';
import type { BatchPublishReader } from './batch-publish-template.js';
import type { PublishTemplate } from './publish-template.js';
import type { Session } from './session.js';

/** How long a closing socket may take to flush before it is destroyed. */
const CLOSE_GRACE_MS = 2000;

let nextConnectionId = 1;

export interface ConnectionHooks {
  /** A whole frame arrived: its body is `buf[start..end)`, valid until the call returns. */
  frame(conn: Connection, buf: Buffer, start: number, end: number): void;
  /** A delivery was dropped by the `max_queue_size` policy. */
  dropped(conn: Connection): void;
  /** A delivery's TTL ran out while it waited in the outbound queue. */
  expired(conn: Connection, msg: BrokerMessage): void;
  oversize(conn: Connection, declared: number, limit: number): void;
  /** Output owed to the peer was thrown away with the connection (memory to give back). */
  outputDiscarded(conn: Connection, bytes: number): void;
  closed(conn: Connection): void;
}

export class Connection {
  /** Process-unique number, for logs. */
  readonly id = nextConnectionId++;
  /** `address:port`, for logs. */
  readonly remote: string;
  /** The peer's address alone (failed logins are rate-limited per address). */
  readonly remoteAddress: string;
  readonly decoder: FrameDecoder;
  readonly outbound: OutboundQueue;
  session: Session | null = null;
  /** The envelope of this connection's plain publishes, once seen (publish-template.ts). */
  publishTemplate: PublishTemplate | null = null;
  /** The envelope of this connection's acks, once seen (ack-template.ts). */
  ackTemplate: AckTemplate | null = null;
  /** How this connection writes the publishes of its batches, once seen (batch-publish-template.ts). */
  batchPublishReader: BatchPublishReader | null = null;
  /** True once the client sent `ping`: only then does the heartbeat timeout apply. */
  pinged = false;
  lastActivity = Date.now();
  /** When the socket was accepted (status page). */
  readonly connectedAt = Date.now();
  closeReason: DisconnectReason | null = null;
  private released = false;
  /** A whole frame arrived: from then on an oversize header is a client's bug, not another protocol. */
  private sawFrame = false;
  private destroyTimer: NodeJS.Timeout | null = null;
  /** Timers owned by liveness checks; cleared on close. */
  readonly timers = new Set<NodeJS.Timeout>();

  constructor(
    readonly socket: Socket,
    maxMessageSize: number,
    maxQueueSize: number,
    private readonly maxOutputBytes: number,
    private readonly scheduler: FlushScheduler,
    private readonly readTurns: ReadTurns,
    private readonly hooks: ConnectionHooks,
    private readonly log: Logger,
  ) {
    this.remoteAddress = socket.remoteAddress ?? '?';
    this.remote = `${this.remoteAddress}:${socket.remotePort ?? '?'}`;
    this.decoder = new FrameDecoder(maxMessageSize);
    this.outbound = new OutboundQueue(socket, maxQueueSize, maxOutputBytes, scheduler, {
      dropped: () => hooks.dropped(this),
      expired: (msg) => hooks.expired(this, msg),
      overflow: (unsent) => this.exceedOutputLimit(unsent),
    });
    socket.setNoDelay(true);
    // AutoHotkey clients never ping; keepalive is what reaps their dead sockets.
    socket.setKeepAlive(true, 30_000);
    socket.on('data', (chunk: Buffer) => this.onData(chunk));
    socket.on('error', (err: NodeJS.ErrnoException) => {
      this.log.debug('socket error', { conn: this.id, remote: this.remote, client_id: this.clientId, code: err.code, error: err });
    });
    socket.on('close', () => {
      for (const t of this.timers) clearTimeout(t);
      this.timers.clear();
      if (this.destroyTimer) clearTimeout(this.destroyTimer);
      const forgotten = this.outbound.discard();
      if (forgotten > 0) hooks.outputDiscarded(this, forgotten);
      this.closeReason ??= 'connection_lost';
      this.release();
    });
  }

  /** The connected client's id, or undefined before `connect`. */
  get clientId(): string | undefined {
    return this.session?.clientId;
  }

  get isClosing(): boolean {
    return this.closeReason !== null;
  }

  private readonly onFrame = (buf: Buffer, start: number, end: number): void => {
    this.sawFrame = true;
    if (!this.closeReason) this.hooks.frame(this, buf, start, end);
  };

  private onData(chunk: Buffer): void {
    const now = Date.now();
    this.lastActivity = now;
    if (!this.closeReason) {
      this.readTurns.read(this.socket, chunk.length);
      this.scheduler.hold();
      const outer = beginRead(now);
      try {
        this.handleRead(chunk);
      } finally {
        endRead(outer);
        this.scheduler.release();
      }
    }
    // Nothing keeps a view of a read past its handling (the decoder copies a partial
    // frame, a payload kept for later is copied by RawJson.own), Node allocates every
    // read of a socket afresh, and this is the socket's only 'data' listener (one added
    // later would be handed an emptied chunk): its bytes can go back now. A read that a
    // paused connection held into the next turn was promoted, and under a flood such dead
    // reads were 10-15 MB of the broker's peak RSS while they waited for a major collection.
    releaseBuffer(chunk);
  }

  private handleRead(chunk: Buffer): void {
    const oversize = this.decoder.pushRanges(chunk, this.onFrame);

    // A frame before the header may have closed the connection (a disconnect, a refusal):
    // what follows it is not read, so it is not reported either.
    if (!oversize || this.closeReason) return;
    if (!this.sawFrame && this.refuseMisdirected(oversize.declared, chunk)) return;
    this.hooks.oversize(this, oversize.declared, oversize.limit);
  }

  /**
   * The connection's first header was oversize: when its bytes are an HTTP method or a
   * TLS record, say so (a WARNING naming the peer; an HTTP answer curl can print) and
   * close. Returns false for any other header, which is a plain oversize frame.
   */
  private refuseMisdirected(header: number, chunk: Buffer): boolean {
    const peer = recogniseMisdirected(header);
    if (!peer) return false;
    if (peer.kind === 'tls') {
      this.log.warning(NOT_TLS, { conn: this.id, remote: this.remote, hint: 'connect without TLS (plain TCP)' });
      this.close('protocol_error');
      return true;
    }
    // The request line is in this chunk unless its first bytes trickled in one by one.
    const startsHere = chunk.length >= 4 && chunk.readUInt32BE(0) === header;
    this.log.warning(NOT_HTTP, { conn: this.id, remote: this.remote, method: peer.method, request: startsHere ? requestLineExcerpt(chunk) : undefined });
    this.close('protocol_error', httpRefusal(peer.method));
    return true;
  }

  /** Queue a response or other control frame. */
  send(frame: Buffer): void {
    this.outbound.sendControl(frame);
  }

  /**
   * Close with `reason`: what is queued (and `finalFrame`) is flushed first, then the
   * socket is half-closed and, if the peer does not finish, destroyed after a grace period.
   */
  close(reason: DisconnectReason, finalFrame?: Buffer): void {
    if (this.closeReason) return;
    this.closeReason = reason;
    this.outbound.end(finalFrame);
    this.destroyTimer = setTimeout(() => this.socket.destroy(), CLOSE_GRACE_MS);
    this.destroyTimer.unref();
    // The session is released now, not when the peer finishes closing, so that a client
    // taking over the same id, and the disconnected event, never wait on a slow peer.
    this.release();
  }

  /**
   * The peer does not read what it is sent: close at once with reason `output_limit`.
   * Nothing more is flushed (it would only fill the socket's buffer instead of ours), and
   * the session is released when the socket has closed, outside the call that overflowed,
   * which may be in the middle of routing a message.
   */
  exceedOutputLimit(unsentBytes: number): void {
    if (this.closeReason) return;
    this.closeReason = 'output_limit';
    this.log.warning('closing a connection that does not read its output', {
      conn: this.id,
      client_id: this.clientId,
      remote: this.remote,
      unsent_bytes: unsentBytes,
      max_output_bytes: this.maxOutputBytes,
    });
    this.outbound.abort();
    this.hooks.outputDiscarded(this, unsentBytes);
    this.socket.destroy();
  }

  private release(): void {
    if (this.released) return;
    this.released = true;
    this.hooks.closed(this);
  }

  /** Close at once without flushing (shutdown of an unresponsive peer). */
  destroy(reason: DisconnectReason): void {
    this.closeReason ??= reason;
    this.socket.destroy();
    this.release();
  }
}
