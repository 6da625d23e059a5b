/**
 * `bridge reply TOPIC [JSON]`: a test responder, like `nats reply`. Answers every request
 * on TOPIC (a pattern is allowed) with the same JSON, or `--echo`es each request's
 * payload, and prints what it receives, until Ctrl+C or `--count` requests.
 */
import { Command } from 'commander';
import type { Message } from '../../src/client/index.js';
import { readStdin, withConnectFlags, type ConnectFlags } from '../connect-options.js';
import { CliError } from '../cli-error.js';
import { Listener } from '../listener.js';
import { messageRecord } from '../message-format.js';
import { parsePayloadArg } from '../payload.js';
import { checkPatternArgs } from '../topic-args.js';
import { parseCount } from './sub.js';

interface ReplyFlags extends ConnectFlags {
  string?: boolean;
  echo?: boolean;
  count?: string;
  json?: boolean;
}

/** What `bridge reply` answers with when given no answer. */
export const DEFAULT_ANSWER = { ok: true } as const;

/** The line printed for a received message. */
export function replyLine(message: Message, json: boolean): string {
  const request = message.replyTo !== undefined;
  if (json) return JSON.stringify({ ...messageRecord(message), request });
  const line = `${message.topic} ${message.sender} ${JSON.stringify(message.payload)}`;
  return request ? line : `${line}  (a message, not a request: not answered)`;
}

export function replyCommand(): Command {
  const cmd = new Command('reply')
    .description('answer the requests on a topic and print each one, until Ctrl+C (a test responder, like nats reply)')
    .argument('<topic>', 'topic or pattern to answer, e.g. scripts.status or "jobs.*"')
    .argument('[answer]', `JSON to answer every request with (default ${JSON.stringify(DEFAULT_ANSWER)}; "-" reads stdin)`)
    .option('-s, --string', 'answer with ANSWER as a JSON string, verbatim')
    .option('--echo', 'answer each request with its own payload')
    .option('-C, --count <n>', 'exit 0 after answering this many requests')
    .option('--json', 'print each message as one JSON object, with "request": true or false');
  withConnectFlags(cmd).addHelpText(
    'after',
    `
Prints one line per message received: "topic sender payload" (the payload as JSON).
Only requests (bridge request, a client's request()) are answered; messages published
with bridge pub reach it too and are printed, marked "not a request: not answered".
A null answer would not answer (the broker waits for a non-null reply), so it is refused.
Examples:
  bridge reply scripts.status '{"running":true}'
  bridge reply "jobs.*" --echo --count 1`,
  );
  cmd.action(async (topic: string, answerArg: string | undefined, flags: ReplyFlags) => {
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
      const value = flags.echo ? message.payload : answer;
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
      const how = flags.echo ? "each request's payload" : JSON.stringify(answer);
      listener.note(`answering requests on ${topic} with ${how} (Ctrl+C to stop)`);
    }
  });
  return cmd;
}
