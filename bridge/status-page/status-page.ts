/**
 * The status page's HTTP server: the page, its JSON endpoints, the live streams and
 * `/metrics`, next to a broker in the same process. Loopback only unless a host is given;
 * signed-in access when the broker has a token (see access.ts). Started by the commands
 * that host a broker (`bridge broker --http`, and `run`/`up` while they host one).
 */
import http, { type IncomingMessage, type ServerResponse } from 'node:http';
import { ConfigError, type BrokerConfig, type HttpSetting, type MessageBroker } from '../../src/broker/index.js';
import type { Logger } from '../../src/log/logger.js';
import { httpDate } from '../../src/protocol/timestamp.js';
import { AccessGate } from './access.js';
import { brokerJson, clientsJson, topicsJson } from './api-json.js';
import { COMMON_HEADERS, HttpError, sendError, sendJson } from './http-replies.js';
import { LiveFeed } from './live-feed.js';
import { openMessageStream } from './message-stream.js';
import { METRICS_CONTENT_TYPE, metricsText } from './metrics.js';
import { RateHistory } from './rate-history.js';
import { answerTopicBase } from '../script-query.js';
import { keyFromPath, PAGE_CLIENT_ID, ScriptsSource } from './scripts-source.js';
import { StaticFiles } from './static-files.js';
import type { ScriptOp } from '../script-ops.js';
import { STUCK_AFTER_MS, type EventStream, type StreamSettings } from './event-stream.js';

/** Open event streams at once (`/api/live` and `/api/messages`), all pages together; past this a new one gets 503. */
export const MAX_STREAMS = 32;
/** Largest request body read (a sign-in form, a `{}`). */
const MAX_BODY_BYTES = 16 * 1024;
/** Most output lines one request may ask for (the ring keeps 1,000). */
const MAX_OUTPUT_LINES = 1000;

const LOOPBACK = '127.0.0.1';
const LOOPBACK_HOSTS = new Set(['localhost', '127.0.0.1', '::1', '[::1]']);

export interface StatusPageOptions {
  broker: MessageBroker;
  setting: HttpSetting;
  log: Logger;
  /** Where the page's files are; the package's `web/status/` by default. */
  files?: StaticFiles;
  /** How long a live stream's viewer may read nothing before the stream is closed (60 s). */
  stuckStreamMs?: number;
}

/** True when `host` reaches only this machine. */
export function isLoopbackHost(host: string): boolean {
  return LOOPBACK_HOSTS.has(host.toLowerCase()) || /^127\./.test(host);
}

/**
 * @throws ConfigError for a page beyond loopback that anyone could use: the broker has no
 *   token and does not explicitly allow anonymous clients. Checked again by `start()`;
 *   callers check first so that no broker starts for a page that will be refused.
 */
export function checkPageExposure(setting: HttpSetting, config: Pick<BrokerConfig, 'token' | 'allow_anonymous'>): void {
  const loopbackOnly = setting.host === null || isLoopbackHost(setting.host);
  if (!loopbackOnly && config.token === null && config.allow_anonymous !== true) {
    throw new ConfigError(
      `the status page on ${setting.host}:${setting.port} would let anyone on the network see and stop your scripts: set the broker's "token" (the page then asks for it), or listen on loopback (leave out the host)`,
    );
  }
}

export class StatusPage {
  private readonly server: http.Server;
  private readonly rates: RateHistory;
  private readonly scripts: ScriptsSource;
  private readonly live: LiveFeed;
  private readonly files: StaticFiles;
  private readonly streams = new Set<EventStream>();
  private readonly streamSettings: StreamSettings;
  private gate: AccessGate | null = null;
  private boundPort = 0;
  private readonly host: string;

