/**
 * `bridge tail`'s everyday command lines are read without commander
 * (bridge/commands/tail-flags.ts); every one of them must give the tail exactly the file
 * and flags commander gives it (bridge/commands/tail-command.ts), and every other line
 * must be left to commander. The lines are made from commander's own definition of the
 * command, so a flag added there and not to the table fails here, and the table is held
 * to that definition, so a flag or alias only the table has fails too.
 */
import type { Option } from 'commander';
import { describe, expect, it } from 'vitest';
import { tailCommand } from '../../bridge/commands/tail-command.js';
import { TAIL_PLAIN_FLAGS, parseTailLine } from '../../bridge/commands/tail-flags.js';
import { commanderReading, tableMismatches, unreadFlags } from '../helpers/plain-flag-table.js';

/** What commander hands the tail's action for `args`. */
function viaCommander(args: string[]): { file: string; flags: Record<string, unknown> } {
  const { positionals, flags } = commanderReading(tailCommand(), args);
  return { file: positionals[0] as string, flags };
}

const OPTIONS: readonly Option[] = tailCommand().options;

/** A value commander takes for `option`, other than its default where it has one. */
function valueOf(option: Option): string {
  const choices = option.argChoices;
  if (choices) return choices.find((c) => c !== option.defaultValue) ?? choices[0]!;
  return option.long === '--port' ? '15234' : option.long === '--map' ? 'JOB_DONE=jobs.done' : `v${option.long!}`;
}

const QUEUE = 'C:\\temp\\broker_queue.txt';

/** Every flag in each of its forms, and lines people write. */
const EVERYDAY: string[][] = [
  [QUEUE],
  ...OPTIONS.flatMap((o) => {
    const v = valueOf(o);
    const lines = [
      [QUEUE, o.long!, v],
      [QUEUE, `${o.long!}=${v}`],
      [o.long!, v, QUEUE],
    ];
    if (o.short) lines.push([QUEUE, o.short, v]);
    return lines;
  }),
  ['queue.txt', '--map', 'JOB_ACTIVATED=jobs.activated', '--host', '127.0.0.1', '--port', '15234', '--log-level', 'warning'],
  ['queue.txt', '-m', 'A=a', '--map', 'B=b', '--map=C=c'],
  ['--map', 'A=a', 'queue.txt', '--qos', '0', '--qos', '1'],
  ['queue.txt', '--port', '1', '--port', '2'],
  ['queue.txt', '--token='],
  ['queue.txt', '--token', 'with spaces'],
  ['queue.txt', '--token=-starts-with-a-dash'],
  ['C:\\Program Files\\shop\\queue.txt', '--log-format', 'json', '--log-file', 'C:\\logs\\tail.log'],
  ['', '--prefix', 'legacy.'],
];

/** Lines commander must read: help, short flags run together, mistakes. */
const COMMANDERS: string[][] = [
  [],
  ['--help'],
  ['-h'],
  ['queue.txt', 'other.txt'],
  ['--map', 'A=a'],
  ['queue.txt', '--bogus'],
  ['queue.txt', '-x'],
  ['queue.txt', '-p15234'],
  ['queue.txt', '-p=15234'],
  ['queue.txt', '-qe', '0'],
  ['queue.txt', '--qos', '2'],
  ['queue.txt', '--qos', '2', '--qos', '1'],
  ['queue.txt', '--log-format', 'xml'],
  ['queue.txt', '--port'],
  ['queue.txt', '--port', '--host', 'x'],
  ['queue.txt', '--map', '-A=a'],
  ['queue.txt', '--', '--port'],
  ['-'],
  ['queue.txt', '--Port', '1'],
  ['queue.txt', '--no-map'],
];

describe('bridge tail flags without commander', () => {
  it('every everyday line gives exactly the file and flags commander gives', () => {
    for (const args of EVERYDAY) {
      expect(parseTailLine(args), JSON.stringify(args)).toEqual(viaCommander(args));
    }
  });

  it('collects --map in the order given, a new list for each line', () => {
    expect(parseTailLine(['q.txt', '-m', 'B=b', '--map', 'A=a'])?.flags.map).toEqual(['B=b', 'A=a']);
    expect(parseTailLine(['q.txt'])?.flags.map).toEqual([]);
    const first = parseTailLine(['q.txt', '--map', 'A=a']);
    expect(parseTailLine(['q.txt'])?.flags.map).toEqual([]);
    expect(first?.flags.map).toEqual(['A=a']);
  });

  it('every other line is left to commander', () => {
    for (const args of COMMANDERS) expect(parseTailLine(args), JSON.stringify(args)).toBeNull();
  });

  it('lists no flag, alias, kind, choice or default that commander does not', () => {
    expect(tableMismatches(TAIL_PLAIN_FLAGS, OPTIONS)).toEqual([]);
  });

  it('reads every flag of the command, long and short', () => {
    expect(OPTIONS.length).toBeGreaterThan(10);
    expect(unreadFlags(OPTIONS, (flag, option) => parseTailLine(['q.txt', flag, valueOf(option)]) !== null)).toEqual([]);
  });
});
