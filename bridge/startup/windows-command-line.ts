/**
 * One Windows command line from an argv, quoted the way CreateProcess's receivers
 * (CommandLineToArgvW, the C runtime) split it again: what the logon launcher passes to
 * `WScript.Shell.Run` must come apart into exactly the arguments `bridge up` was given.
 */

/** Quote one argument: as-is when it has no space, tab or quote; otherwise in quotes. */
export function quoteWindowsArg(arg: string): string {
  if (arg !== '' && !/[\s"]/.test(arg)) return arg;
  let out = '"';
  let backslashes = 0;
  for (const ch of arg) {
    if (ch === '\\') {
      backslashes++;
      continue;
    }
    // Backslashes are literal unless they precede a quote: then each is doubled, and the
    // quote itself escaped.
    out += ch === '"' ? '\\'.repeat(backslashes * 2 + 1) + '"' : '\\'.repeat(backslashes) + ch;
    backslashes = 0;
  }
  // Before the closing quote, trailing backslashes are doubled ("C:\dir\" would escape it).
  return out + '\\'.repeat(backslashes * 2) + '"';
}

/** The command line for `argv` (the program first). */
export function windowsCommandLine(argv: readonly string[]): string {
  return argv.map(quoteWindowsArg).join(' ');
}
