/**
 * Running `schtasks.exe`. `BRIDGE_SCHTASKS` names another program to run in its place: the
 * tests point it at a stub that records its arguments, so what would be registered is
 * checked exactly without touching the machine's Task Scheduler.
 */
import { spawn } from 'node:child_process';
import path from 'node:path';

export interface SchtasksResult {
  /** The exit code; null when it could not start or was killed. */
  code: number | null;
  /** What it printed (stdout, then stderr), trimmed. */
  output: string;
}

/** Runs schtasks with these arguments; never rejects: a failure to start is a result. */
export type SchtasksRunner = (args: string[]) => Promise<SchtasksResult>;

/**
 * The program that plays schtasks: by its full path, since Windows looks in the current
 * folder first for a bare name.
 */
export function schtasksProgram(env: Record<string, string | undefined> = process.env): string {
  if (env.BRIDGE_SCHTASKS) return env.BRIDGE_SCHTASKS;
  const systemRoot = env.SystemRoot || env.SYSTEMROOT || env.windir;
  return systemRoot ? path.win32.join(systemRoot, 'System32', 'schtasks.exe') : 'schtasks.exe';
}

export function runSchtasks(program: string = schtasksProgram()): SchtasksRunner {
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
      child.stdout.on('data', (c: Buffer) => chunks.push(c));
      child.stderr.on('data', (c: Buffer) => chunks.push(c));
      child.on('error', (err) => resolve({ code: null, output: `cannot run ${program}: ${err.message}` }));
      child.on('close', (code) => resolve({ code, output: outputText(Buffer.concat(chunks)) }));
    });
}

/**
 * schtasks writes narrow text to a pipe; some builds and stand-ins write UTF-16LE, which
 * shows as a NUL after every ASCII letter. Either way, one readable line.
 */
export function outputText(bytes: Buffer): string {
  const utf16 = bytes.length >= 2 && ((bytes[0] === 0xff && bytes[1] === 0xfe) || (bytes[1] === 0 && bytes[0] !== 0));
  return (utf16 ? bytes.toString('utf16le') : bytes.toString('utf8')).replace(/^\uFEFF/, '').trim();
}