  /** @param opts.broker a running broker (the page's client connects to its bound port) */
  constructor(private readonly opts: StatusPageOptions) {
    const { broker } = opts;
    if (!broker.running) throw new Error('StatusPage: start the broker first (the page connects to its bound port)');
    const monitor = broker.monitor();
    monitor.hideFromTopics(PAGE_CLIENT_ID, `${answerTopicBase(PAGE_CLIENT_ID)}.`);
    this.host = opts.setting.host ?? LOOPBACK;
    this.files = opts.files ?? new StaticFiles();
    this.rates = new RateHistory(() => monitor.counters());
    const { host: brokerHost, port: brokerPort } = brokerAddress(broker);
    this.scripts = new ScriptsSource({ host: brokerHost, port: brokerPort, token: broker.internalToken, log: opts.log });
    this.streamSettings = { stuckAfterMs: opts.stuckStreamMs ?? STUCK_AFTER_MS, log: opts.log };
    this.live = new LiveFeed(monitor, this.rates, this.scripts, opts.log, this.streamSettings);
    this.server = http.createServer((req, res) => {
      // Our own Date header: Node's, written when none is set, comes from toUTCString,
      // whose date cache loads ICU's time-zone data (640 KB) into the broker.
      res.setHeader('Date', httpDate(Date.now()));
      this.handle(req, res).catch((err: unknown) => this.fail(res, err));
    });
    // Event streams stay open: no request timeout may cut them.
    this.server.requestTimeout = 0;
    this.server.headersTimeout = 30_000;
  }

  /** The bound port (useful with port 0). */
  get port(): number {
    return this.boundPort;
  }

  /**
   * Bytes each open event stream holds in the broker's memory, written but not yet taken
   * by the OS: what viewers that are behind cost.
   */
  streamBuffers(): number[] {
    return [...this.streams].map((s) => s.buffered);
  }

  /** The address to open in a browser. */
  get url(): string {
    const h = this.host.includes(':') ? `[${this.host}]` : this.host;
    return `http://${h === '0.0.0.0' || h === '[::]' ? 'localhost' : h}:${this.boundPort}/`;
  }

  /**
   * Listen. Refuses (ConfigError) a host beyond loopback when anyone could sign in: the
   * broker has no token and does not explicitly allow anonymous clients.
   */
  async start(): Promise<void> {
    const { broker, setting, log } = this.opts;
    checkPageExposure(setting, broker.config);
    const loopbackOnly = setting.host === null || isLoopbackHost(setting.host);
    this.gate = new AccessGate({ token: broker.config.token, loopbackOnly, port: setting.port, log });
    await new Promise<void>((resolve, reject) => {
      const onError = (err: NodeJS.ErrnoException): void => {
        const hint = err.code === 'EADDRINUSE' ? `port ${setting.port} is in use (choose another with --http PORT)` : err.message;
        reject(new ConfigError(`status page: cannot listen on ${this.host}:${setting.port}: ${hint}`, err.code));
      };
      this.server.once('error', onError);
      this.server.listen(setting.port, this.host, () => {
        this.server.off('error', onError);
        resolve();
      });
    });
    this.server.on('error', (err) => log.error('status page server error', { error: err }));
    const address = this.server.address();
    this.boundPort = typeof address === 'object' && address !== null ? address.port : setting.port;
    // The cookie's name follows the real port (port 0 in tests).
    this.gate = new AccessGate({ token: broker.config.token, loopbackOnly, port: this.boundPort, log });
    this.rates.start(() => this.live.tick());
    log.info('status page listening', { url: this.url, sign_in: this.gate.required ? 'token' : 'none' });
  }

  async stop(): Promise<void> {
    this.rates.stop();
    this.live.close();
    for (const s of [...this.streams]) s.close();
    await this.scripts.close();
    await new Promise<void>((resolve) => {
      this.server.close(() => resolve());
      this.server.closeAllConnections();
    });
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const gate = this.gate!;
    const url = requestUrl(req.url ?? '/');
    const path = url.pathname;
    const method = req.method ?? 'GET';
    gate.checkHost(req);
    if (path === '/login') return this.login(req, res, method);
    if (!gate.isSignedIn(req)) return this.refuse(req, res, url, method);
    if (path.startsWith('/api/') || path === '/metrics') return this.api(req, res, url, method);
    if (method !== 'GET' && method !== 'HEAD') throw methodNotAllowed('GET');
    return this.page(res, path === '/' ? 'index.html' : path.slice(1));
  }

