/**
 * Windows Script Host, which the launcher needs: checked before anything is registered
 * (a shop may have turned it off, and then every logon would fail with a dialog), and
 * used to make the Startup folder's shortcut. A shortcut runs `wscript.exe` by its full
 * path, so it works where `.vbs` files are set to open in Notepad, as some hardening
 * guides advise; a `.vbs` file in the Startup folder would open there instead.
 */
import { rmSync, writeFileSync } from 'node:fs';
import { launcherBytes, vbsString } from './launcher-script.js';
import type { ToolResult, ToolRunner } from './run-tool.js';

/** Runs a script file with cscript (`cscript //nologo FILE`). */
export type ScriptRunner = (file: string) => Promise<ToolResult>;

export function scriptRunner(cscript: ToolRunner): ScriptRunner {
  return (file) => cscript(['//nologo', file]);
}

/** Windows Script Host cannot run scripts here: turned off, or missing. */
export class ScriptHostError extends Error {
  override name = 'ScriptHostError';
  readonly code = 'script_host_unavailable';

  constructor(readonly result: ToolResult) {
    super(
      `Windows Script Host cannot run scripts on this PC (cscript exit ${result.code ?? 'none'}${result.output ? `: ${result.output}` : ''}); ` +
        'the hidden launcher needs it: ask whoever manages the PC to allow it for this user',
    );
  }
}

/** The answer the probe script gives: an exit code nothing else would produce. */
const PROBE_EXIT = 23;

/** Run `text` as a script from the file `scratch`, which is gone again afterwards. */
async function runScratch(run: ScriptRunner, scratch: string, text: string): Promise<ToolResult> {
  writeFileSync(scratch, launcherBytes(text));
  try {
    return await run(scratch);
  } finally {
    rmSync(scratch, { force: true });
  }
}

/** Throw ScriptHostError unless a script runs: a file that quits with a known code. */
export async function probeScriptHost(run: ScriptRunner, scratch: string): Promise<void> {
  const result = await runScratch(run, scratch, `WScript.Quit ${PROBE_EXIT}\r\n`);
  if (result.code !== PROBE_EXIT) throw new ScriptHostError(result);
}

export interface ShortcutSpec {
  /** The .lnk file to write. */
  file: string;
  target: string;
  /** The target's command line arguments, already quoted. */
  arguments: string;
  workingDirectory: string;
  description: string;
}

/** The script that writes the shortcut with WScript.Shell (plain ASCII, as the launcher). */
export function shortcutScript(spec: ShortcutSpec): string {
  return [
    'Option Explicit',
    'Dim link',
    `Set link = CreateObject("WScript.Shell").CreateShortcut(${vbsString(spec.file)})`,
    `link.TargetPath = ${vbsString(spec.target)}`,
    `link.Arguments = ${vbsString(spec.arguments)}`,
    `link.WorkingDirectory = ${vbsString(spec.workingDirectory)}`,
    `link.Description = ${vbsString(spec.description)}`,
    'link.Save',
    '',
  ].join('\r\n');
}

/** Write the shortcut by running `shortcutScript` (from `scratch`) with cscript. */
export function createShortcut(spec: ShortcutSpec, run: ScriptRunner, scratch: string): Promise<ToolResult> {
  return runScratch(run, scratch, shortcutScript(spec));
}
