/**
 * `MessageBroker`: owns the listening sockets and wires the broker's parts together.
 * Protocol behaviour lives in the parts: `dispatcher.ts` (JSON-RPC), `handlers/` (one
 * file per method), `router.ts` (delivery), `session-store.ts` (sessions), and the
 * trackers for requests, acks and retained messages.
 */
import type net from 'node:net';
import { ErrorCode, RpcError } from '../protocol/errors.js';
import { encodeFrame } from '../protocol/framing.js';
import { errorResponse, invalidRequest } from '../protocol/jsonrpc.js';
import { isoTimestamp } from '../protocol/timestamp.js';
import { Logger } from '../log/logger.js';
import { VERSION } from '../version.js';
import { AckTracker } from './ack-tracker.js';
import { Authenticator } from './auth/authenticator.js';
import { checkExposure } from './auth/exposure.js';
import { AuthFailureLog } from './auth/failure-log.js';
import { ConfigError, resolveConfig, type BrokerConfig } from './config.js';
import { nodeCrypto } from './crypto-on-demand.js';
import type { FederationSetting } from './federation/federation-setting.js';
import { Connection, type ConnectionHooks } from './connection.js';
import type { BrokerContext } from './context.js';
import { Dispatcher } from './dispatcher.js';
import type { Durability } from './durability.js';
import { NO_FAULTS, type FaultInjector } from './faults.js';
import { FlushScheduler } from './flush-scheduler.js';
import { ReadTurns, TURN_READ_BYTES, type BULK_READ_BYTES } from './read-turns.js';
import { brokerStatus } from './handlers/status.js';
import { watchConnectTimeout } from './liveness.js';
import { listen } from './listener.js';
import { MemoryReleaser } from './memory-release.js';
import { BrokerMonitor } from './monitor/broker-monitor.js';
import type { Federation } from './federation/federation.js';
import type { JournalFs } from './persistence/index.js';
import { RequestTracker } from './request-tracker.js';
import { RetainedStore } from './retained-store.js';
import { Router } from './router.js';
import { SessionStore } from './session-store.js';
import { SlowConsumerMonitor } from './slow-consumer.js';
import { BrokerStats } from './stats.js';
import { SystemEvents } from './system-events.js';

export interface MessageBrokerOptions {
  /** Where logs go; by default a logger at `config.log_level` writing to stderr. */
  logger?: Logger;
  /** Test seam: called at each step a bug could break; throwing simulates that failure. */
  faults?: FaultInjector;
  /**
   * Test seam: the file system the persistence journal uses (a test makes writes fail
   * with ENOSPC through it). The real one by default.
   */
  persistenceFs?: JournalFs;
  /**
   * Called once, the first time a connection delivers a read of {@link BULK_READ_BYTES}
   * or more: a peer writing faster than the broker reads. It runs synchronously on the
   * read path; an exception it throws is logged. `bridge broker` lets V8's optimizing
   * compiler in then.
   */
  onBulkRead?: () => void;
}

/** How long `stop()` waits for peers to finish closing before destroying their sockets. */
const STOP_GRACE_MS = 2000;

/**
 * The broker. `start()` listens (loopback only unless `host` says otherwise), `stop()`
 * publishes `system.broker.shutdown` and closes every socket.
 *
 * @example
 * const broker = new MessageBroker({ port: 15234 });
 * await broker.start();
 */
export class MessageBroker {
  readonly config: BrokerConfig;
  readonly log: Logger;
  private readonly stats = new BrokerStats();
  private readonly acks = new AckTracker();
  private readonly retained = new RetainedStore();
  private readonly requests = new RequestTracker();
  private readonly sessions: SessionStore;
  private readonly router: Router;
  private readonly system: SystemEvents;
  private readonly dispatcher: Dispatcher;
  private readonly scheduler = new FlushScheduler();
  private readonly readTurns: ReadTurns;
  private readonly connections = new Set<Connection>();
  private readonly memory: MemoryReleaser;
  private readonly auth: Authenticator;
  /**
   * The token of this process's own clients, made when first asked for (most brokers
   * have none); never logged, never sent elsewhere.
   */
  private internalSecret: string | null = null;
  private monitorView: BrokerMonitor | null = null;
  private federation: Federation | null = null;
  private exposureWarning: string | null = null;
  /** The journal's link, from a successful start with persistence until stop. */
  private durability: Durability | null = null;
  private readonly persistenceFs: JournalFs | undefined;
  private readonly hooks: ConnectionHooks;
  private readonly context: BrokerContext;
  private servers: net.Server[] = [];
  private boundPort = 0;
  private addresses: string[] = [];
  private startedAt = 0;
  private state: 'new' | 'starting' | 'running' | 'stopping' | 'stopped' = 'new';

