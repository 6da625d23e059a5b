/**
 * The long-running subscriber behind `bridge sub` and `bridge reply`: connect, subscribe
 * once (a refusal is reported once and ends the command: no reconnect loop), survive
 * broker restarts with a note on stderr, and stop cleanly on Ctrl+C, a count or a timeout.
 */
import type { BrokerClient, MessageHandler } from '../src/client/index.js';
import { ErrorCode, RpcError } from '../src/protocol/errors.js';
import { CliError } from './cli-error.js';
import { connectClient, leaveBroker, type ConnectFlags } from './connect-options.js';
import { leaveAll } from './open-clients.js';
import { onShutdownSignal } from './signals.js';

export class Listener {
  private client: BrokerClient | undefined;
  private finishing = false;
  private lost = false;

  /** @param name the command, for stderr notes: `bridge ${name}: ...` */
  constructor(private readonly name: string) {
    process.stdout.on('error', (err: NodeJS.ErrnoException) => {
      // The reader went away (`bridge sub ... | head`): a normal way to stop, once the
      // session's subscriptions are dropped. Other failures end it through cli-process.ts.
      if (err.code !== 'EPIPE' || this.finishing) return;
      this.finishing = true;
      const exit = (): never => process.exit(0);
      leaveAll().then(exit, exit);
    });
  }

  /** True once the command is on its way out. */
  get stopping(): boolean {
    return this.finishing;
  }

  /** A note on stderr, so piped output stays messages only. */
  note(text: string): void {
    process.stderr.write(`bridge ${this.name}: ${text}\n`);
  }

  /**
   * Connect and subscribe `patterns` with `handler`.
   * @throws CliError when there is no broker, or when it refuses the subscription
   *   (permissions, too many patterns): said once, exit 1
   */
  async start(flags: ConnectFlags, patterns: string[], handler: MessageHandler): Promise<void> {
    const client = await connectClient(flags, { autoReconnect: true });
    if (this.finishing) {
      await leaveBroker(client);
      return;
    }
    this.client = client;
    try {
      await client.subscribe(patterns, handler);
    } catch (err) {
      this.finishing = true;
      await leaveBroker(client);
      throw new CliError(`subscribe failed: ${(err as Error).message}`);
    }
    client.on('disconnected', (reason) => {
      if (this.finishing || reason === 'client_disconnect') return;
      this.lost = true;
      this.note(`connection lost (${reason}); reconnecting...`);
    });
    client.on('connected', () => {
      if (!this.lost) return;
      this.lost = false;
      this.note('reconnected');
    });
    client.on('connection_failed', (err) => {
      // A broker that is back but refuses the subscription now (its permissions changed)
      // would refuse every later attempt too.
      if (err instanceof RpcError && err.code === ErrorCode.SUBSCRIPTION_ERROR) this.fail(`subscribe failed: ${err.message}`);
    });
    client.on('error_occurred', (err) => {
      if (!this.finishing) this.note(err.message);
    });
    onShutdownSignal(() => this.finish(0));
  }

  /** Stop and exit: a note (if any) on stderr, then unsubscribe, disconnect, exit `code`. */
  async finish(code: number, note?: string): Promise<void> {
    if (this.finishing) return;
    this.finishing = true;
    if (note) this.note(note);
    const client = this.client;
    // Unsubscribed first: the session would otherwise outlive us, queueing QoS 1 messages.
    if (client) await leaveBroker(client);
    await new Promise<void>((resolve) => process.stdout.write('', () => resolve()));
    process.exit(code);
  }

  /** Report `message` once and exit 1. */
  fail(message: string): void {
    if (this.finishing) return;
    process.stderr.write(`bridge: ${message}\n`);
    this.finish(1).catch(() => process.exit(1));
  }

  /** Run `finish` from a callback, exiting 1 if it fails. */
  finishSoon(code: number, note?: string): void {
    this.finish(code, note).catch((err: unknown) => {
      this.note((err as Error).message);
      process.exit(1);
    });
  }
}
