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

/** VBScript's string literal: quotes doubled. */
const vbsString = (text: string): string => `"${text.replace(/"/g, '""')}"`;

/** The launcher's text, CRLF line ends as Windows tools expect. */
export function launcherScript(spec: LauncherSpec): string {
  return [
    `' ahk-bridge: starts \`bridge up\` for ${spec.config} with no console window.`,
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

/**
 * The bytes of a launcher file: UTF-16LE with a byte order mark, which Windows Script Host
 * reads whatever the system's ANSI code page (a user folder named José stays José).
 */
export function utf16Bytes(text: string): Buffer {
  return Buffer.concat([Buffer.from([0xff, 0xfe]), Buffer.from(text, 'utf16le')]);
}
