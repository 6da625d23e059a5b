/**
 * `bridge tail <file>`: its arguments, flags and help; the work is in tail.ts, loaded when
 * it runs. Its everyday command lines are read without commander (tail-flags.ts), from a
 * table of these same flags.
 */
import { Command, Option } from 'commander';
import { withConnectFlags, withLogFileFlag } from '../connect-flags.js';
import type { TailFlags } from './tail.js';
import { TAIL_QOS_CHOICES } from './tail-flags.js';

const collect = (value: string, previous: string[]): string[] => [...previous, value];

export function tailCommand(): Command {
  const cmd = new Command('tail')
    .description('publish every line a legacy script appends to a queue file (TOPIC|payload), none lost')
    .argument('<file>', 'the queue file, e.g. C:\\temp\\broker_queue.txt (may not exist yet)')
    .option('-e, --encoding <name>', 'code page when the file has no BOM (default windows-1252)')
    .option('--prefix <prefix>', 'put in front of every topic, after --map (e.g. legacy.)')
    .option('-m, --map <LEGACY=topic>', 'map a legacy name to a topic (repeatable)', collect, [])
    .option('--map-file <file>', 'JSON file of {"LEGACY_NAME": "topic"}')
    .option('--position-file <file>', 'where the read position is kept (default <file>.pos)')
    .option('--dead-letter-file <file>', 'where unpublishable lines go (default <file>.dead)')
    .option('--flush-timeout <seconds>', 'take a last line without newline after this long (default 2)')
    .addOption(new Option('-q, --qos <qos>', 'QoS of the publishes').choices(TAIL_QOS_CHOICES).default(TAIL_QOS_CHOICES[1]));
  return withLogFileFlag(withConnectFlags(cmd, 'info')).action(async (file: string, flags: TailFlags) => (await import('./tail.js')).runTail(file, flags));
}
