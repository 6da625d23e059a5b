/**
 * `bridge request TOPIC [JSON]`: send a request and print the first reply. Its arguments
 * and flags are in request-command.ts; this module loads when the command runs.
 */
import { RpcError } from '../../src/client/index.js';
import { ErrorCode } from '../../src/protocol/errors.js';
import { connectClient, leaveBroker, type ConnectFlags } from '../connect-options.js';
import { readStdin } from '../stdin-text.js';
import { CliError } from '../cli-error.js';
import { compactJson, parsePayloadArg, prettyJson } from '../payload.js';
import { visible } from '../terminal-text.js';
import { checkTopicArg } from '../topic-args.js';
import { secondsFlag } from '../number-flags.js';

export interface RequestFlags extends ConnectFlags {
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
  // The responder chose the message and the data: shown escaped, so they cannot act on the terminal.
  const data = err.data === undefined ? '' : `\n  data: ${visible(compactDataJson(err.data))}`;
  return `request to ${topic} failed (${err.code}): ${visible(err.message)}${data}`;
}

/** An error's data as one line of JSON (what a responder sent is JSON, so it serialises). */
function compactDataJson(data: unknown): string {
  try {
    return JSON.stringify(data);
  } catch {
    return String(data);
  }
}

/** Run `bridge request` with its parsed arguments. */
export async function runRequest(topic: string, payloadArg: string | undefined, flags: RequestFlags): Promise<void> {
  const timeout = secondsFlag(flags.timeout, '--timeout', { max: 300 });
  checkTopicArg(topic, { allowInternal: true });
  if (flags.string && payloadArg === undefined) throw new CliError('--string needs a PAYLOAD argument ("-" reads it from stdin)');
  const fromStdin = payloadArg === '-';
  const payload = parsePayloadArg(fromStdin ? await readStdin() : payloadArg, { asString: flags.string, what: fromStdin ? 'stdin' : 'the payload' });
  const client = await connectClient(flags);
  try {
    // The answer as the responder wrote it: its value could not always hold it (1e400, -0).
    const text = (await client.request(topic, payload, { timeout, text: true })) as string;
    process.stdout.write((flags.pretty ? prettyJson(text) : compactJson(text)) + '\n');
  } catch (err) {
    throw new CliError(requestFailure(topic, timeout, err));
  } finally {
    await leaveBroker(client);
  }
}
