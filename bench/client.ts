/**
 * A minimal client for the wire contract, written for measuring rather than for apps:
 * it decodes frames with the project's FrameDecoder, JSON.parses every frame (a real
 * client must, so that cost belongs in the figures), hands deliveries to a callback and
 * settles request ids. Writing is raw: callers batch frames themselves and honour
 * backpressure through `write()`'s result and `drained()`.
 */
import net from 'node:net';
import { FrameDecoder } from '../src/protocol/framing.js';
import { VERSION } from '../src/version.js';
import { callFrame } from './wire.js';

/** Deliveries bigger than this are a bench bug, not something to buffer. */
const MAX_FRAME_BYTES = 16 * 1024 * 1024;

export const HOST = '127.0.0.1';

interface Pending {
  resolve(result: unknown): void;
  reject(err: Error): void;
  timer: NodeJS.Timeout;
}

export type DeliveryHandler = (params: Record<string, unknown>) => void;

export class BenchConnection {
  /** Set once the socket closed (by us or by the broker). */
  closed = false;
  /** Frames that were not JSON or not understood: should stay 0. */
  badFrames = 0;
  /**
   * Answers to requests this class did not send (the QoS 1 publisher writes its publish
   * requests raw, see wire.ts): the id, and the result or error.
   */
  onAnswer: ((id: number, result: unknown, error: unknown) => void) | null = null;
  private readonly decoder = new FrameDecoder(MAX_FRAME_BYTES);
  private readonly pending = new Map<number, Pending>();
  private nextId = 1;

  private constructor(
    private readonly socket: net.Socket,
    private readonly onDelivery: DeliveryHandler,
  ) {
    socket.setNoDelay(true);
    socket.on('data', (chunk: Buffer) => {
      const oversize = this.decoder.push(chunk, (body) => this.onFrame(body));
      if (oversize) socket.destroy(new Error(`frame of ${oversize.declared} bytes from the broker`));
    });
    socket.on('error', () => {
      // 'close' follows and settles everything; errors during teardown are expected.
    });
    socket.on('close', () => {
      this.closed = true;
      for (const [id, p] of this.pending) {
        clearTimeout(p.timer);
        p.reject(new Error(`connection closed before the answer to request ${id}`));
      }
      this.pending.clear();
    });
  }

  /** Open a TCP connection to the broker on 127.0.0.1 and send `connect` as `clientId`. */
  static async open(port: number, clientId: string, onDelivery: DeliveryHandler = () => {}, timeoutMs = 5000): Promise<BenchConnection> {
    const socket = net.connect({ host: HOST, port });
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => {
        socket.destroy();
        reject(new Error(`no TCP connection to ${HOST}:${port} within ${timeoutMs} ms`));
      }, timeoutMs);
      socket.once('connect', () => {
        clearTimeout(timer);
        resolve();
      });
      socket.once('error', (err) => {
        clearTimeout(timer);
        reject(err);
      });
    });
    const conn = new BenchConnection(socket, onDelivery);
    await conn.call('connect', { client_id: clientId, client_type: 'bench', version: VERSION, clean_session: true }, timeoutMs);
    return conn;
  }

  /** Send a request and resolve with its result; rejects on an error response or timeout. */
  call(method: string, params: Record<string, unknown>, timeoutMs = 5000): Promise<unknown> {
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.pending.delete(id);
        reject(new Error(`no answer to ${method} within ${timeoutMs} ms`));
      }, timeoutMs);
      this.pending.set(id, { resolve, reject, timer });
      this.socket.write(callFrame(id, method, params));
    });
  }

  /** Subscribe to `patterns`, resolving once the broker confirmed. */
  async subscribe(patterns: string[]): Promise<void> {
    await this.call('subscribe', { patterns });
  }

  /** Hand bytes to the socket; false means "wait for drained() before writing more". */
  write(data: Buffer): boolean {
    return this.socket.write(data);
  }

  /** Resolves when the socket's write buffer has drained (or the socket closed). */
  drained(): Promise<void> {
    if (!this.socket.writableNeedDrain || this.closed) return Promise.resolve();
    return new Promise((resolve) => {
      const done = (): void => {
        this.socket.off('drain', done);
        this.socket.off('close', done);
        resolve();
      };
      this.socket.once('drain', done);
      this.socket.once('close', done);
    });
  }

  /** Close without ceremony: the broker treats it as connection_lost, which is fine here. */
  close(): void {
    this.socket.destroy();
  }

  private onFrame(body: Buffer): void {
    let msg: unknown;
    try {
      msg = JSON.parse(body.toString('utf8'));
    } catch {
      this.badFrames++;
      return;
    }
    if (typeof msg !== 'object' || msg === null || Array.isArray(msg)) {
      this.badFrames++;
      return;
    }
    const m = msg as { method?: unknown; params?: unknown; id?: unknown; result?: unknown; error?: { message?: string } };
    if (m.method === 'message' && typeof m.params === 'object' && m.params !== null) {
      this.onDelivery(m.params as Record<string, unknown>);
      return;
    }
    const waiter = typeof m.id === 'number' ? this.pending.get(m.id) : undefined;
    if (!waiter) {
      if (typeof m.id === 'number' && this.onAnswer) this.onAnswer(m.id, m.result, m.error);
      else this.badFrames++;
      return;
    }
    this.pending.delete(m.id as number);
    clearTimeout(waiter.timer);
    if (m.error) waiter.reject(new Error(`broker error: ${m.error.message ?? JSON.stringify(m.error)}`));
    else waiter.resolve(m.result);
  }
}
