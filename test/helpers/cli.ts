/** Run the built `bridge` CLI as a real child process. */
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { afterEach } from 'vitest';
import { POSIX_SIGNALS } from './platform.js';

export const CLI = fileURLToPath(new URL('../../dist/bridge/cli.js', import.meta.url));

export interface CliResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

/** A started `bridge` process: its streams so far, and `done` once it has exited. */
export interface StartedCli {
  child: ChildProcessWithoutNullStreams;
  done: Promise<CliResult>;
  stdout: () => string;
  stderr: () => string;
}

/** Start `bridge <args>`; the caller reads streams and waits on `done`. */
export function startCli(args: string[], env: NodeJS.ProcessEnv = {}, cwd?: string): StartedCli {
  // The developer's own BROKER_* settings must not leak into what a test asserts.
  const base = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('BROKER_')));
  const child = spawn(process.execPath, [CLI, ...args], { env: { ...base, ...env }, cwd });
  let stdout = '';
  let stderr = '';
  child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
  child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
  const done = new Promise<CliResult>((resolve) => child.on('close', (code, signal) => resolve({ code, signal, stdout, stderr })));
  return { child, done, stdout: () => stdout, stderr: () => stderr };
}

/** How long a CLI process gets to stop after SIGTERM before the cleanup SIGKILLs it. */
const STOP_GRACE_MS = 10_000;

/**
 * Call at the top of a test file (or describe block), after `useTestBed()` and after any
 * `afterEach` that removes folders the processes use: hooks run in reverse order of
 * registration (vitest's default `sequence.hooks: 'stack'`), so the CLI processes then stop
 * before those folders go and before the test bed's brokers stop. Returns `start`, which is
 * `startCli` for a process stopped after the test if it is still running.
 *
 * The cleanup sends SIGTERM, not SIGKILL: a bridge stopped gracefully stops its scripts,
 * while a SIGKILLed one leaves behind those that do not watch their stdin. A process the
 * test already signalled is not signalled again, since a second signal makes the bridge
 * exit at once without waiting for its scripts. SIGKILL only for one still running after
 * 10 s. On Windows a signal is TerminateProcess anyway (POSIX_SIGNALS), and the job object
 * takes the scripts with the bridge.
 */
export function useCliProcesses(): { start: (args: string[], env?: NodeJS.ProcessEnv) => StartedCli } {
  const procs: StartedCli[] = [];
  afterEach(async () => {
    await Promise.all(
      procs.splice(0).map(async (p) => {
        if (p.child.exitCode !== null || p.child.signalCode !== null) return;
        if (!p.child.killed) p.child.kill(POSIX_SIGNALS ? 'SIGTERM' : 'SIGKILL');
        const killLater = setTimeout(() => p.child.kill('SIGKILL'), STOP_GRACE_MS);
        await p.done;
        clearTimeout(killLater);
      }),
    );
  });
  return {
    start(args, env = {}) {
      const p = startCli(args, env);
      procs.push(p);
      return p;
    },
  };
}

/** Run `bridge <args>` to completion. */
export function runCli(args: string[], env: NodeJS.ProcessEnv = {}, cwd?: string): Promise<CliResult> {
  const { child, done } = startCli(args, env, cwd);
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
