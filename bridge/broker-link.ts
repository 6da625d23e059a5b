/**
 * The bridge's connection to a broker: join the one at host:port, or host one in this
 * process when none answers. A bridge that joined survives the hosting bridge's exit: its
 * client reconnects, and when nothing answers it tries to host the broker itself (only one
 * bridge wins the port; the others keep joining).
 *
 * The broker and the status page are loaded only by a bridge that hosts them: a bridge
 * that joins (every `bridge run` after the first) stays the size of a client.
 */
import { EventEmitter } from 'node:events';
import type { BrokerConfig, MessageBroker } from '../src/broker/index.js';
import { BrokerClient, type MessageHandler } from '../src/client/index.js';
import type { Logger } from '../src/log/logger.js';
import { WarningBudget } from '../src/log/warning-budget.js';
import { systemClock, type Clock, type ClockTimer } from '../src/protocol/clock.js';
import type { StatusPage } from './status-page/status-page.js';
import type { OutputFlow } from './supervisor/script-process.js';

export type LinkRole = 'joined' | 'hosting';

export interface BrokerLinkOptions {
  host: string;
  port: number;
  clientId: string;
  token?: string;
  /** Options for a broker this bridge hosts (host and port are taken from above). */
  brokerConfig?: Partial<BrokerConfig>;
  log: Logger;
  /** Time source for the takeover delay (tests pass a manual one). */
  clock?: Clock;
}

export interface BrokerLinkEvents {
  role: [role: LinkRole];
}

/** Events kept while the broker is unreachable, oldest dropped first past this. */
const MAX_OUTBOX = 10_000;
/**
 * Publishes awaiting the broker's answer at which the link is congested, and at which it
 * flows again. A script that floods its output is read no faster than the broker takes
 * it, so that the connection's buffer never fills and refuses other scripts' events.
 */
const CONGESTED_AT = 1000;
const FLOWING_AT = 250;
/** A failing publish is logged at WARNING at most this often; the ones between are counted. */
const PUBLISH_WARNING_MS = 10_000;

export class BrokerLink extends EventEmitter<BrokerLinkEvents> implements OutputFlow {
  readonly client: BrokerClient;
  /** Publishes sent and not yet answered. */
  private inFlight = 0;
  private isCongested = false;
  /** What to resume once publishes no longer pile up: one per script output stream held. */
  private waitingForFlow: (() => void)[] = [];
  private readonly publishWarnings: WarningBudget;
  private broker: MessageBroker | null = null;
  private page: StatusPage | null = null;
  private outbox: { topic: string; payload: unknown }[] = [];
  private droppedWhileOffline = 0;
  private stopping = false;
  private takeoverTimer: ClockTimer | null = null;
  private readonly clock: Clock;

  constructor(private readonly opts: BrokerLinkOptions) {
    super();
    this.clock = opts.clock ?? systemClock;
    this.publishWarnings = new WarningBudget(opts.log, 1, PUBLISH_WARNING_MS, () => this.clock.now());
    this.client = new BrokerClient(opts.clientId, {
      host: opts.host,
      port: opts.port,
      clientType: 'bridge',
      token: opts.token,
      autoReconnect: true,
      reconnectDelay: 0.2,
      maxReconnectDelay: 2,
      maxReconnectAttempts: 0,
      // A command request waits on a script's reply; it must not hold up other scripts'
      // commands or control requests behind it. Stdin order is kept: handlers start in order.
      concurrentDeliveries: true,
      logger: opts.log.child('link'),
    });
    this.client.on('connected', () => this.flushOutbox());
    this.client.on('disconnected', (reason) => {
      // Offline, events go to the outbox (bounded): scripts are read on, not held up for the outage.
      this.flowAgain();
      if (this.stopping || reason === 'client_disconnect') return;
      opts.log.warning('lost the broker; reconnecting, or hosting it if nobody does', { reason, host: opts.host, port: opts.port });
      this.scheduleTakeover();
    });
    this.client.on('error_occurred', (err) => opts.log.warning('broker client error', { error: err }));
  }

  /** Whether this process hosts the broker. */
  get role(): LinkRole {
    return this.broker ? 'hosting' : 'joined';
  }

  /** The hosted broker, when this bridge hosts one. */
  get hostedBroker(): MessageBroker | null {
    return this.broker;
  }

  /** Join a running broker, or host one. Resolves once connected. */
  async start(): Promise<LinkRole> {
    try {
      await this.client.connect();
      this.opts.log.info('joined the broker already running', { host: this.opts.host, port: this.opts.port });
    } catch (err) {
      if (!isUnreachable(err)) throw err;
      if (!(await this.tryHost())) {
        // Somebody else took the port between our connect and our listen: join them.
        await this.client.connect();
        this.opts.log.info('joined the broker already running', { host: this.opts.host, port: this.opts.port });
      }
      if (!this.client.isConnected) await this.client.connect();
    }
    if (!this.broker && this.opts.brokerConfig?.federation) {
      this.opts.log.warning('federation is set up by the process hosting the broker; this bridge joined one, so --upstream is not used here (it will be if this bridge takes the broker over)', {
        host: this.opts.host,
        port: this.opts.port,
      });
    }
    if (this.broker) {
      try {
        await this.openStatusPage(this.broker);
      } catch (err) {
        // The command fails: it must not keep hosting the broker behind its error (the
        // process would never exit).
        await this.stop();
        throw err;
      }
    } else if (this.opts.brokerConfig?.http) {
      this.opts.log.warning('the status page is served by the process hosting the broker; this bridge joined one, so --http is not served here (it will be if this bridge takes the broker over)', {
        host: this.opts.host,
        port: this.opts.port,
      });
    }
    this.emit('role', this.role);
    return this.role;
  }

