/**
 * A TCP relay between a client and a broker, for tests of a network that fails while the
 * broker stays up: `cut()` drops every relayed connection, `refuse()` stops accepting
 * until `accept()` listens again on the same port, and `blackhole()` keeps the port but
 * drops every connection at once until `resume()` (the port stays taken, so a bridge
 * cannot host a broker there meanwhile); `hold()` keeps what clients send in the relay,
 * connections open, until `release()`. Real sockets, no mocks.
 */
import net from 'node:net';

export class TcpRelay {
  private server: net.Server | null = null;
  private readonly pairs = new Set<net.Socket>();
  /** Each relayed connection's client side and the socket to the target it is piped to. */
  private readonly toTarget = new Map<net.Socket, net.Socket>();
  private holding = false;
  private dropping = false;
  port = 0;

  private constructor(private readonly target: number) {}

  /** Relay a free loopback port to `target` on 127.0.0.1. */
  static async start(target: number): Promise<TcpRelay> {
    const relay = new TcpRelay(target);
    await relay.accept();
    return relay;
  }

  /** Listen (again, on the same port once chosen). */
  async accept(): Promise<void> {
    const server = net.createServer((inbound) => {
      if (this.dropping) {
        inbound.destroy();
        return;
      }
      const outbound = net.connect({ host: '127.0.0.1', port: this.target });
      for (const s of [inbound, outbound]) {
        this.pairs.add(s);
        s.on('error', () => s.destroy());
        s.on('close', () => {
          this.pairs.delete(s);
          inbound.destroy();
          outbound.destroy();
        });
      }
      this.toTarget.set(inbound, outbound);
      inbound.on('close', () => this.toTarget.delete(inbound));
      if (!this.holding) inbound.pipe(outbound);
      outbound.pipe(inbound);
    });
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(this.port, '127.0.0.1', () => resolve());
    });
    this.port = (server.address() as net.AddressInfo).port;
    this.server = server;
  }

  /**
   * Stop accepting new connections at once; resolves when the relayed ones have closed
   * too (`cut()` them first to have that now).
   */
  async refuse(): Promise<void> {
    const server = this.server;
    this.server = null;
    if (server) await new Promise<void>((resolve) => server.close(() => resolve()));
  }

  /** Drop every connection, now and until `resume()`. */
  blackhole(): void {
    this.dropping = true;
    this.cut();
  }

  /** Relay new connections again after `blackhole()`. */
  resume(): void {
    this.dropping = false;
  }

  /** Keep what clients send from now on in the relay (a slow link one way); the target's answers still pass. */
  hold(): void {
    this.holding = true;
    for (const [inbound, outbound] of this.toTarget) inbound.unpipe(outbound);
  }

  /** Pass on what `hold()` kept, and everything after it. */
  release(): void {
    this.holding = false;
    for (const [inbound, outbound] of this.toTarget) inbound.pipe(outbound);
  }

  /** Drop every relayed connection, as a network failure would. */
  cut(): void {
    for (const s of this.pairs) s.destroy();
  }

  async close(): Promise<void> {
    this.cut();
    await this.refuse();
  }
}
