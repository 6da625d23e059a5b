/**
 * The scripts on the broker, for the page: asked of every bridge the way `bridge ps`,
 * `bridge logs` and `bridge stop` ask, through a client of the page's own. The client
 * connects on first use (nobody looking costs no connection) with the broker process's
 * internal token, so it works whatever credentials the broker's config requires.
 */
import { BrokerClient, ErrorCode, RpcError } from '../../src/client/index.js';
import type { Logger } from '../../src/log/logger.js';
import { CliError } from '../cli-error.js';
import { logsTopic, ownerTopic } from '../script-registry.js';
import { hasUnknownReason, resultLine, statusBefore, type ScriptOp } from '../script-ops.js';
import { rowsOf, ScriptsQuery } from '../script-query.js';
import { SCRIPT_KEY } from '../bridge-config.js';
import type { OutputTail } from '../supervisor/output-ring.js';
import type { ScriptStatus } from '../supervisor/script-supervisor.js';
import { HttpError } from './http-replies.js';
import { compareNames } from '../../src/protocol/name-order.js';

/** The page's own client: what it asks the bridges with. */
export const PAGE_CLIENT_ID = 'status-page';

/** How long the page waits for bridges that have not answered a query. */
const QUERY_WAIT_MS = 1500;
/** How long a start, stop or restart may take (a stop waits for the script's grace). */
const CONTROL_TIMEOUT_S = 30;
const OWNER_TIMEOUT_S = 2;
const LOGS_TIMEOUT_S = 5;

export interface ScriptsListing {
  scripts: (ScriptStatus & { bridge: string })[];
  silent_bridges: string[];
}

export interface ControlResult {
  key: string;
  ok: boolean;
  result: string;
  status: ScriptStatus;
}

export interface ScriptsSourceOptions {
  /** Where the broker this page belongs to listens. */
  host: string;
  port: number;
  /** The broker's internal token. */
  token: string;
  log: Logger;
}

/** @throws HttpError 400 for a key that cannot be a script's */
export function checkKey(key: string): void {
  if (!SCRIPT_KEY.test(key)) throw new HttpError(400, 'invalid_key', `"${key}" is not a script key (1-64 of A-Z a-z 0-9 _ -)`);
}

/**
 * The key named by a path segment (`/api/scripts/KEY/...`), percent-decoded; whether it
 * can be a key is checked where it is used ({@link checkKey}).
 * @throws HttpError 400 invalid_key for a malformed escape (`%ZZ`, or `%E9`, which is not
 *   UTF-8): no key has one, and it is the caller's mistake, not the server's
 */
export function keyFromPath(segment: string): string {
  try {
    return decodeURIComponent(segment);
  } catch (err) {
    if (!(err instanceof URIError)) throw err;
    throw new HttpError(400, 'invalid_key', `"${segment}" is not a script key (1-64 of A-Z a-z 0-9 _ -): it has a malformed %-escape`);
  }
}

export class ScriptsSource {
  private client: BrokerClient | null = null;
  private connecting: Promise<BrokerClient> | null = null;
  private query: ScriptsQuery | null = null;
  private closed = false;

  constructor(private readonly opts: ScriptsSourceOptions) {}

  /** Every script of every bridge, sorted by key. */
  async list(): Promise<ScriptsListing> {
    const client = await this.connected();
    this.query ??= new ScriptsQuery(client, QUERY_WAIT_MS);
    const snapshot = await this.query.ask().catch(rethrowAsBadGateway);
    const scripts = rowsOf(snapshot)
      .map((r) => ({ ...r.status, bridge: r.bridge }))
      .sort((a, b) => compareNames(a.key, b.key) || compareNames(a.bridge, b.bridge));
    return { scripts, silent_bridges: snapshot.silent };
  }

  /** The script's last `lines` lines of output. */
  async output(key: string, lines: number): Promise<OutputTail & { key: string }> {
    checkKey(key);
    const client = await this.connected();
    await this.requireOwner(client, key);
    try {
      const tail = (await client.request(logsTopic(key), { lines }, { timeout: LOGS_TIMEOUT_S })) as OutputTail;
      return { key, ...tail };
    } catch (err) {
      if (err instanceof RpcError && err.code === ErrorCode.NO_RESPONDERS) throw await this.unknownKey(key);
      throw asHttpError(err, `the output of "${key}"`, LOGS_TIMEOUT_S);
    }
  }