  /** @throws ConfigError when an option is invalid */
  constructor(config: Partial<BrokerConfig> = {}, options: MessageBrokerOptions = {}) {
    this.config = resolveConfig(config);
    this.log = options.logger ?? new Logger({ level: this.config.log_level, component: 'broker' });
    this.persistenceFs = options.persistenceFs;
    const onBulkRead = options.onBulkRead;
    this.readTurns = new ReadTurns(
      TURN_READ_BYTES,
      onBulkRead &&
        (() => {
          try {
            onBulkRead();
          } catch (err) {
            // The embedder's hook must not break the read it was told of.
            this.log.error('onBulkRead hook failed', { error: err });
          }
        }),
    );
    this.sessions = new SessionStore(this.config.session_expiry, this.acks, this.log);
    const slow = new SlowConsumerMonitor(this.stats, this.log, (payload) => this.system.publish('system.client.slow', payload));
    this.router = new Router(this.sessions, this.acks, slow, this.stats, this.config.max_queue_size);
    this.system = new SystemEvents(this.router, this.retained, this.log);
    this.auth = new Authenticator(this.config);
    const authFailures = new AuthFailureLog(this.log);
    const self = this;
    this.context = {
      config: this.config,
      log: this.log,
      version: VERSION,
      get startedAt() {
        return self.startedAt;
      },
      sessions: this.sessions,
      router: this.router,
      retained: this.retained,
      requests: this.requests,
      acks: this.acks,
      stats: this.stats,
      system: this.system,
      get durability() {
        return self.durability;
      },
      get federation() {
        return self.federation;
      },
      fault: options.faults ?? NO_FAULTS,
      auth: this.auth,
      authFailures,
      get exposureWarning() {
        return self.exposureWarning;
      },
      connectionCount: () => this.connections.size,
      listening: () => ({ host: this.config.host, port: this.boundPort }),
    };
    this.dispatcher = new Dispatcher(this.context);
    this.memory = new MemoryReleaser(this.log);
    this.hooks = {
      frame: (conn, buf, start, end) => this.onFrame(conn, buf, start, end),
      oversize: (conn, declared, limit) => this.onOversize(conn, declared, limit),
      dropped: (conn) => {
        if (conn.session) slow.recordDrop(conn.session);
      },
      expired: (conn, msg) => {
        this.stats.expired++;
        const session = conn.session;
        if (session?.inflight.deleteMessage(msg)) this.durability?.dropped(session, msg);
      },
      outputDiscarded: (_conn, bytes) => this.memory.discarded(bytes),
      closed: (conn) => this.onClosed(conn),
    };
  }

  /** The bound port (useful with `port: 0`); 0 before `start()`. */
  get port(): number {
    return this.boundPort;
  }

  /** True between a successful `start()` and `stop()`. */
  get running(): boolean {
    return this.state === 'running';
  }

  /**
   * The broker's monitoring view (status page). The first call starts counting topics;
   * before it, routing has no observer.
   */
  monitor(): BrokerMonitor {
    if (this.monitorView === null) {
      this.monitorView = new BrokerMonitor(this.context);
      this.router.observers.push(this.monitorView);
    }
    return this.monitorView;
  }

  /**
   * A token for this process's own clients (the status page's), accepted whatever the
   * configured credentials. Hand it only to code in this process.
   */
  get internalToken(): string {
    if (this.internalSecret === null) {
      this.internalSecret = nodeCrypto().randomBytes(24).toString('base64url');
      this.auth.trustInternalSecret(this.internalSecret);
    }
    return this.internalSecret;
  }

  /** The same figures `status` returns to clients. */
  status(): Record<string, unknown> {
    return brokerStatus(this.context);
  }