  /** Try to host the broker on our port. False when another process has it. */
  private async tryHost(): Promise<boolean> {
    const { MessageBroker } = await import('../src/broker/index.js');
    const broker = new MessageBroker(
      { ...this.opts.brokerConfig, host: this.opts.host, port: this.opts.port },
      { logger: this.opts.log.child('broker') },
    );
    try {
      await broker.start();
    } catch (err) {
      if ((err as { code?: unknown }).code === 'EADDRINUSE') return false;
      throw err;
    }
    this.broker = broker;
    this.opts.log.info('no broker was running: hosting it in this process', { host: this.opts.host, port: broker.port });
    return true;
  }

  /** The status page of a broker this bridge hosts, when the config asks for one. */
  private async openStatusPage(broker: MessageBroker): Promise<void> {
    const setting = this.opts.brokerConfig?.http;
    if (!setting || this.page) return;
    const { StatusPage } = await import('./status-page/status-page.js');
    const page = new StatusPage({ broker, setting, log: this.opts.log.child('http') });
    await page.start();
    this.page = page;
  }

  /** The hosted broker's status page, while there is one. */
  get statusPage(): StatusPage | null {
    return this.page;
  }

  private scheduleTakeover(): void {
    if (this.takeoverTimer || this.broker) return;
    // Jitter, so bridges that lost the same broker do not all race for the port at once.
    const delay = 100 + Math.floor(Math.random() * 400);
    this.takeoverTimer = this.clock.setTimeout(() => {
      this.takeoverTimer = null;
      if (this.stopping || this.client.isConnected || this.broker) return;
      this.tryHost()
        .then(async (hosted) => {
          if (hosted) {
            // A page that cannot open now (its port taken) must not cost the broker.
            await this.openStatusPage(this.broker!).catch((err: unknown) => {
              this.opts.log.warning('status page not started', { error: err as Error });
            });
            this.emit('role', 'hosting');
          }
          else if (!this.client.isConnected) this.scheduleTakeover();
        })
        .catch((err: unknown) => {
          this.opts.log.error('could not host the broker', { error: err as Error });
          this.scheduleTakeover();
        });
    }, delay);
    this.takeoverTimer.unref();
  }

  /** Publish an event; kept in order while the broker is unreachable. */
  publish(topic: string, payload: unknown): void {
    if (!this.client.isConnected || this.outbox.length > 0) {
      this.enqueue(topic, payload);
      return;
    }
    this.send(topic, payload);
  }

  /** Publishes sent and not yet answered by the broker. */
  get pendingPublishes(): number {
    return this.inFlight;
  }

  /** True while so many publishes await the broker's answer that scripts' output should wait. */
  get congested(): boolean {
    return this.isCongested;
  }

  onFlowing(resume: () => void): void {
    if (!this.isCongested) resume();
    else this.waitingForFlow.push(resume);
  }

  private send(topic: string, payload: unknown): void {
    this.inFlight++;
    if (this.inFlight >= CONGESTED_AT) this.isCongested = true;
    this.client.publish(topic, payload).then(
      () => this.settled(),
      (err: unknown) => {
        this.settled();
        if (this.client.isConnected) this.publishWarnings.warning('publish failed', { topic, error: err as Error });
        else if (!this.stopping) this.enqueue(topic, payload);
        else this.opts.log.info('event not published: the bridge is stopping and the broker is gone', { topic });
      },
    );
  }

  private settled(): void {
    this.inFlight--;
    if (this.inFlight <= FLOWING_AT) this.flowAgain();
  }

  private flowAgain(): void {
    if (!this.isCongested) return;
    this.isCongested = false;
    const waiting = this.waitingForFlow;
    this.waitingForFlow = [];
    for (const resume of waiting) resume();
  }

  private enqueue(topic: string, payload: unknown): void {
    this.outbox.push({ topic, payload });
    if (this.outbox.length > MAX_OUTBOX) {
      this.outbox.shift();
      this.droppedWhileOffline++;
    }
  }

  private flushOutbox(): void {
    if (this.droppedWhileOffline > 0) {
      this.opts.log.warning('events dropped while the broker was unreachable', { dropped: this.droppedWhileOffline });
      this.droppedWhileOffline = 0;
    }
    const pending = this.outbox;
    this.outbox = [];
    for (const { topic, payload } of pending) this.send(topic, payload);
  }

  /**
   * Subscribe through the link's client. Durable: a broker that vanishes during start-up
   * (its hosting bridge exited) does not lose the subscription; the reconnect makes it.
   */
  subscribe(patterns: string[], handler: MessageHandler): Promise<string[]> {
    return this.client.subscribe(patterns, handler, { durable: true });
  }

  /**
   * The bridge has begun to stop (its scripts' last events still to send): the broker
   * going away from now on is part of the same shutdown, often the same program's, so it
   * is neither a WARNING nor a reason to host the broker.
   */
  beginStopping(): void {
    this.stopping = true;
    if (this.takeoverTimer) this.clock.clearTimeout(this.takeoverTimer);
    this.client.windDown();
  }

  /** Disconnect, and stop the hosted broker if any. */
  async stop(): Promise<void> {
    this.beginStopping();
    // Let queued events reach the broker before leaving.
    await this.client.disconnect();
    if (this.page) await this.page.stop();
    if (this.broker) await this.broker.stop('bridge stopping');
  }
}

/** Nothing listens there: a broker to host, not an error (BrokerConnectionError's code). */
function isUnreachable(err: unknown): boolean {
  return (err as { code?: unknown }).code === 'ECONNREFUSED';
}
