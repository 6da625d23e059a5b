/**
 * One run of a script's interpreter: spawn, decode both output streams into lines (always
 * drained: a script whose stdout pipe fills up freezes), write command lines to stdin, and
 * stop it gracefully (the `exit` command) or by force (the whole process tree).
 */
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { EventEmitter } from 'node:events';
import type { Logger } from '../../src/log/logger.js';
import { systemClock, type Clock, type ClockTimer } from '../../src/protocol/clock.js';
import { killTree, spawnOptionsForTree, terminateOnly } from './kill-tree.js';
import { LineDecoder, type DecodedLine } from './line-decoder.js';
import { EXIT_COMMAND } from './line-protocol.js';
import { descendantsOf, survivors, type ProcessLister, type ProcessRow } from './windows-descendants.js';
import { listWindowsProcesses } from './windows-process-list.js';
import { onBridgeExit } from './on-bridge-exit.js';

/** How a run ended. */
export interface ExitInfo {
  exitCode: number | null;
  signal: string | null;
  durationMs: number;
  /** Set when the interpreter could not be started at all. */
  spawnError?: Error;
  /** True when the stop needed force (the script ignored `exit`). */
  forced: boolean;
}

export interface ScriptProcessOptions {
  file: string;
  args: string[];
  cwd?: string;
  /** Encoding of the script's stdout and stderr. */
  encoding: string;
  log: Logger;
  /** Windows process listing (tests substitute it). */
  listProcesses?: ProcessLister;
  /**
   * Windows: the processes listed just before the spawn (spawn-baseline.ts), which cannot
   * be the script's children. Needed where the listing has no creation times; `null` when
   * that listing failed, and then processes left behind are not stopped.
   */
  existedBefore?: readonly ProcessRow[] | null;
  /** Time source for the stop grace, kill escalation and run duration (tests pass a manual one). */
  clock?: Clock;
  /** When to stop reading the script's output for a while (see {@link OutputFlow}); read freely without one. */
  flow?: OutputFlow;
}

/**
 * Whether what a script writes may be read on. While what it already wrote still waits
 * for the broker, its output is left in the pipe: the script's writes then wait, as they
 * do on Windows when nobody reads a pipe, instead of the bridge reading on into memory
 * and refusing publishes (other scripts' events among them) once its connection's buffer
 * is full.
 */
export interface OutputFlow {
  /** True while output should not be read. */
  readonly congested: boolean;
  /** Call `resume` once, when output may be read again. */
  onFlowing(resume: () => void): void;
}

export interface ScriptProcessEvents {
  stdout: [line: DecodedLine];
  stderr: [line: DecodedLine];
  exit: [info: ExitInfo];
}

/** Commands waiting in the stdin pipe before new ones are refused (a script that never reads). */
const MAX_STDIN_BACKLOG_BYTES = 1024 * 1024;
/** After a forced SIGTERM, how long before SIGKILL. */
const KILL_ESCALATION_MS = 2000;

/**
 * After the script exits, how long its output pipes may stay open. A process it started
 * can inherit them (and under Wine always does); waiting for them to close would keep a
 * stopped script "running" for as long as that process lives.
 */
const STDIO_DRAIN_MS = 1000;

/** Whether the bridge already warned that it cannot list processes, or tell children by them (Windows). */
let listingWarned = false;

/**
 * Node's own spawn, with every stream a pipe: the output is read as it comes, in Buffers,
 * and nothing keeps a copy (the script runs for days; lines are decoded here). The
 * interpreter is always an executable (AutoHotkey's, or Node for the test fixture), so no
 * shell or PATHEXT lookup is needed.
 */
function spawnInterpreter(file: string, args: string[], cwd: string | undefined): ChildProcessWithoutNullStreams {
  const tree = spawnOptionsForTree(process.platform);
  return spawn(file, args, {
    cwd,
    stdio: 'pipe',
    // Own process group on POSIX so a stop reaches grandchildren; see kill-tree.ts.
    detached: tree.detached,
    windowsHide: tree.windowsHide,
  });
}

export class ScriptProcess extends EventEmitter<ScriptProcessEvents> {
  readonly startedAt: number;
  readonly pid: number | undefined;
  readonly exited: Promise<ExitInfo>;
  private readonly child: ChildProcessWithoutNullStreams;
  private done = false;
  private forced = false;
  private readonly clock: Clock;

