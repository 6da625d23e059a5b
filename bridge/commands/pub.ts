/**
 * `bridge pub TOPIC [PAYLOAD]`: publish one message, or with `-l` one per line of stdin
 * (like `mosquitto_pub -l`). The payload is JSON; `--string` sends the text itself. Its
 * arguments and flags are in pub-command.ts; this module loads when the command runs.
 */
import type { BrokerClient } from '../../src/client/index.js';
import { connectClient, leaveBroker, type ConnectFlags } from '../connect-options.js';
import { stdinLines } from '../stdin-lines.js';
import { readStdin, refuseFolderStdin } from '../stdin-text.js';
import { CliError } from '../cli-error.js';
import { jsonErrorMessage, jsonText, parsePayloadArg } from '../payload.js';
import { checkTopicArg } from '../topic-args.js';
import { secondsFlag } from '../number-flags.js';

export interface PubFlags extends ConnectFlags {
  qos: string;
  ttl?: string;
  retain?: boolean;
  json?: boolean;
  string?: boolean;
  lines?: boolean;
}

interface PublishResult {
  message_id: string;
  delivered: number;
}

interface PublishOptions {
  qos: number;
  ttl: number;
  retain: boolean;
}

function plural(n: number, word: string): string {
  return `${n} ${word}${n === 1 ? '' : 's'}`;
}

async function publishOne(client: BrokerClient, topic: string, payload: unknown, opts: PublishOptions): Promise<PublishResult> {
  return client.call<PublishResult>('publish', { topic, payload, ...opts });
}

/** Run `bridge pub` with its parsed arguments. */
export async function runPub(topic: string, payloadArg: string | undefined, flags: PubFlags): Promise<void> {
  // A ttl sets no timer: the broker compares times, so it has no upper bound.
  const ttl = flags.ttl === undefined ? 0 : secondsFlag(flags.ttl, '--ttl', { zero: true, max: Infinity });
  checkTopicArg(topic);
  const opts: PublishOptions = { qos: Number(flags.qos), ttl, retain: flags.retain ?? false };
  if (flags.lines) {
    if (payloadArg !== undefined && payloadArg !== '-') throw new CliError('-l/--lines publishes the lines of stdin: leave out the PAYLOAD argument');
    await publishLines(topic, flags, opts);
    return;
  }
  if (flags.string && payloadArg === undefined) throw new CliError('--string needs a PAYLOAD argument ("-" reads it from stdin)');
  const fromStdin = payloadArg === '-';
  const payload = parsePayloadArg(fromStdin ? await readStdin() : payloadArg, { asString: flags.string, what: fromStdin ? 'stdin' : 'the payload' });
  const client = await connectClient(flags);
  try {
    const raw = await publishOne(client, topic, payload, opts);
    if (flags.json) process.stdout.write(JSON.stringify(raw) + '\n');
    else process.stdout.write(`published ${topic} to ${plural(raw.delivered, 'subscriber')} (message_id ${raw.message_id})\n`);
  } catch (err) {
    throw new CliError(`publish failed: ${(err as Error).message}`);
  } finally {
    await leaveBroker(client);
  }
}

/**
 * `-l`: publish each line of stdin as it arrives, in order, each once the one before it
 * was accepted. A line that is not JSON stops it (the lines before it are published).
 */
async function publishLines(topic: string, flags: PubFlags, opts: PublishOptions): Promise<void> {
  refuseFolderStdin();
  const client = await connectClient(flags);
  let lineNo = 0;
  let published = 0;
  const stoppedAt = (): string => `Stopped at line ${lineNo}: ${published === 0 ? 'nothing was' : `${plural(published, 'message')} before it ${published === 1 ? 'was' : 'were'}`} published, nothing after it.`;
  try {
    for await (const line of stdinLines(process.stdin)) {
      lineNo++;
      if (line.trim() === '') continue;
      let payload: unknown = line;
      if (!flags.string) {
        try {
          JSON.parse(line);
          payload = jsonText(line);
        } catch {
          throw new CliError(jsonErrorMessage(line, `line ${lineNo} of stdin`, `${stoppedAt()} To send the lines as text, add --string (-s).`));
        }
      }
      let res: PublishResult;
      try {
        res = await publishOne(client, topic, payload, opts);
      } catch (err) {
        throw new CliError(`publish failed at line ${lineNo}: ${(err as Error).message}\n${stoppedAt()}`);
      }
      published++;
      if (flags.json) process.stdout.write(JSON.stringify(res) + '\n');
    }
  } finally {
    // Stop reading: a producer still writing (tail -f) must not keep us alive.
    process.stdin.destroy();
    await leaveBroker(client);
  }
  if (!flags.json) process.stdout.write(`published ${plural(published, 'message')} on ${topic}\n`);
}
