/**
 * A broker that can start, stop and command AutoHotkey scripts is a remote control for the
 * PC's keyboard and mouse. Like Mosquitto 2.0, a listener beyond loopback refuses to start
 * when anyone could connect without credentials, unless the operator says so explicitly.
 */
import net from 'node:net';
import { ConfigError, type BrokerConfig } from '../config.js';
import type { Authenticator } from './authenticator.js';

/**
 * True when `host` can only be reached from this machine. Host names other than
 * `localhost` count as beyond loopback: what they resolve to can change.
 */
export function isLoopbackHost(host: string): boolean {
  if (host === 'localhost') return true;
  const bare = host.startsWith('[') && host.endsWith(']') ? host.slice(1, -1) : host;
  if (net.isIPv4(bare)) return bare.startsWith('127.');
  if (net.isIPv6(bare)) return bare === '::1' || /^::ffff:127\./i.test(bare);
  return false;
}

/**
 * Refuse to listen on `config.host` when that would expose an unauthenticated broker;
 * returns the warning to log and show in `status` when the operator allowed it anyway.
 * @throws ConfigError saying why and what to set
 */
export function checkExposure(config: BrokerConfig, auth: Authenticator): string | null {
  if (isLoopbackHost(config.host) || !auth.anonymousAllowed) return null;
  if (config.allow_anonymous !== true) {
    throw new ConfigError(
      `refusing to listen on ${config.host} without authentication: anyone on the network could drive this PC's scripts. ` +
        `Set "token" (one shared secret) or "clients" (per-client secrets and permissions) in the config file, ` +
        `or pass --allow-anonymous (config "allow_anonymous": true) to accept anyone anyway.`,
    );
  }
  return `listening on ${config.host} with anonymous clients allowed: anyone who can reach port ${config.port} can publish, subscribe and drive scripts`;
}
