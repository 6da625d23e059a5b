/** Run the built `bridge` CLI as a real child process. */
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { fileURLToPath } from 'node:url';

export const CLI = fileURLToPath(new URL('../../dist/bridge/cli.js', import.meta.url));

export interface CliResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

/** Start `bridge <args>`; the caller reads streams and waits on `done`. */
export function startCli(args: string[], env: NodeJS.ProcessEnv = {}): { child: ChildProcessWithoutNullStreams; done: Promise<CliResult>; stdout: () => string; stderr: () => string } {
  // The developer's own BROKER_* settings must not leak into what a test asserts.
  const base = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('BROKER_')));
  const child = spawn(process.execPath, [CLI, ...args], { env: { ...base, ...env } });
  let stdout = '';
  let stderr = '';
  child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
  child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
  const done = new Promise<CliResult>((resolve) => child.on('close', (code, signal) => resolve({ code, signal, stdout, stderr })));
  return { child, done, stdout: () => stdout, stderr: () => stderr };
}

/** Run `bridge <args>` to completion. */
export function runCli(args: string[], env: NodeJS.ProcessEnv = {}): Promise<CliResult> {
  const { child, done } = startCli(args, env);
  child.stdin.end();
  return done;
}

/** Resolve once `read()` satisfies `pred`, checking whenever the child writes. */
export function waitOutput(child: ChildProcessWithoutNullStreams, read: () => string, pred: (s: string) => boolean, timeoutMs = 10_000): Promise<string> {
  return new Promise((resolve, reject) => {
    const check = (): void => {
      if (pred(read())) {
        cleanup();
        resolve(read());
      }
    };
    const timer = setTimeout(() => {
      cleanup();
      reject(new Error(`timed out waiting for output; got:\n${read()}`));
    }, timeoutMs);
    const onExit = (): void => {
      setImmediate(() => {
        if (!pred(read())) {
          cleanup();
          reject(new Error(`process exited before the expected output; got:\n${read()}`));
        }
      });
    };
    const cleanup = (): void => {
      clearTimeout(timer);
      child.stdout.off('data', check);
      child.stderr.off('data', check);
      child.off('exit', onExit);
    };
    child.stdout.on('data', check);
    child.stderr.on('data', check);
    child.on('exit', onExit);
    check();
  });
}
