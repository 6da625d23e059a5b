/**
 * The launcher a logon entry runs: a VBScript that starts `bridge up` with its window
 * hidden (`WScript.Shell.Run ..., 0`). A console program started directly by the Task
 * Scheduler or the Startup folder opens a console window on the user's desktop, and
 * closing that window would stop every script.
 */
import { windowsCommandLine } from './windows-command-line.js';

export interface LauncherSpec {
  /** The program and its arguments: bridge.exe up ..., or node.exe cli.js up ... */
  argv: string[];
  /** The folder `bridge up` starts in: the config's, as when the user runs it there. */
  cwd: string;
  /** The config file, named in the header comment. */
  config: string;
}

/**
 * A VBScript string expression for `text`: a literal with quotes doubled, and every
 * character outside ASCII as `ChrW(n)`, so the launcher file is plain ASCII. Script hosts
 * read such a file the same whatever the system's code page (a user folder named José
 * stays José), and no host needs to understand a Unicode script file.
 */
export function vbsString(text: string): string {
  const parts: string[] = [];
  let literal = '';
  for (let i = 0; i < text.length; i++) {
    const unit = text.charCodeAt(i);
    if (unit >= 0x20 && unit < 0x7f) {
      literal += text[i] === '"' ? '""' : text[i];
      continue;
    }
    if (literal) parts.push(`"${literal}"`);
    literal = '';
    // UTF-16 code units: a character beyond U+FFFF is its two surrogates, as VBScript holds it.
    parts.push(`ChrW(${unit})`);
  }
  if (literal || parts.length === 0) parts.push(`"${literal}"`);
  return parts.join(' & ');
}

/** The launcher's text, CRLF line ends as Windows tools expect. */
export function launcherScript(spec: LauncherSpec): string {
  return [
    `' ahk-bridge: starts \`bridge up\` for ${spec.config.replace(/[^\x20-\x7e]/g, '?')} with no console window.`,
    "' Written by `bridge install-startup`; `bridge uninstall-startup` removes it.",
    "' Stop the running bridge with `bridge down`; its logs are in the --log-file below.",
    'Option Explicit',
    'Dim shell',
    'Set shell = CreateObject("WScript.Shell")',
    `shell.CurrentDirectory = ${vbsString(spec.cwd)}`,
    // 0: hidden window; False: do not wait, so the task or Explorer is not held open.
    `shell.Run ${vbsString(windowsCommandLine(spec.argv))}, 0, False`,
    '',
  ].join('\r\n');
}

/** The bytes of a launcher file: ASCII (see vbsString). */
export function launcherBytes(text: string): Buffer {
  return Buffer.from(text, 'latin1');
}
