/**
 * `bridge pub`'s everyday command lines are read without commander
 * (bridge/commands/pub-flags.ts); every one of them must give the topic, the payload and
 * the flags exactly as commander gives them (bridge/commands/pub-command.ts), and every
 * other line must be left to commander. The lines are made from commander's own
 * definition of the command, so a flag added there and not to the table fails here, and
 * the table is held to that definition, so a flag or alias only the table has fails too.
 */
import type { Option } from 'commander';
import { describe, expect, it } from 'vitest';
import { pubCommand } from '../../bridge/commands/pub-command.js';
import { PUB_PLAIN_FLAGS, parsePubLine } from '../../bridge/commands/pub-flags.js';
import { commanderReading, tableMismatches, unreadFlags } from '../helpers/plain-flag-table.js';

type PubLine = { topic: string; payload: string | undefined; flags: Record<string, unknown> };

/** What commander hands the pub's action for `args`. */
function viaCommander(args: string[]): PubLine {
  const { positionals, flags } = commanderReading(pubCommand(), args);
  return { topic: positionals[0] as string, payload: positionals[1] as string | undefined, flags };
}

const OPTIONS: readonly Option[] = pubCommand().options;

/** A value commander takes for `option`, other than its default where it has one. */
function valueOf(option: Option): string {
  const choices = option.argChoices;
  if (choices) return choices.find((c) => c !== option.defaultValue) ?? choices[0]!;
  return option.long === '--port' ? '15234' : option.long === '--ttl' ? '30' : `v${option.long!}`;
}

/** `option` with its value as separate arguments, or alone for a switch. */
const given = (flag: string, option: Option): string[] => (option.required ? [flag, valueOf(option)] : [flag]);

const TOPIC = 'jobs.activated';
const PAYLOAD = '{"job_id":"12345"}';

/** Every flag in each of its forms, with and without a payload, and lines people write. */
const EVERYDAY: string[][] = [
  [TOPIC],
  [TOPIC, PAYLOAD],
  ...OPTIONS.flatMap((o) => {
    const lines = [
      [TOPIC, PAYLOAD, ...given(o.long!, o)],
      [TOPIC, ...given(o.long!, o), PAYLOAD],
      [...given(o.long!, o), TOPIC],
    ];
    if (o.required) lines.push([TOPIC, PAYLOAD, `${o.long!}=${valueOf(o)}`]);
    if (o.short) lines.push([TOPIC, PAYLOAD, ...given(o.short, o)]);
    return lines;
  }),
  ['notes.todo', '-s', 'call Bob'],
  ['notes.todo', 'call Bob', '--string'],
  ['jobs.done', '42', '-q', '1', '-r', '--ttl', '60', '--json'],
  ['saw.cmd', '{"cut":1200}', '--host', '127.0.0.1', '--port', '15234', '-i', 'saw-script', '--token', 'with spaces'],
  ['jobs.x', '""'],
  ['jobs.x', ''],
  ['jobs.x', 'null', '--qos', '1', '--qos', '0'],
  ['jobs.x', '--token=-starts-with-a-dash'],
  ['jobs.x', '{"a":1}', '--log-level', 'warning', '--log-format', 'json'],
];

/** Lines commander must read: help, short flags run together, stdin, mistakes. */
const COMMANDERS: string[][] = [
  [],
  ['--help'],
  ['-h'],
  ['jobs.x', '-'],
  ['jobs.x', '-l', '-'],
  ['jobs.x', '-5'],
  ['jobs.x', '{}', 'extra'],
  ['jobs.x', '-sr', 'text'],
  ['jobs.x', '--bogus'],
  ['jobs.x', '-x'],
  ['jobs.x', '-q1'],
  ['jobs.x', '--qos', '2'],
  ['jobs.x', '--qos', '2', '--qos', '1'],
  ['jobs.x', '--ttl'],
  ['jobs.x', '--ttl', '--json'],
  ['jobs.x', '--json=yes'],
  ['jobs.x', '--log-format', 'xml'],
  ['jobs.x', '--', '{}'],
  ['jobs.x', '--Retain'],
  ['jobs.x', '--no-retain'],
];

describe('bridge pub flags without commander', () => {
  it('every everyday line gives exactly the topic, the payload and the flags commander gives', () => {
    for (const args of EVERYDAY) {
      expect(parsePubLine(args), JSON.stringify(args)).toEqual(viaCommander(args));
    }
  });

  it('takes the topic, then the payload, wherever the flags are', () => {
    expect(parsePubLine(['-r', 'jobs.x', '--qos', '1', '{"n":1}'])).toEqual({ topic: 'jobs.x', payload: '{"n":1}', flags: { qos: '1', retain: true, logFormat: 'text' } });
    expect(parsePubLine(['jobs.x'])).toEqual({ topic: 'jobs.x', payload: undefined, flags: { qos: '0', logFormat: 'text' } });
  });

  it('every other line is left to commander', () => {
    for (const args of COMMANDERS) expect(parsePubLine(args), JSON.stringify(args)).toBeNull();
  });

  it('lists no flag, alias, kind, choice or default that commander does not', () => {
    expect(tableMismatches(PUB_PLAIN_FLAGS, OPTIONS)).toEqual([]);
  });

  it('reads every flag of the command, long and short', () => {
    expect(OPTIONS.length).toBeGreaterThan(10);
    expect(unreadFlags(OPTIONS, (flag, option) => parsePubLine(['jobs.x', ...given(flag, option)]) !== null)).toEqual([]);
  });
});
