/**
 * Starts `bridge run <script> --key <key>` (and `bridge tail <file>`) through the real CLI,
 * joined to the broker the bench started, exactly as users run it, and stops it again with
 * SIGTERM (SIGKILL of that PID after a grace period). Only the bridge's own PID is ever signalled: the interpreter
 * it starts is the bridge's to stop, which is part of what the bridge scenarios exercise.
 */
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { performance } from 'node:perf_hooks';
import { HOST } from './client.js';
import { signal, track, waitExit } from './processes.js';

/** The bridge gets 3 s (its default --stop-grace) to stop the script, then kills it; plus slack. */
const STOP_GRACE_MS = 10_000;
const KILL_WAIT_MS = 2000;
const LOG_TAIL_LINES = 20;
/** A fake interpreter that somehow outlived its bridge ends by itself after this long. */
const FAKE_MAX_LIFETIME_MS = 120_000;

export interface BridgeOptions {
  /** dist/bridge/cli.js */
  cliPath: string;
  /** Working directory: the project root, so the script paths below are relative to it. */
  cwd: string;
  script: string;
  interpreter: string;
  key: string;
  brokerPort: number;
}

export interface BridgeExit {
  code: number | null;
  signal: NodeJS.Signals | null;
  /** True when SIGTERM was not enough and the bridge was killed. */
  killed: boolean;
  /** From SIGTERM to exit. */
  stopMs: number;
}

export interface BridgeProcess {
  readonly pid: number;
  alive(): boolean;
  /** Resolves with the exit once the bridge has exited (by itself or stopped). */
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  logTail(): string;
  /** SIGTERM, wait for the exit, SIGKILL after the grace period. Idempotent. */
  stop(): Promise<BridgeExit>;
}

export function startBridge(opts: BridgeOptions): BridgeProcess {
  const args = [
    opts.cliPath, 'run', opts.script,
    '--key', opts.key,
    '--ahk', opts.interpreter,
    '--host', HOST,
    '--port', String(opts.brokerPort),
    '--log-level', 'warning',
  ];
  return spawnCli(args, opts.cwd);
}

export interface TailOptions {
  /** dist/bridge/cli.js */
  cliPath: string;
  cwd: string;
  /** The queue file (absolute). */
  file: string;
  /** `LEGACY=topic` pairs passed as `--map`. */
  map: Record<string, string>;
  brokerPort: number;
}

/**
 * `bridge tail <file> --map LEGACY=topic --host 127.0.0.1 --port <broker> --log-level warning`,
 * stopped like a bridge (SIGTERM, which saves the position, then SIGKILL of that PID).
 */
export function startTail(opts: TailOptions): BridgeProcess {
  const args = [opts.cliPath, 'tail', opts.file];
  for (const [from, to] of Object.entries(opts.map)) args.push('--map', `${from}=${to}`);
  args.push('--host', HOST, '--port', String(opts.brokerPort), '--log-level', 'warning');
  return spawnCli(args, opts.cwd);
}

/** `node <args>` in `cwd`, tracked so that only this PID is ever signalled. */
function spawnCli(args: string[], cwd: string): BridgeProcess {
  const child = spawn(process.execPath, args, {
    cwd,
    stdio: ['ignore', 'ignore', 'pipe'],
    env: { ...process.env, FAKE_AHK_MAX_LIFETIME_MS: String(FAKE_MAX_LIFETIME_MS) },
  });
  track(child);
  const tail: string[] = [];
  child.stderr?.setEncoding('utf8').on('data', (text: string) => {
    for (const line of text.split('\n')) if (line.trim()) tail.push(line);
    tail.splice(0, Math.max(0, tail.length - LOG_TAIL_LINES));
  });
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => {
    child.once('exit', (code, sig) => resolve({ code, signal: sig }));
    // A spawn error (no node?) emits 'error' and maybe no 'exit'.
    child.once('error', () => resolve({ code: null, signal: null }));
  });
  let stopping: Promise<BridgeExit> | null = null;
  const stop = async (): Promise<BridgeExit> => {
    const t0 = performance.now();
    let killed = false;
    if (child.pid !== undefined && !(await waitExit(child, 0))) {
      signal(child.pid, 'SIGTERM');
      if (!(await waitExit(child, STOP_GRACE_MS))) {
        killed = true;
        signal(child.pid, 'SIGKILL');
        await waitExit(child, KILL_WAIT_MS);
      }
    }
    const stopMs = performance.now() - t0;
    return { code: child.exitCode, signal: child.signalCode, killed, stopMs };
  };
  return {
    pid: child.pid ?? -1,
    alive: () => child.exitCode === null && child.signalCode === null,
    exited,
    logTail: () => tail.join('\n'),
    stop: () => (stopping ??= stop()),
  };
}

/**
 * Whether `pid` is still a live process (not a zombie), read from /proc, never by signalling
 * it: the interpreter is not a process the bench started. Null where /proc is not available.
 */
export function processLives(pid: number): boolean | null {
  if (process.platform !== 'linux') return null;
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) !== 'Z';
  } catch {
    return false;
  }
}
