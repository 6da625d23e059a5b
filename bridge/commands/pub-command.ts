/** `bridge pub TOPIC [PAYLOAD]`: its arguments, flags and help; the work is in pub.ts, loaded when it runs. */
import { Command, Option } from 'commander';
import { withConnectFlags } from '../connect-flags.js';
import { PUB_QOS_CHOICES } from './pub-flags.js';
import type { PubFlags } from './pub.js';

export function pubCommand(): Command {
  const cmd = new Command('pub')
    .description('publish a message (payload: JSON; --string sends text; "-" reads stdin; -l publishes each stdin line)')
    .argument('<topic>', 'topic, e.g. jobs.activated')
    .argument('[payload]', 'JSON, e.g. \'{"job_id":"12345"}\', 42 or \'"text"\'; "-" reads stdin; none sends null')
    .option('-s, --string', 'send the payload as a JSON string, verbatim (bridge pub notes.x -s "hello world")')
    .option('-l, --lines', 'read stdin and publish each line as its own message (blank lines skipped)')
    .addOption(new Option('-q, --qos <qos>', 'quality of service').choices(PUB_QOS_CHOICES).default(PUB_QOS_CHOICES[0]))
    .option('--ttl <seconds>', 'drop the message if not delivered within this time')
    .option('-r, --retain', 'keep as the topic\'s retained message')
    .option('--json', 'print the broker\'s result as JSON (one line per message)');
  withConnectFlags(cmd).addHelpText(
    'after',
    `
Text that is not JSON is refused with where it breaks; add --string (-s) to send it as text.
Examples:
  bridge pub jobs.activated '{"job_id":"12345"}'
  bridge pub notes.todo -s 'call Bob'           same as '"call Bob"'
  tail -f app.log | bridge pub logs.app -l -s   one message per line`,
  );
  cmd.action(async (topic: string, payloadArg: string | undefined, flags: PubFlags) => (await import('./pub.js')).runPub(topic, payloadArg, flags));
  return cmd;
}
