/**
 * The values of `--http` and `--upstream`, the flags of the commands that can host a
 * broker. Free of commander: `bridge broker` reads its usual command lines without it
 * (commands/broker-flags.ts).
 */
import { ConfigError } from '../src/broker/config-error.js';
import { parseFederationSetting, type FederationSetting } from '../src/broker/federation/federation-setting.js';
import { parseHttpSetting, type HttpSetting } from '../src/broker/http-setting.js';
import { CliError } from './cli-error.js';

/** `--http script.ahk`: commander hands the next word to an optional value. */
export function refuseSwallowedFile(value: unknown): void {
  if (typeof value === 'string' && /\.(ahk|ah2|ahk2|json)$/i.test(value)) {
    throw new CliError(`--http took "${value}" as its address; write --http=PORT, or put --http after "${value}"`);
  }
}

/** The flag text, after commander's `--http [ADDR]`: `true` when given without a value. */
export function httpFlag(value: string | boolean): HttpSetting | null {
  refuseSwallowedFile(value);
  try {
    return parseHttpSetting(value, '--http');
  } catch (err) {
    if (err instanceof ConfigError) throw new CliError(err.message);
    throw err;
  }
}

/** `--upstream URL`: federate every topic outside system. and _internal. both ways. */
export function upstreamFlag(url: string): FederationSetting {
  try {
    return parseFederationSetting(url, '--upstream')!;
  } catch (err) {
    if (err instanceof ConfigError) throw new CliError(err.message);
    throw err;
  }
}
