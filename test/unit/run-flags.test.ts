/**
 * `bridge run`'s everyday command lines are read without commander
 * (bridge/commands/run-flags.ts); every one of them must give the script, its arguments
 * and the flags exactly as commander gives them (bridge/commands/run-command.ts), and
 * every other line must be left to commander. The lines are made from commander's own
 * definition of the command, so a flag added there and not to the table fails here, and
 * the table is held to that definition, so a flag or alias only the table has fails too.
 */
import type { Option } from 'commander';
import { describe, expect, it } from 'vitest';
import { runCommand } from '../../bridge/commands/run-command.js';
import { RUN_PLAIN_FLAGS, parseRunLine } from '../../bridge/commands/run-flags.js';
import { commanderReading, tableMismatches, unreadFlags } from '../helpers/plain-flag-table.js';

type RunLine = { script: string; args: string[]; flags: Record<string, unknown> };

/** What commander hands the run's action for `args`. */
function viaCommander(args: string[]): RunLine {
  const { positionals, flags } = commanderReading(runCommand(), args);
  return { script: positionals[0] as string, args: positionals[1] as string[], flags };
}

const OPTIONS: readonly Option[] = runCommand().options;
/** Every option a plain line reads: all but `--http [addr]`, whose value is optional. */
const PLAIN_OPTIONS = OPTIONS.filter((o) => !o.optional);

/** A value commander takes for `option`, other than its default where it has one. */
function valueOf(option: Option): string {
  const choices = option.argChoices;
  if (choices) return choices.find((c) => c !== option.defaultValue) ?? choices[0]!;
  return option.long === '--port' ? '15234' : `v${option.long!}`;
}

/** `option` with its value as separate arguments, or alone for a switch. */
const given = (flag: string, option: Option): string[] => (option.required ? [flag, valueOf(option)] : [flag]);

const SCRIPT = 'C:\\shop\\scripts\\saw.ahk';

/** Every flag in each of its forms, and lines people write. */
const EVERYDAY: string[][] = [
  [SCRIPT],
  ...PLAIN_OPTIONS.flatMap((o) => {
    const lines = [
      [SCRIPT, ...given(o.long!, o)],
      [...given(o.long!, o), SCRIPT],
      [SCRIPT, ...given(o.long!, o), '--', '--saw', '1'],
    ];
    if (o.required) lines.push([SCRIPT, `${o.long!}=${valueOf(o)}`]);
    if (o.short) lines.push([SCRIPT, ...given(o.short, o)]);
    return lines;
  }),
  ['scripts/cad_hotkeys.ahk', '--key', 'cad', '--', '--job', '12345'],
  ['saw.ahk', '-k', 'saw1', '-e', 'cp1252', '-r', 'always', '-c', 'bridge.config.json', '--host', '127.0.0.1', '-p', '15234', '--log-level', 'warning'],
  ['saw.ahk', '-Q', 'a.txt', '--queue', 'b.txt', '--queue=c.txt'],
  ['saw.ahk', 'one', 'two'],
  ['saw.ahk', 'one', '--key', 'k', 'two'],
  ['--key', 'k', '--', 'saw.ahk', '-x', '--', 'y'],
  ['saw.ahk', '--'],
  ['saw.ahk', '--', ''],
  ['saw.ahk', '--watch', '--watch'],
  ['saw.ahk', '--port', '1', '--port', '2'],
  ['saw.ahk', '--token='],
  ['saw.ahk', '--token', 'with spaces'],
  ['saw.ahk', '--token=-starts-with-a-dash'],
  ['C:\\Program Files\\shop\\saw.ahk', '--log-format', 'json', '--log-file', 'C:\\logs\\saw.log'],
  ['saw.ahk', '--upstream', 'nats://server:4222'],
];

/** Lines commander must read: help, --http's optional value, short flags run together, mistakes. */
const COMMANDERS: string[][] = [
  [],
  ['--'],
  ['--key', 'k', '--'],
  ['--help'],
  ['-h'],
  ['saw.ahk', '--http'],
  ['saw.ahk', '--http', '8080'],
  ['--http=8080', 'saw.ahk'],
  ['saw.ahk', '--saw', '1'],
  ['saw.ahk', '--bogus'],
  ['saw.ahk', '-x'],
  ['saw.ahk', '-kcad'],
  ['saw.ahk', '-k=cad'],
  ['saw.ahk', '--restart', 'sometimes'],
  ['saw.ahk', '--restart', 'sometimes', '--restart', 'always'],
  ['saw.ahk', '--log-format', 'xml'],
  ['saw.ahk', '--key'],
  ['saw.ahk', '--key', '--watch'],
  ['saw.ahk', '--watch=yes'],
  ['saw.ahk', '--queue', '-q.txt'],
  ['-'],
  ['saw.ahk', '--Key', 'x'],
  ['saw.ahk', '--no-watch'],
  ['saw.ahk', '-i', 'client'],
  ['saw.ahk', '--client-id', 'client'],
];

describe('bridge run flags without commander', () => {
  it('every everyday line gives exactly the script, its arguments and the flags commander gives', () => {
    for (const args of EVERYDAY) {
      expect(parseRunLine(args), JSON.stringify(args)).toEqual(viaCommander(args));
    }
  });

  it("passes on everything after -- as the script's arguments, in order", () => {
    expect(parseRunLine(['saw.ahk', '--key', 'saw1', '--', '--saw', '1', '--key', 'x', '--'])).toMatchObject({
      script: 'saw.ahk',
      args: ['--saw', '1', '--key', 'x', '--'],
      flags: { key: 'saw1' },
    });
  });

  it('collects --queue in the order given, a new list for each line', () => {
    expect(parseRunLine(['s.ahk', '-Q', 'b.txt', '--queue', 'a.txt'])?.flags.queue).toEqual(['b.txt', 'a.txt']);
    const first = parseRunLine(['s.ahk', '--queue', 'a.txt']);
    expect(parseRunLine(['s.ahk'])?.flags.queue).toEqual([]);
    expect(first?.flags.queue).toEqual(['a.txt']);
  });

  it('every other line is left to commander', () => {
    for (const args of COMMANDERS) expect(parseRunLine(args), JSON.stringify(args)).toBeNull();
  });

  it('lists no flag, alias, kind, choice or default that commander does not', () => {
    expect(tableMismatches(RUN_PLAIN_FLAGS, OPTIONS)).toEqual([]);
  });

  it('reads every flag of the command but --http, long and short', () => {
    expect(OPTIONS.map((o) => o.long).filter((flag) => !PLAIN_OPTIONS.some((o) => o.long === flag))).toEqual(['--http']);
    expect(unreadFlags(PLAIN_OPTIONS, (flag, option) => parseRunLine(['s.ahk', ...given(flag, option)]) !== null)).toEqual([]);
  });
});
