/** `bridge request TOPIC [JSON]`: send a request and print the first reply. */
import { Command } from 'commander';
import { RpcError } from '../../src/client/index.js';
import { ErrorCode } from '../../src/protocol/errors.js';
import { connectClient, readStdin, withConnectFlags, type ConnectFlags } from '../connect-options.js';
import { CliError } from '../cli-error.js';
import { parsePayloadArg } from '../payload.js';
import { checkTopicArg } from '../topic-args.js';

interface RequestFlags extends ConnectFlags {
  timeout: string;
  pretty?: boolean;
  string?: boolean;
}

/** The message of a failed request: -32005 and -32002 said for humans, others as they are. */
export function requestFailure(topic: string, timeout: number, err: unknown): string {
  if (!(err instanceof RpcError)) return `request to ${topic} failed: ${(err as Error).message}`;
  if (err.code === ErrorCode.NO_RESPONDERS && !topic.startsWith('_internal.')) {
    return (
      `request to ${topic} failed (${err.code} no responders): nobody is subscribed to ${topic} (no other connected client).\n` +
      `Start a responder, e.g. \`bridge reply ${topic}\`, or check the topic's spelling.`
    );
  }
  if (err.code === ErrorCode.TIMEOUT) {
    const data = err.data as { delivered?: unknown } | undefined;
    const delivered = typeof data?.delivered === 'number' ? data.delivered : undefined;
    const who = delivered === undefined ? 'nobody answered' : `${delivered} subscriber${delivered === 1 ? '' : 's'} received it but nobody answered`;
    return (
      `request to ${topic} failed (${err.code} timeout): ${who} within ${timeout} s.\n` +
      `A subscriber like \`bridge sub\` only listens; an answer takes a responder, e.g. \`bridge reply ${topic}\`. Or allow more time with --timeout.`
    );
  }
  return `request to ${topic} failed (${err.code}): ${err.message}`;
}

export function requestCommand(): Command {
  const cmd = new Command('request')
    .description('send a request and print the reply as JSON (e.g. bridge request scripts.status \'{"script_id":"saw1"}\')')
    .argument('<topic>', 'request topic; "status" and "subscriptions" are answered by the broker')
    .argument('[payload]', 'JSON payload ("-" reads stdin; none sends null)')
    .option('-s, --string', 'send the payload as a JSON string, verbatim')
    .option('-t, --timeout <seconds>', 'how long to wait for a reply (at most 300)', '5')
    .option('--pretty', 'indent the JSON output');
  withConnectFlags(cmd).addHelpText(
    'after',
    `
Exits 1 when nobody is subscribed to the topic, or when nobody answers in time (a
\`bridge sub\` only listens; \`bridge reply TOPIC\` answers).`,
  );
  cmd.action(async (topic: string, payloadArg: string | undefined, flags: RequestFlags) => {
    const timeout = Number(flags.timeout);
    if (!Number.isFinite(timeout) || timeout <= 0 || timeout > 300) throw new CliError(`invalid --timeout "${flags.timeout}": use seconds, more than 0 and at most 300`);
    checkTopicArg(topic, { allowInternal: true });
    if (flags.string && payloadArg === undefined) throw new CliError('--string needs a PAYLOAD argument ("-" reads it from stdin)');
    const fromStdin = payloadArg === '-';
    const payload = parsePayloadArg(fromStdin ? await readStdin() : payloadArg, { asString: flags.string, what: fromStdin ? 'stdin' : 'the payload' });
    const client = await connectClient(flags);
    try {
      const result = await client.request(topic, payload, { timeout });
      process.stdout.write(JSON.stringify(result, null, flags.pretty ? 2 : undefined) + '\n');
    } catch (err) {
      throw new CliError(requestFailure(topic, timeout, err));
    } finally {
      await client.disconnect();
    }
  });
  return cmd;
}
