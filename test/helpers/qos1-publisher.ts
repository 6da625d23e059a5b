/**
 * A QoS 1 publisher for crash tests. It keeps `window` publish requests outstanding on
 * one connection (a real producer pipelines; one at a time would also keep the broker's
 * `batch` policy from ever grouping appends) and writes down, in a {@link PublishLedger}
 * that outlives the connection, which sequence numbers the broker ANSWERED with a result:
 * those are the publishes the broker has promised to keep.
 *
 * It never republishes: a publish whose answer was lost with a killed broker stays
 * unacknowledged, and the next connection continues with the next sequence number. So a
 * subscriber may hold an unacknowledged number (it reached the disk, the answer did not
 * reach us), but must hold every acknowledged one.
 */
import net from 'node:net';
import { encodeJsonFrame, FrameDecoder } from '../../src/protocol/index.js';

/** What was published over every connection of one test. */
export class PublishLedger {
  /** The next sequence number to publish. */
  nextSeq = 0;
  /** seq -> the message_id of its publish response. */
  readonly acked = new Map<number, string>();
  /** Error responses to publishes (none are expected). */
  readonly errors: { seq: number; error: unknown }[] = [];
  /** Acknowledged publishes whose `delivered` was not the expected number of sessions. */
  readonly misrouted: { seq: number; delivered: unknown }[] = [];
}

/** The payload of publish `seq`: its length varies so record boundaries fall everywhere. */
export function payloadOf(seq: number): { seq: number; pad: string } {
  return { seq, pad: 'p'.repeat((seq * 7) % 61) };
}

export interface Qos1PublisherOptions {
  port: number;
  clientId: string;
  topic: string;
  /** Publish requests outstanding at once. */
  window: number;
  /** Sessions every publish must reach (`delivered` in its response). */
  expectDelivered: number;
  /** Bound on the TCP connect and the `connect` call. */
  connectTimeoutMs: number;
}

/** One connection's worth of publishing; see the module comment. */
export class Qos1Publisher {
  /** Resolves when the connection has ended (the broker was killed, or close()). */
  readonly closed: Promise<void>;
  /** Called after each acknowledged publish, with the number acknowledged on this connection. */
  onAck: ((acksHere: number) => void) | null = null;
  private readonly outstanding = new Set<number>();
  private acksHere = 0;
  private isClosed = false;
  private started = false;
  private connectAnswer: ((frame: Record<string, unknown>) => void) | null = null;

  private constructor(
    private readonly socket: net.Socket,
    private readonly ledger: PublishLedger,
    private readonly opts: Qos1PublisherOptions,
  ) {
    const decoder = new FrameDecoder(64 * 1024 * 1024);
    socket.setNoDelay(true);
    socket.on('data', (chunk: Buffer) => {
      decoder.push(chunk, (body) => this.onFrame(JSON.parse(body.toString('utf8')) as Record<string, unknown>));
      this.pump();
    });
    // A killed broker resets the connection: 'close' follows, and that is the signal.
    socket.on('error', () => {});
    this.closed = new Promise((resolve) =>
      socket.on('close', () => {
        this.isClosed = true;
        resolve();
      }),
    );
  }

  /** Open a connection and `connect` as `clientId`; publishing starts with {@link start}. */
  static async connect(ledger: PublishLedger, opts: Qos1PublisherOptions): Promise<Qos1Publisher> {
    const socket = net.connect({ host: '127.0.0.1', port: opts.port });
    const p = new Qos1Publisher(socket, ledger, opts);
    const answer = new Promise<Record<string, unknown>>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`publisher: no answer to connect within ${opts.connectTimeoutMs} ms`)), opts.connectTimeoutMs);
      p.connectAnswer = (frame) => {
        clearTimeout(timer);
        resolve(frame);
      };
      socket.once('close', () => {
        clearTimeout(timer);
        reject(new Error('publisher: connection closed before connect was answered'));
      });
    });
    socket.write(encodeJsonFrame({ jsonrpc: '2.0', id: 'connect', method: 'connect', params: { client_id: opts.clientId, client_type: 'test', version: '1' } }));
    try {
      const res = await answer;
      if (res.error !== undefined) throw new Error(`publisher: connect refused: ${JSON.stringify(res.error)}`);
    } catch (err) {
      socket.destroy();
      throw err;
    }
    return p;
  }

  /** Start publishing: `window` requests now, one more after each answer, until the connection ends. */
  start(): void {
    this.started = true;
    this.pump();
  }

  close(): void {
    this.socket.destroy();
  }

  /** Fill the window, in one write. */
  private pump(): void {
    if (!this.started || this.isClosed) return;
    const frames: Buffer[] = [];
    while (this.outstanding.size < this.opts.window) {
      const seq = this.ledger.nextSeq++;
      this.outstanding.add(seq);
      frames.push(encodeJsonFrame({ jsonrpc: '2.0', id: seq, method: 'publish', params: { topic: this.opts.topic, payload: payloadOf(seq), qos: 1 } }));
    }
    if (frames.length > 0) this.socket.write(Buffer.concat(frames));
  }

  private onFrame(frame: Record<string, unknown>): void {
    if (frame.id === 'connect') {
      this.connectAnswer?.(frame);
      return;
    }
    const seq = frame.id;
    if (typeof seq !== 'number' || !this.outstanding.delete(seq)) return;
    if (frame.error !== undefined) {
      this.ledger.errors.push({ seq, error: frame.error });
      return;
    }
    const result = frame.result as { message_id?: unknown; delivered?: unknown } | undefined;
    if (typeof result?.message_id !== 'string') {
      this.ledger.errors.push({ seq, error: { unexpected_result: result } });
      return;
    }
    this.ledger.acked.set(seq, result.message_id);
    if (result.delivered !== this.opts.expectDelivered) this.ledger.misrouted.push({ seq, delivered: result.delivered });
    this.onAck?.(++this.acksHere);
  }
}
