/**
 * `bridge sub PATTERN...`: print every matching message, one line each, like
 * `mosquitto_sub -v` (`topic payload`), or one JSON object per line with `--json`.
 */
import { Command } from 'commander';
import type { Message } from '../../src/client/index.js';
import { connectClient, withConnectFlags, type ConnectFlags } from '../connect-options.js';
import { CliError } from '../cli-error.js';
import { onShutdownSignal } from '../signals.js';

interface SubFlags extends ConnectFlags {
  json?: boolean;
  count?: string;
}

/** One output line for `message`. */
export function formatMessage(message: Message, json: boolean): string {
  if (!json) return `${message.topic} ${JSON.stringify(message.payload)}`;
  const out: Record<string, unknown> = {
    topic: message.topic,
    payload: message.payload,
    sender: message.sender,
    timestamp: message.timestamp,
    message_id: message.messageId,
    qos: message.qos,
  };
  if (message.retained) out.retained = true;
  if (message.redelivered) out.redelivered = true;
  if (message.replyTo) out.reply_to = message.replyTo;
  return JSON.stringify(out);
}

export function subCommand(): Command {
  const cmd = new Command('sub')
    .description('print messages matching the patterns until Ctrl+C (e.g. bridge sub "scripts.#" "jobs.*")')
    .argument('<patterns...>', 'topic patterns: exact, * or + for one level, # for any depth')
    .option('--json', 'one JSON object per line with sender, timestamp, message_id, qos')
    .option('-n, --count <n>', 'exit after receiving this many messages');
  withConnectFlags(cmd).action(async (patterns: string[], flags: SubFlags) => {
    const limit = flags.count === undefined ? Infinity : Number(flags.count);
    if (!(limit > 0) || (limit !== Infinity && !Number.isInteger(limit))) throw new CliError(`invalid --count "${flags.count}": use a positive whole number`);
    process.stdout.on('error', (err: NodeJS.ErrnoException) => {
      // The reader went away (`bridge sub ... | head`): that is a normal way to stop.
      if (err.code === 'EPIPE') process.exit(0);
      throw err;
    });
    const client = await connectClient(flags, { autoReconnect: true });
    let received = 0;
    let finishing = false;
    const finish = async (): Promise<void> => {
      if (finishing) return;
      finishing = true;
      // Unsubscribe first: the session outlives the connection, and should not keep
      // queueing QoS 1 messages for a subscriber that is gone.
      await client.unsubscribe(patterns).catch(() => undefined);
      await client.disconnect();
      process.exit(0);
    };
    client.on('disconnected', (reason) => {
      if (!finishing) process.stderr.write(`bridge sub: connection lost (${reason}); reconnecting...\n`);
    });
    client.on('connected', () => {
      if (received > 0 || finishing) process.stderr.write('bridge sub: reconnected\n');
    });
    client.on('error_occurred', (err) => process.stderr.write(`bridge sub: ${err.message}\n`));
    try {
      await client.subscribe(patterns, (message) => {
        if (received >= limit) return undefined;
        received++;
        process.stdout.write(formatMessage(message, flags.json ?? false) + '\n');
        if (received >= limit) {
          finish().catch((err: unknown) => {
            process.stderr.write(`bridge sub: ${(err as Error).message}\n`);
            process.exit(1);
          });
        }
        return undefined;
      });
    } catch (err) {
      await client.disconnect();
      throw new CliError(`subscribe failed: ${(err as Error).message}`);
    }
    // On stderr, so piped output stays messages only; also tells scripts when it listens.
    process.stderr.write(`bridge sub: listening on ${patterns.join(', ')} (Ctrl+C to stop)\n`);
    onShutdownSignal(() => finish());
  });
  return cmd;
}
