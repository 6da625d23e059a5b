/**
 * `bridge reply TOPIC [JSON]`: a test responder, like `nats reply`. Answers every request
 * on TOPIC (a pattern is allowed) with the same JSON, or `--echo`es each request's
 * payload, and prints what it receives, until Ctrl+C or `--count` requests. Its arguments
 * and flags are in reply-command.ts; this module loads when the command runs.
 */
import type { Message } from '../../src/client/index.js';
import type { ConnectFlags } from '../connect-options.js';
import { readStdin } from '../stdin-text.js';
import { CliError } from '../cli-error.js';
import { Listener } from '../listener.js';
import { messageRecord, recordJson } from '../message-format.js';
import { visible } from '../terminal-text.js';
import { RawJson } from '../../src/protocol/raw-json.js';
import { parsePayloadArg, payloadLine, payloadToSend } from '../payload.js';
import { checkPatternArgs } from '../topic-args.js';
import { DEFAULT_ANSWER } from './reply-command.js';
import { parseCount } from './sub.js';

export interface ReplyFlags extends ConnectFlags {
  string?: boolean;
  echo?: boolean;
  count?: string;
  json?: boolean;
}

/** The line printed for a received message. */
export function replyLine(message: Message, json: boolean): string {
  const request = message.replyTo !== undefined;
  if (json) return recordJson({ ...messageRecord(message), request });
  // Other clients' text (a sender's id) must not move the cursor or retitle the terminal.
  const line = visible(`${message.topic} ${message.sender} ${payloadLine(message)}`);
  return request ? line : `${line}  (a message, not a request: not answered)`;
}

/** Run `bridge reply` with its parsed arguments. */
export async function runReply(topic: string, answerArg: string | undefined, flags: ReplyFlags): Promise<void> {
  if (flags.echo && answerArg !== undefined) throw new CliError('give either an ANSWER or --echo, not both');
  if (flags.string && answerArg === undefined) throw new CliError('--string needs an ANSWER argument ("-" reads it from stdin)');
  const limit = parseCount(flags.count, '--count') ?? Infinity;
  checkPatternArgs([topic]);
  const fromStdin = answerArg === '-';
  const answer =
    answerArg === undefined ? DEFAULT_ANSWER : parsePayloadArg(fromStdin ? await readStdin() : answerArg, { asString: flags.string, what: fromStdin ? 'the answer on stdin' : 'the answer' });
  if (answer === null) throw new CliError('a null answer does not answer a request (the broker waits for a non-null reply): give another value');

  const listener = new Listener('reply');
  let answered = 0;
  await listener.start(flags, [topic], (message) => {
    process.stdout.write(replyLine(message, flags.json ?? false) + '\n');
    if (message.replyTo === undefined || answered >= limit) return undefined;
    const value = flags.echo ? payloadToSend(message) : answer;
    if (value === null) {
      listener.note(`not answered: the request on ${message.topic} has a null payload, and a null reply is no answer`);
      return undefined;
    }
    answered++;
    // After this callback's reply is on its way.
    if (answered >= limit) setImmediate(() => listener.finishSoon(0));
    return value;
  });
  if (!listener.stopping) {
    const how = flags.echo ? "each request's payload" : answer instanceof RawJson ? answer.toString() : JSON.stringify(answer);
    listener.note(`answering requests on ${topic} with ${how} (Ctrl+C to stop)`);
  }
}
