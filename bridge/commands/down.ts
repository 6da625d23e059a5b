/**
 * `bridge down [ID]`: ask the `bridge up` connected as ID to stop, then wait until it has
 * left the broker (its scripts stopped). Its flags are in down-command.ts.
 */
import { ErrorCode, RpcError, type BrokerClient } from '../../src/client/index.js';
import { Logger } from '../../src/log/logger.js';
import { CliError } from '../cli-error.js';
import { cliLogger, connectClient, leaveBroker, resolveAddress, type ConnectFlags } from '../connect-options.js';
import { SHUTDOWN_TOPIC, type ShutdownAnswer } from '../shutdown-request.js';
import { secondsFlag } from '../number-flags.js';

export interface DownFlags extends ConnectFlags {
  timeout: string;
}

const MAX_TIMEOUT_S = 600;
/**
 * How long a connected bridge has to answer the request (not to finish stopping), when
 * --timeout leaves that long: the timeout bounds the whole wait.
 */
const ANSWER_TIMEOUT_S = 10;

/** The bridges connected now, to name them when `id` is not one of them. */
async function connectedBridges(client: BrokerClient): Promise<{ ids: string[]; has: (id: string) => boolean }> {
  const clients = (await client.status()).clients ?? [];
  const connected = clients.filter((c) => c.connected);
  return {
    ids: connected.filter((c) => c.client_type === 'bridge').map((c) => c.client_id),
    has: (id) => connected.some((c) => c.client_id === id),
  };
}

/** The bridge's answer, checked: it comes from another process. */
function shutdownAnswer(value: unknown, id: string): ShutdownAnswer {
  const a = value as Partial<ShutdownAnswer> | null;
  if (a?.stopping !== true || !Number.isSafeInteger(a.pid) || !Number.isSafeInteger(a.scripts)) {
    throw new CliError(`bridge "${id}" answered the stop request with ${JSON.stringify(value)}, not {stopping, pid, scripts}: is it a \`bridge up\` of another version?`);
  }
  return a as ShutdownAnswer;
}

export async function runDown(id: string, flags: DownFlags): Promise<void> {
  const timeout = secondsFlag(flags.timeout, '--timeout', { max: MAX_TIMEOUT_S });
  const deadline = Date.now() + timeout * 1000;
  const { host, port } = resolveAddress(flags);
  // Its own logger: once the bridge has answered, losing a broker it hosted is the news
  // we wait for, not a warning.
  const log: Logger = cliLogger(flags, 'cli');
  const client = await connectClient(flags, { logger: log });
  try {
    const bridges = await connectedBridges(client);
    if (!bridges.has(id)) {
      const others = bridges.ids.length > 0 ? `; connected bridges: ${bridges.ids.join(', ')}` : '; no bridge is connected';
      throw new CliError(`no bridge is connected to ${host}:${port} as "${id}"${others}`);
    }
    // Listening before asking: the bridge may leave the moment it has answered. A bridge
    // that hosts the broker takes our connection with it; one that joined is seen leaving.
    let left!: () => void;
    const gone = new Promise<void>((resolve) => (left = resolve));
    client.on('disconnected', () => left());
    await client.subscribe(['system.client.disconnected'], (msg) => {
      if ((msg.payload as { client_id?: unknown } | null)?.client_id === id) left();
    });
    let answer: ShutdownAnswer;
    // What is left of --timeout after connecting and looking the bridge up.
    const answerTimeout = Math.min(ANSWER_TIMEOUT_S, Math.max(0.001, (deadline - Date.now()) / 1000));
    try {
      answer = shutdownAnswer(await client.request(SHUTDOWN_TOPIC, { client_id: id }, { timeout: answerTimeout }), id);
    } catch (err) {
      const notUp = 'it is not a `bridge up` of this version (a `bridge run` stops with Ctrl+C in its console; `bridge stop KEY` stops one script)';
      if (err instanceof RpcError && err.code === ErrorCode.NO_RESPONDERS) throw new CliError(`"${id}" is connected but does not take stop requests: ${notUp}`);
      if (err instanceof RpcError && err.code === ErrorCode.TIMEOUT) {
        // Cut short by --timeout, a bridge may only be slow to answer.
        if (answerTimeout < ANSWER_TIMEOUT_S) throw new CliError(`"${id}" is connected but had not answered when --timeout (${timeout} s) ran out`);
        throw new CliError(`"${id}" is connected but did not answer within ${answerTimeout} s: ${notUp}`);
      }
      if (err instanceof CliError) throw err;
      throw new CliError(`could not ask bridge "${id}" to stop${err instanceof RpcError ? ` (${err.code})` : ''}: ${(err as Error).message}`);
    }
    log.level = 'error';
    let timer: NodeJS.Timeout | undefined;
    const finished = await Promise.race([
      gone.then(() => true),
      new Promise<false>((resolve) => (timer = setTimeout(() => resolve(false), Math.max(0, deadline - Date.now())))),
    ]);
    clearTimeout(timer);
    const what = `bridge "${id}" (pid ${answer.pid}, ${answer.scripts} script${answer.scripts === 1 ? '' : 's'})`;
    if (!finished) throw new CliError(`${what} is stopping but had not finished after ${timeout} s; bridge ps shows what still runs (--timeout waits longer)`);
    process.stdout.write(`stopped ${what}\n`);
  } finally {
    if (client.isConnected) await leaveBroker(client);
  }
}
