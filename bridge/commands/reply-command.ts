/** `bridge reply TOPIC [JSON]`: its arguments, flags and help; the work is in reply.ts, loaded when it runs. */
import { Command } from 'commander';
import { withConnectFlags } from '../connect-flags.js';
import type { ReplyFlags } from './reply.js';

/** What `bridge reply` answers with when given no answer. */
export const DEFAULT_ANSWER = { ok: true } as const;

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
  cmd.action(async (topic: string, answerArg: string | undefined, flags: ReplyFlags) => (await import('./reply.js')).runReply(topic, answerArg, flags));
  return cmd;
}
