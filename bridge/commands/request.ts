/** `bridge request TOPIC [JSON]`: send a request and print the first reply. */
import { Command } from 'commander';
import { RpcError } from '../../src/client/index.js';
import { connectClient, parsePayload, readStdin, withConnectFlags, type ConnectFlags } from '../connect-options.js';
import { CliError } from '../cli-error.js';

interface RequestFlags extends ConnectFlags {
  timeout: string;
  pretty?: boolean;
}

export function requestCommand(): Command {
  const cmd = new Command('request')
    .description('send a request and print the reply as JSON (e.g. bridge request scripts.status \'{"script_id":"saw1"}\')')
    .argument('<topic>', 'request topic; "status" and "subscriptions" are answered by the broker')
    .argument('[payload]', 'JSON payload ("-" reads stdin)')
    .option('-t, --timeout <seconds>', 'how long to wait for a reply (at most 300)', '5')
    .option('--pretty', 'indent the JSON output');
  withConnectFlags(cmd).action(async (topic: string, payloadArg: string | undefined, flags: RequestFlags) => {
    const timeout = Number(flags.timeout);
    if (!Number.isFinite(timeout) || timeout <= 0 || timeout > 300) throw new CliError(`invalid --timeout "${flags.timeout}": use seconds, more than 0 and at most 300`);
    const payload = parsePayload(payloadArg === '-' ? await readStdin() : payloadArg);
    const client = await connectClient(flags);
    try {
      const result = await client.request(topic, payload, { timeout });
      process.stdout.write(JSON.stringify(result, null, flags.pretty ? 2 : undefined) + '\n');
    } catch (err) {
      const code = err instanceof RpcError ? ` (${err.code})` : '';
      throw new CliError(`request to ${topic} failed${code}: ${(err as Error).message}`);
    } finally {
      await client.disconnect();
    }
  });
  return cmd;
}