  constructor(private readonly opts: ScriptProcessOptions) {
    super();
    this.clock = opts.clock ?? systemClock;
    this.startedAt = this.clock.now();
    this.child = spawnInterpreter(opts.file, opts.args, opts.cwd);
    this.pid = this.child.pid;
    // If the bridge itself ends without stopping the script (an exception), take the
    // script down with it: its process group on POSIX, the script itself on Windows
    // (SIGKILL of the bridge cannot be caught; that case is documented).
    const killAtBridgeExit = (): void => {
      if (this.pid === undefined) return;
      try {
        if (process.platform === 'win32') this.child.kill();
        else process.kill(-this.pid, 'SIGKILL');
      } catch {
        // ESRCH: the process or its group is already gone, which is the goal.
      }
    };
    const forgetExitHook = onBridgeExit(killAtBridgeExit);
    const flushStdout = this.pipeLines(this.child.stdout, 'stdout');
    const flushStderr = this.pipeLines(this.child.stderr, 'stderr');
    this.child.stdin.on('error', (err: NodeJS.ErrnoException) => {
      // EPIPE: the script closed stdin or exited; the exit event tells the rest.
      opts.log.debug('script stdin error', { pid: this.pid, code: err.code, error: err });
    });
    let drain: ClockTimer | undefined;
    this.child.once('exit', () => {
      drain = this.clock.setTimeout(() => {
        if (this.done) return;
        opts.log.info('the script exited, but a process it started still holds its output; no longer reading it', { pid: this.pid });
        // A destroyed stream never ends, so what the script wrote last without a newline
        // is taken now, or it would be lost.
        flushStdout();
        flushStderr();
        this.child.stdout.destroy();
        this.child.stderr.destroy();
        this.child.stdin.destroy();
      }, STDIO_DRAIN_MS);
      drain.unref();
    });
    // 'close' comes once the process has exited and its pipes are closed (or destroyed by
    // the drain above); a spawn that failed gives 'error' before it and no 'spawn'.
    let spawnError: Error | undefined;
    let spawned = false;
    this.child.once('spawn', () => (spawned = true));
    this.child.on('error', (err) => {
      if (!spawned) spawnError ??= err;
      else opts.log.debug('script process error', { pid: this.pid, error: err });
    });
    this.exited = new Promise<ExitInfo>((resolve) => {
      this.child.once('close', (code: number | null, signal: NodeJS.Signals | null) => {
        this.done = true;
        if (drain) this.clock.clearTimeout(drain);
        forgetExitHook();
        const info: ExitInfo = {
          // A failed spawn closes with the negative errno as its code: no exit code.
          exitCode: spawnError ? null : code,
          signal,
          durationMs: this.clock.now() - this.startedAt,
          forced: this.forced,
        };
        if (spawnError) info.spawnError = spawnError;
        this.emit('exit', info);
        resolve(info);
      });
    });
  }

  private get listProcesses(): ProcessLister {
    return this.opts.listProcesses ?? listWindowsProcesses;
  }

  get running(): boolean {
    return !this.done;
  }

  /**
   * Read `stream` as lines. Returns the function that emits what is left of a last line
   * without a newline: run at the stream's end, or by the constructor's drain when it
   * stops reading; only the first run emits anything.
   */
  private pipeLines(stream: NodeJS.ReadableStream, name: 'stdout' | 'stderr'): () => void {
    const decoder = new LineDecoder(this.opts.encoding);
    let flushed = false;
    const flush = (): void => {
      if (flushed) return;
      flushed = true;
      for (const line of decoder.end()) this.emit(name, line);
    };
    const flow = this.opts.flow;
    let held = false;
    stream.on('data', (chunk: Buffer) => {
      for (const line of decoder.push(chunk)) this.emit(name, line);
      if (flow === undefined || held || !flow.congested) return;
      held = true;
      stream.pause();
      flow.onFlowing(() => {
        held = false;
        stream.resume();
      });
    });
    stream.on('end', flush);
    stream.on('error', (err) => this.opts.log.debug(`script ${name} error`, { pid: this.pid, error: err }));
    return flush;
  }

  /**
   * Queue a line for the script's stdin. Returns false when it was not written: the
   * script is gone, or has not read its stdin for a megabyte of commands.
   */
  write(line: string): boolean {
    const stdin = this.child.stdin;
    if (this.done || stdin.destroyed || !stdin.writable) return false;
    if (stdin.writableLength > MAX_STDIN_BACKLOG_BYTES) return false;
    stdin.write(line);
    return true;
  }

