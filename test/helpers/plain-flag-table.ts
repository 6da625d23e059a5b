/**
 * Whether a command's table of plain flags (bridge/plain-command-line.ts) says what its
 * commander definition says: the tests that read lines both ways make their lines from
 * commander's options, so a flag or alias that only the table has would go unseen there,
 * and a plain line would accept what commander refuses.
 */
import type { Command, Option } from 'commander';
import type { PlainFlag, PlainFlagKind } from '../../bridge/plain-command-line.js';

/** How commander defines `option`, in the table's terms. */
function kindOf(option: Option): PlainFlagKind | 'optional value' {
  if (option.optional) return 'optional value';
  if (!option.required) return 'switch';
  return Array.isArray(option.defaultValue) ? 'repeat' : 'value';
}

/**
 * Each long and short flag of `options` that a plain reader does not read: `reads` says
 * whether it reads a line that gives `flag` (a long flag or its alias) for `option`.
 */
export function unreadFlags(options: readonly Option[], reads: (flag: string, option: Option) => boolean): string[] {
  return options.flatMap((o) => [o.long!, ...(o.short ? [o.short] : [])].filter((flag) => !reads(flag, o)));
}

/**
 * Each way a flag of `table` differs from the commander option of the same long name
 * (short alias, kind, choices, default), or is no option of the command; empty when they
 * agree.
 */
export function tableMismatches(table: ReadonlyMap<string, PlainFlag>, options: readonly Option[]): string[] {
  const problems: string[] = [];
  for (const [name, flag] of table) {
    const option = options.find((o) => o.long === `--${name}`);
    if (!option) {
      problems.push(`--${name}: no option of the command`);
      continue;
    }
    const short = flag.short === undefined ? undefined : `-${flag.short}`;
    if (short !== option.short) problems.push(`--${name}: short ${String(short)} in the table, ${String(option.short)} in commander`);
    if (flag.kind !== kindOf(option)) problems.push(`--${name}: ${flag.kind} in the table, ${kindOf(option)} in commander`);
    if (JSON.stringify(flag.choices) !== JSON.stringify(option.argChoices)) {
      problems.push(`--${name}: choices ${JSON.stringify(flag.choices)} in the table, ${JSON.stringify(option.argChoices)} in commander`);
    }
    const tableDefault = flag.kind === 'repeat' ? [] : flag.default;
    if (JSON.stringify(tableDefault) !== JSON.stringify(option.defaultValue)) {
      problems.push(`--${name}: default ${JSON.stringify(tableDefault)} in the table, ${JSON.stringify(option.defaultValue)} in commander`);
    }
  }
  return problems;
}

/** What commander hands a command's action: its arguments in order, and the options. */
export interface CommanderReading {
  positionals: unknown[];
  flags: Record<string, unknown>;
}

/**
 * What commander hands `command`'s action for `args` (a user's arguments after the
 * command's name). Its output is silenced and its exits thrown: a line it refuses throws.
 */
export function commanderReading(command: Command, args: string[]): CommanderReading {
  const cmd = command.exitOverride().configureOutput({ writeOut: () => undefined, writeErr: () => undefined });
  let reading: CommanderReading | undefined;
  cmd.action((...given: unknown[]) => {
    // The arguments, then the options, then the command itself.
    reading = { positionals: given.slice(0, -2), flags: given[given.length - 2] as Record<string, unknown> };
  });
  cmd.parse(args, { from: 'user' });
  if (!reading) throw new Error(`commander ran no action for ${JSON.stringify(args)}`);
  return reading;
}
