/**
 * Running a Windows tool (schtasks, cscript) and reading what it said. Never rejects: a
 * tool that cannot start is a result too, with the reason as its output.
 */
import { spawn } from 'node:child_process';

export interface ToolResult {
  /** The exit code; null when it could not start or was killed. */
  code: number | null;
  /** What it printed (stdout, then stderr), trimmed. */
  output: string;
}

/** Runs one tool with these arguments. */
export type ToolRunner = (args: string[]) => Promise<ToolResult>;

/**
 * How long a tool may take. schtasks and cscript answer in well under a second; one that
 * waits on a prompt nobody sees (a script debugger, a policy dialog) must not hang the
 * install.
 */
export const TOOL_TIMEOUT_MS = 60_000;

export function runTool(program: string, timeoutMs = TOOL_TIMEOUT_MS): ToolRunner {
  return (args) =>
    new Promise((resolve) => {
      const chunks: Buffer[] = [];
      let child;
      try {
        child = spawn(program, args, { windowsHide: true, stdio: ['ignore', 'pipe', 'pipe'] });
      } catch (err) {
        resolve({ code: null, output: `cannot run ${program}: ${(err as Error).message}` });
        return;
      }
      let timedOut = false;
      const timer = setTimeout(() => {
        timedOut = true;
        child.kill();
      }, timeoutMs);
      child.stdout.on('data', (c: Buffer) => chunks.push(c));
      child.stderr.on('data', (c: Buffer) => chunks.push(c));
      child.on('error', (err) => {
        clearTimeout(timer);
        resolve({ code: null, output: `cannot run ${program}: ${err.message}` });
      });
      child.on('close', (code) => {
        clearTimeout(timer);
        const output = outputText(Buffer.concat(chunks));
        resolve(timedOut ? { code: null, output: `${program} did not finish within ${timeoutMs / 1000} s and was stopped${output ? `: ${output}` : ''}` } : { code, output });
      });
    });
}

/**
 * Windows tools write narrow text to a pipe; some builds and stand-ins write UTF-16LE,
 * which shows as a NUL after every ASCII letter. Either way, one readable text.
 */
export function outputText(bytes: Buffer): string {
  const utf16 = bytes.length >= 2 && ((bytes[0] === 0xff && bytes[1] === 0xfe) || (bytes[1] === 0 && bytes[0] !== 0));
  return (utf16 ? bytes.toString('utf16le') : bytes.toString('utf8')).replace(/^\uFEFF/, '').trim();
}