  /**
   * Restore the persisted state (with persistence on), listen and publish
   * `system.broker.ready`. Rejects when the port cannot be bound, and with a
   * `PersistenceError` when the persistence directory cannot be used: `code: 'LOCKED'`
   * when another broker holds it.
   */
  async start(): Promise<void> {
    if (this.state !== 'new') throw new Error(`MessageBroker.start(): the broker is ${this.state}; create a new one to start again`);
    try {
      this.exposureWarning = checkExposure(this.config, this.auth);
    } catch (err) {
      this.state = 'stopped';
      throw err;
    }
    this.state = 'starting';
    if (this.exposureWarning) this.log.warning(this.exposureWarning);
    if (this.config.persistence_enabled) {
      try {
        await this.openPersistence();
      } catch (err) {
        this.state = 'stopped';
        throw err;
      }
    }
    if (this.config.federation) {
      try {
        await this.openFederation(this.config.federation);
      } catch (err) {
        this.state = 'stopped';
        await this.closePersistence();
        throw err;
      }
    }
    try {
      const bound = await listen(this.config.host, this.config.port, (s) => this.onSocket(s), this.log);
      this.servers = bound.servers;
      this.boundPort = bound.port;
      this.addresses = bound.addresses;
    } catch (err) {
      this.state = 'stopped';
      await this.closeFederation();
      await this.closePersistence();
      const e = err as NodeJS.ErrnoException;
      const hint =
        e.code === 'EADDRINUSE'
          ? `port ${this.config.port} is in use (another broker or bridge may already be running; choose another with --port)`
          : e.message;
      throw new ConfigError(`cannot listen on ${this.config.host}:${this.config.port}: ${hint}`, e.code);
    }
    for (const server of this.servers) {
      server.on('error', (err) => this.log.error('server error', { error: err }));
    }
    this.startedAt = Date.now();
    this.state = 'running';
    this.log.info('broker listening', { host: this.config.host, addresses: this.addresses.join(','), port: this.boundPort, version: VERSION });
    this.system.publish('system.broker.ready', { host: this.config.host, port: this.boundPort, started_at: isoTimestamp(this.startedAt) }, true);
  }

  /**
   * Publish `system.broker.shutdown`, flush and close every connection, stop listening.
   * Resolves once every socket is closed (peers that do not finish are destroyed).
   */
  async stop(reason = 'shutdown'): Promise<void> {
    if (this.state !== 'running') return;
    this.state = 'stopping';
    this.log.info('broker stopping', { reason, connections: this.connections.size });
    await this.closeFederation();
    this.durability?.beginShutdown();
    this.system.publish('system.broker.shutdown', { reason });
    const serversClosed = Promise.all(this.servers.map((s) => new Promise<void>((resolve) => s.close(() => resolve()))));
    const socketsClosed = [...this.connections].map(
      (conn) =>
        new Promise<void>((resolve) => {
          if (conn.socket.destroyed) resolve();
          else conn.socket.once('close', () => resolve());
        }),
    );
    for (const conn of this.connections) conn.close('shutdown');
    this.requests.closeAll('shutting down');
    const grace = new Promise<void>((resolve) => setTimeout(resolve, STOP_GRACE_MS).unref());
    const allClosed = Promise.all(socketsClosed);
    await Promise.race([allClosed, grace]);
    for (const conn of this.connections) conn.destroy('shutdown');
    await Promise.all([allClosed, serversClosed]);
    // After the last connection: its final acks are in the journal's queue, and close()
    // writes them before it releases the directory's lock.
    await this.closePersistence();
    this.sessions.clear();
    this.retained.clear();
    this.memory.stop();
    this.state = 'stopped';
    this.log.info('broker stopped', { reason });
  }

  /** Join the upstream engine (in the background: an unreachable one is not an error). */
  private async openFederation(setting: FederationSetting): Promise<void> {
    // Loaded only when configured: a broker without federation does not carry its code.
    const { Federation } = await import('./federation/federation.js');
    const federation = await Federation.create(this.context, setting);
    this.federation = federation;
    this.router.observers.push(federation);
    this.sessions.onInterestChange = () => federation.interestChanged();
    await federation.start();
  }

  private async closeFederation(): Promise<void> {
    const federation = this.federation;
    if (!federation) return;
    this.federation = null;
    this.sessions.onInterestChange = null;
    this.router.observers.splice(this.router.observers.indexOf(federation), 1);
    await federation.stop();
  }