  /** Start, stop or restart `key` on whichever bridge supervises it; resolves once done. */
  async control(key: string, op: ScriptOp): Promise<ControlResult> {
    checkKey(key);
    const client = await this.connected();
    await this.requireOwner(client, key);
    const before = await statusBefore(client, key);
    let after: ScriptStatus;
    try {
      after = (await client.request(`scripts.${key}.${op}`, null, { timeout: CONTROL_TIMEOUT_S })) as ScriptStatus;
    } catch (err) {
      if (err instanceof RpcError && (err.code === ErrorCode.NO_RESPONDERS || hasUnknownReason(err))) throw await this.unknownKey(key);
      throw asHttpError(err, `${op} ${key}`, CONTROL_TIMEOUT_S);
    }
    const { text, ok } = resultLine(op, key, before, after);
    this.opts.log.info('status page: script control', { key, op, result: text });
    return { key, ok, result: text, status: after };
  }

  async close(): Promise<void> {
    this.closed = true;
    const client = this.client ?? (await this.connecting?.catch(() => null)) ?? null;
    this.client = null;
    if (client) await client.disconnect();
  }

  /**
   * 404 unless some bridge supervises `key`: asked first, because a `scripts.#` subscriber
   * that is not a bridge (a `bridge sub` in a terminal) would hold the real request until
   * its timeout.
   */
  private async requireOwner(client: BrokerClient, key: string): Promise<void> {
    try {
      await client.request(ownerTopic(key), null, { timeout: OWNER_TIMEOUT_S });
    } catch (err) {
      if (err instanceof RpcError && err.code === ErrorCode.NO_RESPONDERS) throw await this.unknownKey(key);
      // A timeout: something listens on the owner topic but does not answer; the request decides.
      if (!(err instanceof RpcError && err.code === ErrorCode.TIMEOUT)) throw asHttpError(err, `who supervises "${key}"`, OWNER_TIMEOUT_S);
    }
  }

  private async unknownKey(key: string): Promise<HttpError> {
    const known = [...new Set((await this.list()).scripts.map((s) => s.key))].sort();
    return new HttpError(404, 'unknown_script', `no script with key "${key}" on this broker`, { known });
  }

  private connected(): Promise<BrokerClient> {
    if (this.closed) return Promise.reject(new HttpError(503, 'stopping', 'the status page is stopping'));
    if (this.client?.isConnected) return Promise.resolve(this.client);
    this.connecting ??= this.connect().finally(() => {
      this.connecting = null;
    });
    return this.connecting;
  }

  private async connect(): Promise<BrokerClient> {
    const client =
      this.client ??
      new BrokerClient(PAGE_CLIENT_ID, {
        host: this.opts.host,
        port: this.opts.port,
        clientType: 'monitor',
        token: this.opts.token,
        autoReconnect: true,
        reconnectDelay: 0.2,
        maxReconnectDelay: 2,
        maxReconnectAttempts: 0,
        logger: this.opts.log.child('status-page-client'),
      });
    this.client = client;
    if (!client.isConnected) {
      try {
        await client.connect();
      } catch (err) {
        throw new HttpError(502, 'broker_unreachable', `the status page cannot reach its broker: ${(err as Error).message}`);
      }
    }
    return client;
  }
}

function rethrowAsBadGateway(err: unknown): never {
  if (err instanceof CliError) throw new HttpError(502, 'bridge_error', err.message);
  throw err;
}

function asHttpError(err: unknown, what: string, timeoutS: number): HttpError {
  if (err instanceof HttpError) return err;
  if (err instanceof RpcError && err.code === ErrorCode.TIMEOUT) {
    return new HttpError(504, 'timeout', `${what}: no answer from its bridge within ${timeoutS} s`);
  }
  if (err instanceof RpcError) return new HttpError(502, 'bridge_error', `${what} failed (${err.code}): ${err.message}`, { rpc_code: err.code });
  return new HttpError(502, 'bridge_error', `${what} failed: ${(err as Error).message}`);
}