  private async page(res: ServerResponse, name: string): Promise<void> {
    const file = await this.files.get(name);
    if (file === null) throw new HttpError(404, 'not_found', `no such page: /${name}`);
    res.writeHead(200, {
      ...COMMON_HEADERS,
      'Content-Type': file.type,
      'Content-Length': file.body.length,
      // The page loads nothing from elsewhere; say so, so an injected script could not either.
      'Content-Security-Policy': "default-src 'self'; img-src 'self' data:; style-src 'self' 'unsafe-inline'; frame-ancestors 'none'; form-action 'self'",
    });
    res.end(file.body);
  }

  private async api(req: IncomingMessage, res: ServerResponse, url: URL, method: string): Promise<void> {
    const path = url.pathname;
    const control = /^\/api\/scripts\/([^/]+)\/(start|stop|restart)$/.exec(path);
    if (control) {
      if (method !== 'POST') throw methodNotAllowed('POST');
      this.gate!.checkStateChange(req);
      await readJsonBody(req);
      const key = keyFromPath(control[1]!);
      sendJson(res, 200, await this.scripts.control(key, control[2] as ScriptOp));
      return;
    }
    if (method !== 'GET' && method !== 'HEAD') throw methodNotAllowed('GET');
    const monitor = this.opts.broker.monitor();
    switch (path) {
      case '/api/broker':
        return sendJson(res, 200, brokerJson(monitor, this.rates, true));
      case '/api/clients':
        return sendJson(res, 200, clientsJson(monitor));
      case '/api/topics':
        return sendJson(res, 200, topicsJson(monitor));
      case '/api/scripts':
        return sendJson(res, 200, await this.scripts.list());
      case '/metrics': {
        const text = metricsText(monitor);
        res.writeHead(200, { ...COMMON_HEADERS, 'Content-Type': METRICS_CONTENT_TYPE, 'Content-Length': Buffer.byteLength(text) });
        res.end(text);
        return;
      }
      case '/api/live':
        this.roomForStream();
        this.track(this.live.open(req, res));
        return;
      case '/api/messages':
        this.roomForStream();
        this.track(openMessageStream(req, res, url, monitor, this.streamSettings));
        return;
    }
    const output = /^\/api\/scripts\/([^/]+)\/output$/.exec(path);
    if (output) {
      const raw = url.searchParams.get('lines') ?? '100';
      const lines = Number(raw);
      if (!Number.isInteger(lines) || lines < 1 || lines > MAX_OUTPUT_LINES) {
        throw new HttpError(400, 'invalid_lines', `lines must be a whole number from 1 to ${MAX_OUTPUT_LINES}, got "${raw}"`);
      }
      return sendJson(res, 200, await this.scripts.output(keyFromPath(output[1]!), lines));
    }
    throw new HttpError(404, 'not_found', `no such endpoint: ${path} (see /api/broker, /api/clients, /api/topics, /api/scripts, /metrics)`);
  }

  private track(stream: EventStream): void {
    this.streams.add(stream);
    stream.whenClosed(() => this.streams.delete(stream));
  }

  private roomForStream(): void {
    if (this.streams.size >= MAX_STREAMS) throw new HttpError(503, 'too_many_streams', `at most ${MAX_STREAMS} live views at once; close a page`);
  }

