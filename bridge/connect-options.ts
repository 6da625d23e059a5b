/**
 * Connecting a CLI command to a broker as a client, from the shared flags, and the one
 * place that turns a failed connection into an error message that says what to do. The
 * flags themselves are added in connect-flags.ts; joining or hosting a broker for a
 * supervising command is open-link.ts, kept apart so that a client command (`tail`,
 * `pub`, `sub`) does not load the broker and the status page.
 */
import { BrokerClient, BrokerConnectionError, RpcError } from '../src/client/index.js';
import { DEFAULT_HOST, DEFAULT_PORT } from '../src/protocol/messages.js';
import { Logger, parseLogLevel } from '../src/log/logger.js';
import { CliError } from './cli-error.js';
import { logFileSink } from './log-file.js';
import { holdOpen, released } from './open-clients.js';

/** What the broker takes as a client_id: 1 to 128 characters (docs/protocol.md). */
const MAX_CLIENT_ID_CHARS = 128;

export interface ConnectFlags {
  host?: string;
  port?: string;
  clientId?: string;
  token?: string;
  logLevel?: string;
  logFormat?: LogFormat;
}

export type LogFormat = 'text' | 'json';

/** The log flags of every long-running command: `--log-level` and `--log-format`. */
export interface LogFlags {
  logLevel?: string;
  logFormat?: LogFormat;
  /** `--log-file`, on the long-running commands. */
  logFile?: string;
}

/** Host and port from flags, then `BROKER_HOST` / `BROKER_PORT`, then defaults. */
export function resolveAddress(flags: ConnectFlags): { host: string; port: number } {
  const host = flags.host ?? (process.env.BROKER_HOST || DEFAULT_HOST);
  const rawPort = flags.port ?? (process.env.BROKER_PORT || String(DEFAULT_PORT));
  // Digits only: Number() reads "" as 0 and "0x3b82" as 15234.
  const port = /^\d+$/.test(rawPort.trim()) ? Number(rawPort.trim()) : Number.NaN;
  if (!Number.isInteger(port) || port < 1 || port > 65_535) {
    throw new CliError(`invalid port "${rawPort}": use a number from 1 to 65535 (--port or BROKER_PORT)`);
  }
  return { host, port };
}

/**
 * The logger of a CLI command, from `--log-level`, then `BROKER_LOG_LEVEL`, then
 * `defaultLevel`: client commands are quiet by default so their output stays readable;
 * supervising commands (`run`, `up`) log at info.
 */
export function cliLogger(flags: LogFlags, component: string, defaultLevel = 'warning'): Logger {
  const name = flags.logLevel ?? (process.env.BROKER_LOG_LEVEL || defaultLevel);
  const level = parseLogLevel(name);
  if (!level) throw new CliError(`invalid log level "${name}": use debug, info, warning, error or silent`);
  const format = flags.logFormat ?? 'text';
  return new Logger({ level, format, component, sink: flags.logFile ? logFileSink(flags.logFile, format) : undefined });
}

/**
 * What a command that finds no broker tells the user to start: `broker` for the client
 * commands (pub, sub, status, ...), which need only a broker; `up` for the commands about
 * scripts (ps, logs, start, stop, restart), which need a bridge running them, and
 * `bridge up` hosts the broker and runs the scripts in one.
 */
export type StartHint = 'broker' | 'up';

/** The sentence after "no broker at HOST:PORT" that says what to start. */
function startAdvice(hint: StartHint, port: number): string {
  return hint === 'up'
    ? `Start the scripts and their broker with \`npx bridge up\` (add --port ${port} if needed), or point at a running bridge's broker with --host/--port or BROKER_HOST/BROKER_PORT.`
    : `Start one with \`npx bridge broker\` (add --port ${port} if needed), or point at a running one with --host/--port or BROKER_HOST/BROKER_PORT.`;
}

/**
 * The broker refused the credentials (`invalid_token`, docs/protocol.md): name the flags
 * that send them, since the broker's words ("send \"token\"") are the protocol's, not the
 * CLI's. Which of the two refusals it was follows from whether this command sent a token.
 */
function credentialsAdvice(sentToken: boolean): string {
  const perClient = 'If the broker lists per-client credentials ("clients" in its config), also connect as one of those ids with -i/--client-id <id> and pass that client\'s token.';
  return sentToken
    ? `The broker refused the token: check --token <token> or BROKER_TOKEN. ${perClient}`
    : `This broker requires credentials: pass its token with --token <token> or BROKER_TOKEN. ${perClient}`;
}

/** Whether `err` is the broker's refusal of a `connect`'s credentials. */
function isCredentialsRefusal(err: unknown): boolean {
  return err instanceof RpcError && (err.data as { reason?: unknown } | undefined)?.reason === 'invalid_token';
}

/**
 * Connect a client for one CLI command. A refused or timed-out connection becomes a
 * `CliError` that tells the user what to start (`startHint`, default `broker`); refused
 * credentials, one that names the flags that send them.
 */
export async function connectClient(
  flags: ConnectFlags,
  opts: { autoReconnect?: boolean; cleanSession?: boolean; logger?: Logger; startHint?: StartHint } = {},
): Promise<BrokerClient> {
  const { host, port } = resolveAddress(flags);
  const id = flags.clientId;
  if (id !== undefined && (id.length < 1 || id.length > MAX_CLIENT_ID_CHARS)) {
    throw new CliError(`invalid --client-id "${id.length > 40 ? `${id.slice(0, 40)}...` : id}" (${id.length} characters): use 1 to ${MAX_CLIENT_ID_CHARS}`);
  }
  const token = flags.token ?? (process.env.BROKER_TOKEN || undefined);
  const client = new BrokerClient(id ?? `bridge-cli-${process.pid}`, {
    host,
    port,
    clientType: 'cli',
    token,
    autoReconnect: opts.autoReconnect ?? false,
    cleanSession: opts.cleanSession ?? true,
    connectTimeout: 5,
    // Payloads are shown and echoed as they were written (see payload.ts).
    payloadText: true,
    logger: opts.logger ?? cliLogger(flags, 'cli'),
  });
  try {
    await client.connect();
  } catch (err) {
    const e = err as Error;
    // Classified by the client's error code, never by its wording.
    const code = err instanceof BrokerConnectionError ? err.code : undefined;
    if (code === 'ECONNREFUSED' || code === 'ETIMEDOUT' || code === 'ENOTFOUND' || code === 'EAI_AGAIN') {
      throw new CliError(
        `${code === 'ECONNREFUSED' ? e.message : `no broker reachable at ${host}:${port}: ${e.message}`}\n` + startAdvice(opts.startHint ?? 'broker', port),
      );
    }
    const advice = isCredentialsRefusal(err) ? `\n${credentialsAdvice(token !== undefined && token !== '')}` : '';
    throw new CliError(`could not connect to the broker at ${host}:${port}: ${e.message}${advice}`);
  }
  holdOpen(client, () => leaveBroker(client));
  return client;
}

/**
 * Unsubscribe from everything, then disconnect: the broker keeps a session that has
 * subscriptions for session_expiry after its client leaves, so a one-shot command that
 * only disconnected would linger in `bridge status` as an offline session for an hour.
 */
export async function leaveBroker(client: BrokerClient): Promise<void> {
  released(client);
  if (client.isConnected && client.patterns.length > 0) {
    // Best effort: the disconnect below still happens, and an expiring session is harmless.
    await client.unsubscribe(client.patterns).catch(() => undefined);
  }
  await client.disconnect();
}
