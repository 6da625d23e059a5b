/**
 * A deliberately dumb wire-level client for black-box broker tests: it writes whatever
 * bytes a test gives it and records every frame the broker sends, so tests can assert
 * on exact responses, including to malformed input. Waiting is event-driven.
 */
import net from 'node:net';
import { encodeJsonFrame, FrameDecoder } from '../../src/protocol/index.js';

// Frames are parsed JSON from the broker; tests inspect them structurally.
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type Frame = any; // any: tests read arbitrary response fields without casts

const DEFAULT_WAIT_MS = 5000;

export class RawClient {
  readonly frames: Frame[] = [];
  private readonly waiters: { pred: (f: Frame) => boolean; resolve: (f: Frame) => void }[] = [];
  private nextId = 1;
  readonly closed: Promise<void>;
  isClosed = false;

  private constructor(readonly socket: net.Socket) {
    const decoder = new FrameDecoder(64 * 1024 * 1024);
    socket.on('data', (chunk) =>
      decoder.push(chunk, (body) => {
        const frame = JSON.parse(body.toString('utf8'));
        this.frames.push(frame);
        for (const w of [...this.waiters]) {
          if (w.pred(frame)) {
            this.waiters.splice(this.waiters.indexOf(w), 1);
            w.resolve(frame);
          }
        }
      }),
    );
    socket.on('error', () => {});
    this.closed = new Promise((resolve) =>
      socket.on('close', () => {
        this.isClosed = true;
        resolve();
      }),
    );
  }

  static async open(port: number, host = '127.0.0.1'): Promise<RawClient> {
    const socket = net.connect({ port, host });
    await new Promise<void>((resolve, reject) => {
      socket.once('connect', resolve);
      socket.once('error', reject);
    });
    socket.setNoDelay(true);
    return new RawClient(socket);
  }

  /** Open and `connect` as `clientId`. */
  static async connected(port: number, clientId: string, params: Record<string, unknown> = {}): Promise<RawClient> {
    const c = await RawClient.open(port);
    const res = await c.call('connect', { client_id: clientId, client_type: 'test', version: '1', ...params });
    if (res.error) throw new Error(`connect failed: ${JSON.stringify(res.error)}`);
    return c;
  }

  writeRaw(bytes: Buffer | Uint8Array): void {
    this.socket.write(bytes);
  }

  send(value: unknown): void {
    this.socket.write(encodeJsonFrame(value));
  }

  /** Send a request and wait for the response with its id (the whole response object). */
  call(method: string, params?: unknown, timeoutMs = DEFAULT_WAIT_MS): Promise<Frame> {
    const id = this.nextId++;
    const msg: Record<string, unknown> = { jsonrpc: '2.0', method, id };
    if (params !== undefined) msg.params = params;
    const response = this.waitFor((f) => !Array.isArray(f) && f.id === id && !f.method, timeoutMs, `response to ${method} #${id}`);
    this.send(msg);
    return response;
  }

  /** Send a notification (no response expected). */
  notify(method: string, params?: unknown): void {
    this.send(params === undefined ? { jsonrpc: '2.0', method } : { jsonrpc: '2.0', method, params });
  }

  /** The first frame, already received or still to come, that satisfies `pred`. */
  waitFor(pred: (f: Frame) => boolean, timeoutMs = DEFAULT_WAIT_MS, what = 'frame'): Promise<Frame> {
    const found = this.frames.find(pred);
    if (found !== undefined) return Promise.resolve(found);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.waiters.splice(this.waiters.indexOf(waiter), 1);
        reject(new Error(`timed out after ${timeoutMs} ms waiting for ${what}; got ${JSON.stringify(this.frames).slice(0, 2000)}`));
      }, timeoutMs);
      const waiter = {
        pred,
        resolve: (f: Frame) => {
          clearTimeout(timer);
          resolve(f);
        },
      };
      this.waiters.push(waiter);
    });
  }

  /** Deliveries (`message` notifications) received so far, optionally for one topic. */
  deliveries(topic?: string): Frame[] {
    return this.frames.filter((f) => f.method === 'message' && (topic === undefined || f.params.topic === topic)).map((f) => f.params);
  }

  /** Wait until `n` deliveries matching `topic` (or all) have arrived. */
  async waitDeliveries(n: number, topic?: string, timeoutMs = DEFAULT_WAIT_MS): Promise<Frame[]> {
    let seen = 0;
    await this.waitFor(
      (f) => f.method === 'message' && (topic === undefined || f.params.topic === topic) && ++seen >= n,
      timeoutMs,
      `${n} deliveries${topic ? ` on ${topic}` : ''}`,
    ).catch(async (err) => {
      if (this.deliveries(topic).length >= n) return;
      throw err;
    });
    return this.deliveries(topic);
  }

  /** Wait for a delivery on `topic` satisfying `pred`. */
  waitDelivery(topic: string, pred: (p: Frame) => boolean = () => true, timeoutMs = DEFAULT_WAIT_MS): Promise<Frame> {
    return this.waitFor((f) => f.method === 'message' && f.params.topic === topic && pred(f.params), timeoutMs, `delivery on ${topic}`).then(
      (f) => f.params,
    );
  }

  /** Resolves when the broker closed the socket; rejects after `timeoutMs`. */
  waitClosed(timeoutMs = DEFAULT_WAIT_MS): Promise<void> {
    return Promise.race([
      this.closed,
      new Promise<void>((_, reject) => setTimeout(() => reject(new Error('socket was not closed')), timeoutMs).unref()),
    ]);
  }

  close(): void {
    this.socket.destroy();
  }
}
