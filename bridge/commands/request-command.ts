/** `bridge request TOPIC [JSON]`: its arguments, flags and help; the work is in request.ts, loaded when it runs. */
import { Command } from 'commander';
import { withConnectFlags } from '../connect-flags.js';
import type { RequestFlags } from './request.js';

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
  cmd.action(async (topic: string, payloadArg: string | undefined, flags: RequestFlags) => (await import('./request.js')).runRequest(topic, payloadArg, flags));
  return cmd;
}
