/**
 * A wire-level client for the fuzz test. Unlike RawClient it consumes what it received
 * (a fuzz run sees hundreds of thousands of frames, and scanning them all on every wait
 * would be quadratic), decodes frames itself rather than with the broker's FrameDecoder,
 * and splits deliveries (`method: "message"`) from answers as they arrive.
 */
import net from 'node:net';

/** A frame the broker sent that is not JSON: kept so the checker can report it. */
export class Unparsable {
  constructor(readonly text: string) {}
}

type Waiter = { pred: () => boolean; resolve: (ok: boolean) => void; timer: NodeJS.Timeout };

export class FuzzSocket {
  /** Everything but deliveries, in arrival order, until taken. */
  answers: unknown[] = [];
  deliveries = 0;
  isClosed = false;
  /** Called for each delivery's params (e.g. to ack, or to auto-reply to a request). */
  onDelivery: ((params: Record<string, unknown>) => void) | null = null;
  private pending: Buffer = Buffer.alloc(0);
  private waiters: Waiter[] = [];
  /** While a window is being written in pieces, other writes wait so frames never interleave. */
  private writing = false;
  private deferred: Buffer[] = [];

  private constructor(readonly socket: net.Socket) {
    socket.on('data', (chunk: Buffer) => this.onData(chunk));
    socket.on('error', () => {
      // The close event follows; the checker reports an unexpected close.
    });
    socket.on('close', () => {
      this.isClosed = true;
      this.wake();
    });
  }

  static open(port: number): Promise<FuzzSocket> {
    return new Promise((resolve, reject) => {
      const socket = net.connect({ port, host: '127.0.0.1' });
      socket.once('connect', () => {
        socket.setNoDelay(true);
        socket.removeListener('error', reject);
        resolve(new FuzzSocket(socket));
      });
      socket.once('error', reject);
    });
  }

  private onData(chunk: Buffer): void {
    let buf = this.pending.length === 0 ? chunk : Buffer.concat([this.pending, chunk]);
    let off = 0;
    while (buf.length - off >= 4) {
      const n = buf.readUInt32BE(off);
      if (buf.length - off - 4 < n) break;
      const text = buf.toString('utf8', off + 4, off + 4 + n);
      off += 4 + n;
      let frame: unknown;
      try {
        frame = JSON.parse(text);
      } catch {
        frame = new Unparsable(text);
      }
      const f = frame as { method?: unknown; params?: unknown };
      if (typeof f === 'object' && f !== null && !Array.isArray(f) && f.method === 'message' && !('id' in f)) {
        this.deliveries++;
        if (this.onDelivery && typeof f.params === 'object' && f.params !== null) this.onDelivery(f.params as Record<string, unknown>);
      } else {
        this.answers.push(frame);
      }
    }
    // Copy the tail: `chunk` may be a pooled buffer.
    buf = buf.subarray(off);
    this.pending = buf.length === 0 ? Buffer.alloc(0) : Buffer.from(buf);
    this.wake();
  }

  private wake(): void {
    for (const w of [...this.waiters]) {
      if (w.pred() || this.isClosed) {
        clearTimeout(w.timer);
        this.drop(w);
        w.resolve(w.pred());
      }
    }
  }

  private drop(w: Waiter): void {
    const i = this.waiters.indexOf(w);
    if (i >= 0) this.waiters.splice(i, 1);
  }

  /** Resolves true once `pred()` holds, false on close or after `timeoutMs` (event-driven). */
  until(pred: () => boolean, timeoutMs: number): Promise<boolean> {
    if (pred()) return Promise.resolve(true);
    if (this.isClosed) return Promise.resolve(false);
    return new Promise((resolve) => {
      const waiter: Waiter = {
        pred,
        resolve,
        timer: setTimeout(() => {
          this.drop(waiter);
          resolve(pred());
        }, timeoutMs),
      };
      this.waiters.push(waiter);
    });
  }

  /** Resolves true when the socket is closed within `timeoutMs`. */
  closedWithin(timeoutMs: number): Promise<boolean> {
    return this.until(() => this.isClosed, timeoutMs).then(() => this.isClosed);
  }

  /** Write whole frames now, or after the window being written in pieces. */
  write(bytes: Buffer): void {
    if (this.isClosed) return;
    if (this.writing) this.deferred.push(bytes);
    else this.socket.write(bytes);
  }

  /**
   * Write `bytes` as `pieces` (cut anywhere, even inside a header), yielding to the event
   * loop between some of them so the broker sees frames split over several reads.
   */
  async writePieces(bytes: Buffer, cuts: number[], yieldAt: Set<number>): Promise<void> {
    this.writing = true;
    try {
      let prev = 0;
      for (let i = 0; i <= cuts.length; i++) {
        const end = i < cuts.length ? cuts[i]! : bytes.length;
        if (end > prev && !this.isClosed) this.socket.write(bytes.subarray(prev, end));
        prev = Math.max(prev, end);
        if (yieldAt.has(i)) await new Promise((r) => setImmediate(r));
      }
    } finally {
      this.writing = false;
      for (const b of this.deferred.splice(0)) this.write(b);
    }
  }

  /** Send a request and wait for the next answer (callers keep one call in flight). */
  async call(method: string, params: unknown, id: string, timeoutMs = 10_000): Promise<unknown> {
    const at = this.answers.length;
    this.write(frameJson({ jsonrpc: '2.0', method, params, id }));
    const ok = await this.until(() => this.answers.length > at, timeoutMs);
    if (!ok) throw new Error(`no answer to ${method} (${id}) within ${timeoutMs} ms${this.isClosed ? ': connection closed' : ''}`);
    return this.answers.splice(at, 1)[0];
  }

  close(): void {
    this.socket.destroy();
  }
}

export function frameJson(value: unknown): Buffer {
  const body = Buffer.from(JSON.stringify(value), 'utf8');
  const header = Buffer.allocUnsafe(4);
  header.writeUInt32BE(body.length, 0);
  return Buffer.concat([header, body]);
}