  /**
   * Stop: send `exit` (Bridge.ahk runs ExitApp), wait `graceMs`, then kill the whole
   * process tree, escalating to SIGKILL. Also kills the tree after a graceful exit, so
   * children the script started do not outlive it.
   */
  async stop(graceMs: number): Promise<ExitInfo> {
    if (this.done) return this.exited;
    let snapshot = await this.windowsDescendants();
    this.write(EXIT_COMMAND);
    this.child.stdin.end();
    const graceful = await this.waitExit(graceMs);
    if (!graceful) {
      this.forced = true;
      this.opts.log.warning('script ignored exit; killing its process tree', { pid: this.pid, grace_ms: graceMs });
      // What it started during the grace period counts too.
      if (snapshot !== null) snapshot = (await this.windowsDescendants()) ?? snapshot;
      await this.kill('SIGTERM', snapshot !== null);
      if (!(await this.waitExit(KILL_ESCALATION_MS))) await this.kill('SIGKILL', snapshot !== null);
    }
    const info = await this.exited;
    // Grandchildren may outlive a script that exited on its own. On POSIX the process
    // group still names them after the leader is gone. On Windows the PID may already be
    // reused by an unrelated process, so no kill by PID after exit: the snapshot's
    // processes that are still there with the same parent are stopped instead.
    if (process.platform !== 'win32') await this.kill('SIGKILL', false);
    else if (snapshot && snapshot.length > 0) await this.killSurvivors(snapshot);
    return info;
  }

  /**
   * Windows: the script's descendants, listed while it still runs (see
   * windows-descendants.ts); null when they cannot be told (no listing, or neither
   * creation times nor a listing from before the start). Elsewhere: empty.
   */
  private async windowsDescendants(): Promise<ProcessRow[] | null> {
    if (process.platform !== 'win32' || this.pid === undefined) return [];
    try {
      const rows = await this.listProcesses();
      const dated = rows.find((r) => r.pid === this.pid)?.created !== undefined;
      if (dated || this.opts.existedBefore) return descendantsOf(this.pid, rows, this.opts.existedBefore ?? []);
      // Without either, an older process that names a previous owner of this pid as its
      // parent cannot be told from a child: stopping it could take down Explorer.
      this.warnOnce('cannot tell the processes a script started from older ones (no creation times, and no listing from before it started): children it leaves behind after a graceful exit will not be stopped', {});
    } catch (err) {
      this.warnOnce('cannot list the processes a script started: children it leaves behind after a graceful exit will not be stopped', { error: err as Error });
    }
    return null;
  }

  /** Once per bridge at WARNING: the cause (no wmic, cscript or PowerShell; no creation times) does not change. */
  private warnOnce(msg: string, fields: Record<string, unknown>): void {
    const log = listingWarned ? this.opts.log.debug.bind(this.opts.log) : this.opts.log.warning.bind(this.opts.log);
    listingWarned = true;
    log(msg, { pid: this.pid, ...fields });
  }

  private async killSurvivors(snapshot: ProcessRow[]): Promise<void> {
    let left: ProcessRow[];
    try {
      left = survivors(snapshot, await this.listProcesses());
    } catch (err) {
      this.opts.log.warning('could not stop processes the script left behind', { pid: this.pid, error: err as Error });
      return;
    }
    // Each by its pid alone: the snapshot already holds every descendant that passed the
    // checks, and `taskkill /T` would walk parent ids again, stale ones included.
    for (const row of left) {
      this.opts.log.info('stopping a process the script left behind', { pid: row.pid, parent: row.ppid });
      try {
        terminateOnly(row.pid);
      } catch (err) {
        this.opts.log.warning('could not stop a process the script left behind', { pid: row.pid, script_pid: this.pid, error: err as Error });
      }
    }
  }

  /**
   * Kill the script: its whole tree, or on Windows, when its descendants were listed
   * (`listed`), the script alone, since they are stopped from the listing afterwards.
   */
  private async kill(signal: NodeJS.Signals, listed: boolean): Promise<void> {
    if (this.pid === undefined) return;
    try {
      if (process.platform === 'win32' && listed) terminateOnly(this.pid);
      else await killTree(this.pid, signal);
    } catch (err) {
      this.opts.log.warning('could not kill script process tree', { pid: this.pid, signal, error: err as Error });
    }
  }

  private waitExit(ms: number): Promise<boolean> {
    if (this.done) return Promise.resolve(true);
    return new Promise((resolve) => {
      const timer = this.clock.setTimeout(() => resolve(false), ms);
      const ended = (): void => {
        this.clock.clearTimeout(timer);
        resolve(true);
      };
      this.exited.then(ended, ended);
    });
  }
}
