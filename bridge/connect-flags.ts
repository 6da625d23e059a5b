/**
 * The flags several commands share (`--host`, `--port`, `--log-level`, `--http`, ...); their
 * values are read by hosting-flags.ts (and, for a line read without commander, listed in
 * connect-flag-table.ts). Kept apart from connect-options.ts, which
 * connects and hosts brokers: every command's definition needs these flags for `--help`,
 * and loading them must not load the client, the broker link or the status page.
 */
import { Option, type Command } from 'commander';
import { DEFAULT_HTTP_PORT } from '../src/broker/http-setting.js';
import { DEFAULT_HOST, DEFAULT_PORT } from '../src/protocol/messages.js';
import { LOG_FORMATS } from './connect-flag-table.js';
import { refuseSwallowedFile } from './hosting-flags.js';
import { LOG_FILE_ROTATION } from './log-file.js';

/** Add `--log-level` and `--log-format` (`defaultLevel` is only shown in the help). */
export function withLogFlags(cmd: Command, defaultLevel: string): Command {
  return cmd
    .option('--log-level <level>', `debug, info, warning, error or silent (env BROKER_LOG_LEVEL, default ${defaultLevel})`)
    .addOption(new Option('--log-format <format>', 'log lines as text or one JSON object per line').choices(LOG_FORMATS).default(LOG_FORMATS[0]));
}

/**
 * Add `--log-file` to a long-running command: its logs go to a rotating file instead of
 * stderr (what a bridge started hidden at logon needs).
 */
export function withLogFileFlag(cmd: Command): Command {
  return cmd.option('--log-file <file>', `write the logs to this file instead of stderr (${LOG_FILE_ROTATION})`);
}

/** Add the shared connection flags (and the log flags) to a command. */
export function withConnectFlags(cmd: Command, defaultLogLevel = 'warning'): Command {
  cmd
    .option('-H, --host <host>', `broker host (env BROKER_HOST, default ${DEFAULT_HOST})`)
    .option('-p, --port <port>', `broker port (env BROKER_PORT, default ${DEFAULT_PORT})`)
    .option('-i, --client-id <id>', 'client id to connect as (default: bridge-cli-<pid>)')
    .option('--token <token>', 'shared token, when the broker requires one (env BROKER_TOKEN)');
  return withLogFlags(cmd, defaultLogLevel);
}

/** `--http [ADDR]` and `--upstream URL` for the commands that can host a broker. */
export function withHttpFlag(cmd: Command): Command {
  cmd.option('--upstream <url>', 'federate with a NATS or MQTT server (nats://host:4222, mqtt://host:1883): every topic outside system. and _internal. crosses both ways; "federation" in the config chooses topics');
  cmd.option(
    '--http [addr]',
    `serve the status page and monitoring API while this process hosts the broker: [HOST:]PORT, loopback only unless a host is given (default ${DEFAULT_HTTP_PORT})`,
  );
  // As the flag is read: `bridge run --http x.ahk` would otherwise stop at commander's
  // "missing required argument 'script'", which hides that --http took the script.
  cmd.on('option:http', refuseSwallowedFile);
  return cmd;
}