  /** Open the journal and rebuild retained messages and sessions from it. */
  private async openPersistence(): Promise<void> {
    // Loaded only when persistence is on, like the federation.
    const { Durability } = await import('./durability.js');
    const { durability, state } = await Durability.open(this.config, this.retained, this.log, this.persistenceFs);
    try {
      const restored = durability.restore(state, {
        sessions: this.sessions,
        retained: this.retained,
        acks: this.acks,
        identityOf: (clientId) => this.auth.presumedIdentity(clientId),
      });
      this.log.info('persistence enabled', { path: this.config.persistence_path, fsync: this.config.persistence_fsync, ...restored });
    } catch (err) {
      // A bug in restoring: release the directory, so that a fixed broker can start on it.
      await durability.close().catch((e: unknown) => this.log.error('cannot close the journal after a failed restore', { error: e }));
      throw err;
    }
    this.durability = durability;
    this.sessions.journal = durability;
    this.router.journal = durability;
  }

  /** Close the journal (the appends made are written first) and release its lock. */
  private async closePersistence(): Promise<void> {
    const durability = this.durability;
    if (!durability) return;
    this.durability = null;
    this.sessions.journal = null;
    this.router.journal = null;
    try {
      await durability.close();
    } catch (err) {
      // stop() has no caller to hand this to (a signal handler, a test's teardown); the
      // journal's records are written or were reported as they failed, so this is about
      // the lock file, which the next start takes over as stale.
      this.log.error('closing the persistence journal failed', { path: this.config.persistence_path, error: err as Error });
    }
  }

  private onSocket(socket: net.Socket): void {
    if (this.state !== 'running') {
      socket.destroy();
      return;
    }
    if (this.connections.size >= this.config.max_connections) {
      this.refuse(socket);
      return;
    }
    const conn = new Connection(
      socket,
      this.config.max_message_size,
      this.config.max_queue_size,
      this.config.max_output_bytes,
      this.scheduler,
      this.readTurns,
      this.hooks,
      this.log,
    );
    this.connections.add(conn);
    this.log.debug('socket accepted', { conn: conn.id, remote: conn.remote, connections: this.connections.size });
    watchConnectTimeout(conn, this.config.connection_timeout * 1000, () => {
      this.log.info('closing connection that never sent connect', { conn: conn.id, remote: conn.remote, connection_timeout: this.config.connection_timeout });
      conn.close('connection_timeout');
    });
  }

  private refuse(socket: net.Socket): void {
    this.stats.refusedConnections++;
    const remote = `${socket.remoteAddress}:${socket.remotePort}`;
    this.log.warning('connection refused: max_connections reached', { remote, max_connections: this.config.max_connections });
    const err = new RpcError(ErrorCode.LIMIT_EXCEEDED, `Too many connections: the broker accepts at most ${this.config.max_connections}`, {
      max_connections: this.config.max_connections,
    });
    socket.on('error', (e) => this.log.debug('refused socket error', { remote, error: e }));
    // Read and discard what the peer sends (its `connect`), or its FIN is never seen and
    // the socket lingers until the destroy timer, holding up `stop()`.
    socket.resume();
    socket.end(encodeFrame(errorResponse(null, err)));
    setTimeout(() => socket.destroy(), STOP_GRACE_MS).unref();
  }

  private onFrame(conn: Connection, buf: Buffer, start: number, end: number): void {
    try {
      this.dispatcher.handleFrame(conn, buf, start, end);
    } catch (err) {
      // The dispatcher answers every handler failure itself; reaching here is a bug in it.
      this.log.critical('frame handling crashed', { conn: conn.id, client_id: conn.clientId, error: err as Error, stack: (err as Error).stack });
      conn.send(encodeFrame(errorResponse(null, new RpcError(ErrorCode.INTERNAL_ERROR, 'Internal error'))));
    }
  }

  private onOversize(conn: Connection, declared: number, limit: number): void {
    this.log.warning('frame too large; closing connection', { conn: conn.id, client_id: conn.clientId, remote: conn.remote, declared, max_message_size: limit });
    const err = invalidRequest(`frame of ${declared} bytes exceeds max_message_size (${limit} bytes)`, { max_message_size: limit, declared });
    conn.close('protocol_error', encodeFrame(errorResponse(null, err)));
  }

  private onClosed(conn: Connection): void {
    this.connections.delete(conn);
    this.requests.dropRequester(conn);
    const session = conn.session;
    if (!session) return;
    const reason = conn.closeReason ?? 'connection_lost';
    this.sessions.detach(session, conn);
    this.log.info('client disconnected', { client_id: session.clientId, reason, remote: conn.remote });
    if (this.state === 'running') this.system.publish('system.client.disconnected', { client_id: session.clientId, reason });
  }
}
