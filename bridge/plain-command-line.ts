/**
 * A command's everyday command lines, read without commander.
 *
 * The long-running commands (`bridge broker`, `bridge tail`) are started by scripts and
 * services with the same few flags every time, and commander, loaded to read them, stays
 * in memory for as long as they run: a CommonJS package, so Node's CommonJS loader and the
 * lexer that finds its exports come with it (about 1.0-1.4 MB of the process, and some
 * 20 ms of its start). `bridge pub`, which scripts start once per message, is read here
 * for its start alone. A line of long flags (`--name value`, `--name=value`), the short
 * aliases a command lists (`-c FILE`, as a separate argument) and its positionals is read
 * here, from a table of the command's flags, and so is `--` before the arguments of a
 * command that passes them on (`bridge run saw.ahk --key saw1 -- --saw 1`); anything else
 * (`--help`, a flag with an optional value, a combined short flag, a mistake) is left to
 * commander, which reads it and words the errors as for every other command. Each
 * command's test holds the two readings equal over every flag.
 */

/** How a flag takes its value: one (the last given wins), none, or one per use, collected. */
export type PlainFlagKind = 'value' | 'switch' | 'repeat';

/** One long flag of a command, as commander defines it. */
export interface PlainFlag {
  readonly kind: PlainFlagKind;
  /** Its one-letter alias (`c` for `-c`), read only as a separate argument: `-c FILE`. */
  readonly short?: string;
  /** The only values commander takes; any other is commander's to refuse. */
  readonly choices?: readonly string[];
  /** A `value` flag's value when the line does not give it (a `repeat` flag's is `[]`). */
  readonly default?: string;
}

/** A flag that takes one value, with no alias, choices or default. */
export const VALUE_FLAG: PlainFlag = { kind: 'value' };
/** A flag that takes no value. */
export const SWITCH_FLAG: PlainFlag = { kind: 'switch' };

/** What a plain line gave: its positionals in order, and its flags keyed as commander keys them. */
export interface PlainLine {
  readonly positionals: string[];
  readonly flags: Record<string, unknown>;
}

const LONG_FLAG = /^--([a-z][a-z0-9-]*)(?:=([^]*))?$/;

/** The key commander gives a flag's value: `stop-on-stdin-close` -> `stopOnStdinClose`. */
const attributeName = (flag: string): string => flag.replace(/-([a-z])/g, (_, c: string) => c.toUpperCase());

/** The plain lines of one command. */
export class PlainCommandLine {
  private readonly shorts = new Map<string, string>();

  /**
   * @param flags the command's long flags (without the dashes) that a plain line may use
   * @param positionals how many positionals the command takes
   * @param rest whether any number of further positionals follow them (commander's
   *   variadic `[args...]`); `--` then ends the flags, and all after it are positionals
   * @param optional how many more it may take (commander's `[payload]`), when not `rest`
   */
  constructor(
    private readonly flags: ReadonlyMap<string, PlainFlag>,
    private readonly positionals: number,
    private readonly rest = false,
    private readonly optional = 0,
  ) {
    for (const [name, flag] of flags) if (flag.short !== undefined) this.shorts.set(`-${flag.short}`, name);
  }

  /** The flags' values before a line is read, as commander gives them: a new list each time. */
  private defaults(): Record<string, unknown> {
    const values: Record<string, unknown> = {};
    for (const [name, flag] of this.flags) {
      if (flag.kind === 'repeat') values[attributeName(name)] = [];
      else if (flag.default !== undefined) values[attributeName(name)] = flag.default;
    }
    return values;
  }

  /**
   * Read `args` (the arguments after the command's name); null when commander must.
   */
  read(args: readonly string[]): PlainLine | null {
    const flags = this.defaults();
    const positionals: string[] = [];
    for (let i = 0; i < args.length; i++) {
      const arg = args[i]!;
      if (!arg.startsWith('-')) {
        positionals.push(arg);
        continue;
      }
      if (arg === '--' && this.rest) {
        positionals.push(...args.slice(i + 1));
        break;
      }
      const long = LONG_FLAG.exec(arg);
      const name = long ? long[1]! : (this.shorts.get(arg) ?? null);
      const flag = name === null ? undefined : this.flags.get(name);
      // `-`, `--`, an unlisted short flag, --help, an unknown flag: commander's.
      if (name === null || flag === undefined) return null;
      const inline = long?.[2];
      const key = attributeName(name);
      if (flag.kind === 'switch') {
        if (inline !== undefined) return null;
        flags[key] = true;
        continue;
      }
      const value = inline ?? args[++i];
      // A missing value, or one that looks like a flag (commander would take it as the value).
      if (value === undefined || (inline === undefined && value.startsWith('-'))) return null;
      // Commander checks each value as it reads it, so a bad one refuses the line even when
      // a good one follows.
      if (flag.choices !== undefined && !flag.choices.includes(value)) return null;
      flags[key] = flag.kind === 'repeat' ? [...((flags[key] as string[] | undefined) ?? []), value] : value;
    }
    const n = positionals.length;
    const counted = n >= this.positionals && (this.rest || n <= this.positionals + this.optional);
    return counted ? { positionals, flags } : null;
  }
}
