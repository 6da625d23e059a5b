/**
 * Before `bridge run` or `bridge up` joins a broker under its client id, ask whether
 * another bridge there already supervises one of its keys. Joining first would be too
 * late: a second `bridge run --key cad` connects as `bridge.cad`, the id of the first, and
 * the broker hands it the first one's connection and subscriptions.
 */
import type { BrokerConfig } from '../src/broker/index.js';
import { BrokerClient, BrokerConnectionError } from '../src/client/index.js';
import type { Logger } from '../src/log/logger.js';
import { silentLogger } from '../src/log/logger.js';
import { CliError } from './cli-error.js';
import { linkAddress } from './open-link.js';
import { askOwner, KeyTakenError } from './script-registry.js';

/**
 * Another process is connected under the client id this bridge is about to join as:
 * joining would take over its connection and subscriptions (two `bridge up`s, say).
 */
export class ClientIdTakenError extends Error {
  override name = 'ClientIdTakenError';
  readonly code = 'client_id_taken';

  constructor(readonly clientId: string) {
    super(`another bridge is connected to this broker as "${clientId}"`);
  }
}

/**
 * The CLI error for a key another bridge supervises: who has it and what to do.
 * @param advice how to choose another key with the command that failed, e.g. "choose another --key"
 */
export function keyTakenCliError(err: KeyTakenError, advice: string): CliError {
  return new CliError(`${err.message}; ${advice} or stop it with \`bridge stop ${err.key}\``);
}

/** A short connect: this only asks a question; the real link reports a broker it cannot reach. */
const PROBE_CONNECT_TIMEOUT_S = 3;

/**
 * Ask the broker the link is about to join whether `clientId` is free, and who
 * supervises each of `keys`.
 * Resolves when none is taken, or when the question cannot be asked (no broker yet, so
 * this bridge will host it; or the broker refuses the probe's id), in which case
 * `ScriptRegistry.add` asks again once joined.
 * @throws ClientIdTakenError when a connected client already has `clientId`
 * @throws KeyTakenError for the first key (in `keys` order) another bridge supervises
 */
export async function refuseTakenKeys(
  flags: { host?: string; port?: string; token?: string },
  clientId: string,
  keys: string[],
  log: Logger,
  brokerConfig?: Partial<BrokerConfig>,
): Promise<void> {
  // Same address and token as openLink(), so the probe asks the broker the link will join.
  const { host, port } = linkAddress(flags, brokerConfig);
  const token = flags.token ?? (process.env.BROKER_TOKEN || undefined) ?? brokerConfig?.token ?? undefined;
  const client = new BrokerClient(`${clientId}.probe-${process.pid}`, {
    host,
    port,
    // Not 'bridge': `bridge ps` counts connected bridges and would wait for the probe's answer.
    clientType: 'cli',
    token,
    autoReconnect: false,
    cleanSession: true,
    connectTimeout: PROBE_CONNECT_TIMEOUT_S,
    // Its connect and disconnect are not worth a log line; failures are handled below.
    logger: silentLogger(),
  });
  try {
    await client.connect();
  } catch (err) {
    if (!(err instanceof BrokerConnectionError && err.code === 'ECONNREFUSED')) {
      log.debug('could not ask the broker whether the keys are free before joining; asking once joined', { host, port, error: err as Error });
    }
    return;
  }
  try {
    const holders = await Promise.all(
      keys.map((key) =>
        askOwner(client, key).catch((err: unknown) => {
          log.debug('could not ask the broker whether a key is free before joining; asking once joined', { key, error: err as Error });
          return null;
        }),
      ),
    );
    const taken = holders.findIndex((h) => h !== null);
    if (taken >= 0) throw new KeyTakenError(keys[taken]!, holders[taken]!);
    // After the keys: "cad is supervised by ..." says more than "the id is taken".
    const sessions = await client.status().then(
      (s) => s.clients ?? [],
      (err: unknown) => {
        log.debug('could not read the broker status before joining', { error: err as Error });
        return [];
      },
    );
    if (sessions.some((c) => c.client_id === clientId && c.connected)) throw new ClientIdTakenError(clientId);
  } finally {
    await client.disconnect();
  }
}
