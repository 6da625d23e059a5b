/**
 * Joining or hosting the broker for a supervising command (`run`, `up`, `demo`): the
 * address from flags and config, the status page's exposure check, and the BrokerLink.
 */
import { ConfigError } from '../src/broker/config-error.js';
import type { BrokerConfig } from '../src/broker/index.js';
import type { Logger } from '../src/log/logger.js';
import { BrokerLink, type LinkRole } from './broker-link.js';
import { CliError } from './cli-error.js';
import { httpFlag, upstreamFlag } from './hosting-flags.js';
import { resolveAddress } from './connect-options.js';

/**
 * The broker a supervising command joins or hosts: the flags, then the config file's
 * `broker` section, then the environment and the defaults.
 */
export function linkAddress(flags: { host?: string; port?: string }, brokerConfig?: Partial<BrokerConfig>): { host: string; port: number } {
  return resolveAddress({
    host: flags.host ?? brokerConfig?.host,
    port: flags.port ?? (brokerConfig?.port === undefined ? undefined : String(brokerConfig.port)),
  });
}

/**
 * Join or host the broker for a supervising command (`run`, `up`, `demo`), at
 * {@link linkAddress}.
 */
export async function openLink(
  flags: { host?: string; port?: string; token?: string; http?: string | boolean; upstream?: string },
  clientId: string,
  log: Logger,
  brokerConfig?: Partial<BrokerConfig>,
): Promise<{ link: BrokerLink; role: LinkRole; host: string; port: number }> {
  const { host, port } = linkAddress(flags, brokerConfig);
  // The config file's shared token is also the bridge's own, so a bridge hosting a broker
  // that requires one can connect to it without repeating the secret on the command line.
  const token = flags.token ?? (process.env.BROKER_TOKEN || undefined) ?? brokerConfig?.token ?? undefined;
  const http = flags.http === undefined ? brokerConfig?.http : httpFlag(flags.http);
  // Before joining or hosting: a page that would be refused must not start a broker first.
  if (http) {
    // The status page's modules only for a command that asks for a page.
    const { checkPageExposure } = await import('./status-page/status-page.js');
    try {
      checkPageExposure(http, { token: brokerConfig?.token ?? null, allow_anonymous: brokerConfig?.allow_anonymous ?? null });
    } catch (err) {
      if (err instanceof ConfigError) throw new CliError(err.message);
      throw err;
    }
  }
  const federation = flags.upstream === undefined ? brokerConfig?.federation : upstreamFlag(flags.upstream);
  const link = new BrokerLink({ host, port, clientId, token, brokerConfig: { ...brokerConfig, http, federation }, log });
  try {
    return { link, role: await link.start(), host, port };
  } catch (err) {
    // A status page that cannot open says so in its own words (the broker was fine).
    if (err instanceof ConfigError) throw new CliError(err.message);
    throw new CliError(`cannot reach or host the broker at ${host}:${port}: ${(err as Error).message}`);
  }
}
