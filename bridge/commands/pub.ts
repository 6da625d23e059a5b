/** `bridge pub TOPIC [JSON]`: publish one message. */
import { Command, Option } from 'commander';
import { connectClient, parsePayload, readStdin, withConnectFlags, type ConnectFlags } from '../connect-options.js';
import { CliError } from '../cli-error.js';

interface PubFlags extends ConnectFlags {
  qos: string;
  ttl?: string;
  retain?: boolean;
  json?: boolean;
}

export function pubCommand(): Command {
  const cmd = new Command('pub')
    .description('publish a message (payload: JSON, plain text becomes a string, "-" reads stdin)')
    .argument('<topic>', 'topic, e.g. jobs.activated')
    .argument('[payload]', 'JSON payload, e.g. \'{"job_id":"12345"}\'')
    .addOption(new Option('-q, --qos <qos>', 'quality of service').choices(['0', '1']).default('0'))
    .option('--ttl <seconds>', 'drop the message if not delivered within this time')
    .option('-r, --retain', 'keep as the topic\'s retained message')
    .option('--json', 'print the broker\'s result as JSON');
  withConnectFlags(cmd).action(async (topic: string, payloadArg: string | undefined, flags: PubFlags) => {
    const ttl = flags.ttl === undefined ? 0 : Number(flags.ttl);
    if (!Number.isFinite(ttl) || ttl < 0) throw new CliError(`invalid --ttl "${flags.ttl}": use a number of seconds`);
    const payload = parsePayload(payloadArg === '-' ? await readStdin() : payloadArg);
    const client = await connectClient(flags);
    try {
      let delivered = 0;
      const raw = (await client.call('publish', { topic, payload, qos: Number(flags.qos), ttl, retain: flags.retain ?? false })) as {
        message_id: string;
        delivered: number;
      };
      delivered = raw.delivered;
      if (flags.json) process.stdout.write(JSON.stringify(raw) + '\n');
      else process.stdout.write(`published ${topic} to ${delivered} subscriber${delivered === 1 ? '' : 's'} (message_id ${raw.message_id})\n`);
    } catch (err) {
      throw new CliError(`publish failed: ${(err as Error).message}`);
    } finally {
      await client.disconnect();
    }
  });
  return cmd;
}