  /** `/login`: the form (GET), or a sign-in with the form's token (POST). */
  private async login(req: IncomingMessage, res: ServerResponse, method: string): Promise<void> {
    const gate = this.gate!;
    if (method === 'GET' || method === 'HEAD') {
      if (!gate.required) return redirect(res, '/');
      return this.page(res, 'login.html');
    }
    if (method !== 'POST') throw methodNotAllowed('GET, POST');
    const body = await readBody(req);
    const token = new URLSearchParams(body.toString('utf8')).get('token');
    if (gate.tokenMatches(token)) return redirect(res, '/', gate.signIn());
    gate.recordFailure(req, 'sign-in form');
    // The form has no script (nothing but it is served before sign-in): `#failed` shows
    // its message through CSS `:target`.
    redirect(res, '/login?failed=1#failed');
  }

  /** Not signed in: a one-time `?token=`, or 401 for the API, or the sign-in form. */
  private refuse(req: IncomingMessage, res: ServerResponse, url: URL, method: string): void {
    const gate = this.gate!;
    const isApi = url.pathname.startsWith('/api/') || url.pathname === '/metrics';
    const given = url.searchParams.get('token');
    if (given !== null && method === 'GET') {
      if (gate.tokenMatches(given)) {
        url.searchParams.delete('token');
        return redirect(res, url.pathname + url.search, gate.signIn());
      }
      gate.recordFailure(req, '?token=');
    }
    if (isApi) {
      res.setHeader('WWW-Authenticate', 'Bearer realm="ahk-bridge"');
      return sendError(res, 401, 'unauthorized', 'sign in: send the broker token as "Authorization: Bearer <token>", or open the page and sign in');
    }
    gate.redirectToLogin(res);
  }

  private fail(res: ServerResponse, err: unknown): void {
    if (res.headersSent) {
      res.destroy();
      return;
    }
    if (err instanceof HttpError) {
      if (err.status === 405) res.setHeader('Allow', String(err.extra.allow));
      sendError(res, err.status, err.code, err.message, err.status === 405 ? {} : err.extra);
      return;
    }
    this.opts.log.error('status page request failed', { error: err as Error });
    sendError(res, 500, 'internal', 'internal error (the broker log has details)');
  }
}

/**
 * The request's target as a URL. A path is read as a path, never as `//host/...`.
 * @throws HttpError 400 invalid_url for a target no URL can be made of
 */
function requestUrl(target: string): URL {
  try {
    return target.startsWith('/') ? new URL(`http://status.invalid${target}`) : new URL(target, 'http://status.invalid');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ERR_INVALID_URL') throw err;
    throw new HttpError(400, 'invalid_url', `cannot read the request target "${target}" as a URL`);
  }
}

function methodNotAllowed(allow: string): HttpError {
  return new HttpError(405, 'method_not_allowed', `use ${allow}`, { allow });
}

function redirect(res: ServerResponse, location: string, cookie?: string): void {
  res.writeHead(303, { ...COMMON_HEADERS, Location: location, ...(cookie ? { 'Set-Cookie': cookie } : {}) });
  res.end();
}

async function readBody(req: IncomingMessage): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    if (size > MAX_BODY_BYTES) throw new HttpError(413, 'body_too_large', `request body over ${MAX_BODY_BYTES} bytes`);
    chunks.push(chunk as Buffer);
  }
  return Buffer.concat(chunks);
}

/** The body, which must be empty or JSON (its content is not used yet). */
async function readJsonBody(req: IncomingMessage): Promise<unknown> {
  const text = (await readBody(req)).toString('utf8').trim();
  if (text === '') return null;
  try {
    return JSON.parse(text) as unknown;
  } catch {
    throw new HttpError(400, 'invalid_json', 'the request body is not valid JSON (send {})');
  }
}

/** Where the page's own client reaches the broker it belongs to. */
function brokerAddress(broker: MessageBroker): { host: string; port: number } {
  const h = broker.config.host;
  const host = h === 'localhost' || h === '0.0.0.0' || h === '::' ? (h === '::' ? '::1' : '127.0.0.1') : h;
  return { host, port: broker.port };
}
