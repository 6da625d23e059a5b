/**
 * Supervises one script key: starts its interpreter, turns its output into publishes,
 * writes commands to its stdin and matches replies, publishes its lifecycle, and restarts
 * it by policy. Start, stop and restart run one at a time (serial-tasks.ts), so concurrent
 * requests (a stop arriving during a start) apply in order.
 */
import { EventEmitter } from 'node:events';
import { invalidParams } from '../../src/protocol/jsonrpc.js';
import { systemClock, type Clock, type ClockTimer } from '../../src/protocol/clock.js';
import { PendingReplies } from '../../src/protocol/pending-replies.js';
import { isoTimestamp } from '../../src/protocol/timestamp.js';
import { WarningBudget } from '../../src/log/warning-budget.js';
import type { Logger } from '../../src/log/logger.js';
import { classifyExit, type StopReason } from './exit-reason.js';
import { encodeCommand, parseLoadError, parseScriptLine, RESERVED_COMMAND_NAMES, RUNTIME_ERROR_PREFIX, type LoadError } from './line-protocol.js';
import { CommandNotSentError, DEFAULT_READY_TIMEOUT, ReadyGate } from './ready-gate.js';
import { MAX_LINE_CHARS, type DecodedLine } from './line-decoder.js';
import { fitLine } from './fit-line.js';
import { cutMarked } from './cut-text.js';
import { eventText, isLoggedEvent, OutputRing } from './output-ring.js';
import { RestartPolicy, type RestartOptions } from './restart-policy.js';
import { ScriptProcess, type ExitInfo, type OutputFlow } from './script-process.js';
import { SerialTasks } from './serial-tasks.js';
import { processesBeforeSpawn } from './spawn-baseline.js';

/** What to run for one key. */
export interface ScriptSpec {
  key: string;
  /** Path of the .ahk script. */
  path: string;
  args: string[];
  restart: RestartOptions;
  /** Encoding of the script's output. */
  encoding: string;
  /** Seconds the script gets to honour `exit` before its tree is killed. */
  stopGrace: number;
  /** Seconds commands wait for the script's `@ready` before they are refused (default 10). */
  readyTimeout?: number;
  cwd?: string;
}

/**
 * Stderr lines logged as WARNINGs in each window; the rest at debug, counted in the next
 * WARNING (every line is still published as `scripts.<key>.stderr`). An AutoHotkey error
 * is a few lines; a script writing to stderr in a loop would otherwise fill the log.
 */
const STDERR_WARNINGS_PER_WINDOW = 50;
const STDERR_WARNING_WINDOW_MS = 10_000;

export interface SupervisorDeps {
  /** Publish an event (fire-and-forget; the broker link queues while disconnected). */
  publish(topic: string, payload: unknown): void;
  /** When a script's output is to be left unread for a while: while what was published waits for the broker. */
  flow?: OutputFlow;
  /** The interpreter command line for the spec. Throws when no interpreter is found. */
  command(spec: ScriptSpec): Promise<{ file: string; args: string[] }>;
  log: Logger;
  /** Time source for restart delays, reply and ready timeouts, run durations (tests pass a manual one). */
  clock?: Clock;
}

export interface LastExit {
  exit_code: number | null;
  signal: string | null;
  reason: StopReason;
  duration_ms: number;
  timestamp: string;
}

export interface ScriptStatus {
  key: string;
  script: string;
  args: string[];
  running: boolean;
  pid: number | null;
  started_at: string | null;
  restarts: number;
  last_exit: LastExit | null;
  state: SupervisorState;
}

export type SupervisorState = 'idle' | 'starting' | 'running' | 'stopping' | 'waiting_restart' | 'stopped' | 'failed';

export interface SupervisorEvents {
  /** The script printed `@ready` (its commands are delivered from now on). */
  ready: [];
  /** The script ended and no restart follows (a stop, a clean exit, or no restart left). */
  settled: [exit: LastExit];
}

/**
 * Bytes of a script's line in the bridge's log (the rest is counted in a marker): every
 * line is logged, and a script printing megabyte lines would fill the log file. The
 * event carries the line up to what a message holds; `bridge logs` shows the ring's copy.
 */
const LOG_LINE_BYTES = 4096;

/** A command request not answered within this time is failed locally. */
const MAX_REPLY_WAIT_MS = 300_000;

export class ScriptSupervisor extends EventEmitter<SupervisorEvents> {
  private readonly tasks = new SerialTasks();
  private readonly policy: RestartPolicy;
  private proc: ScriptProcess | null = null;
  private gate: ReadyGate | null = null;
  private restartTimer: ClockTimer | null = null;
  private restarts = 0;
  private lastExit: LastExit | null = null;
  private currentState: SupervisorState = 'idle';
  private stopRequested = false;
  /** This run's OnExit reason from Bridge.ahk (see ExitFacts.exitAnnounced). */
  private exitAnnounced: string | undefined = undefined;
  /** A restart() is stopping the script: the exit it causes is not the end of the key. */
  private restarting = false;
  private readonly pending: PendingReplies<string, string>;
  private nextReplyId = 1;
  private readonly topic: string;
  private readonly clock: Clock;
  /** A script's stderr lines as WARNINGs: a few errors in full, not a loop's thousands. */
  private readonly stderrWarnings: WarningBudget;
  private readonly deps: SupervisorDeps;
  /** What the script printed that was not a protocol line, and its starts and stops (`bridge logs`). */
  readonly output = new OutputRing();

  constructor(
    readonly spec: ScriptSpec,
    deps: SupervisorDeps,
  ) {
    super();
    // Lifecycle markers are taken from the events as they go out, so the log reads exactly
    // what subscribers saw, in the same order, and each event carries its marker's seq.
    this.deps = { ...deps, publish: (topic, payload) => deps.publish(topic, this.markLifecycle(topic, payload)) };
    this.policy = new RestartPolicy(spec.restart);
    this.topic = `scripts.${spec.key}`;
    this.clock = deps.clock ?? systemClock;
    this.stderrWarnings = new WarningBudget(deps.log, STDERR_WARNINGS_PER_WINDOW, STDERR_WARNING_WINDOW_MS, () => this.clock.now());
    this.pending = new PendingReplies<string, string>({
      clock: this.clock,
      refTimers: false,
      timeoutError: (name, ms) => new Error(`script ${spec.key} did not reply to ${name} within ${ms / 1000}s`),
    });
  }

  /**
   * A lifecycle event (`started`, `stopped`, `restart_limit`) becomes a ring marker, and
   * goes out with the marker's `seq` (a copy: `stopped`'s payload is also `last_exit`).
   */
  private markLifecycle(topic: string, payload: unknown): unknown {
    // The bridge's own events are objects; a script's `@pub started "x"` passes untouched.
    if (typeof payload !== 'object' || payload === null || Array.isArray(payload) || !topic.startsWith(`${this.topic}.`)) return payload;
    const event = topic.slice(this.topic.length + 1);
    const text = eventText(event, payload);
    if (text === null || !isLoggedEvent(event)) return payload;
    return { ...payload, seq: this.output.push('event', text, isoTimestamp(this.clock.now()), event) };
  }

  get state(): SupervisorState {
    return this.currentState;
  }

  /** The `scripts.status` answer (the seed's shape plus a few fields). */
  status(): ScriptStatus {
    const running = this.proc?.running ?? false;
    return {
      key: this.spec.key,
      script: this.spec.path,
      args: this.spec.args,
      running,
      pid: running ? (this.proc?.pid ?? null) : null,
      started_at: running && this.proc ? isoTimestamp(this.proc.startedAt) : null,
      restarts: this.restarts,
      last_exit: this.lastExit,
      state: this.currentState,
    };
  }

  /** Start the script (no-op when running). Resets the restart history. */
  start(): Promise<ScriptStatus> {
    return this.tasks.run(async () => {
      this.policy.reset();
      this.cancelRestart();
      if (!this.proc?.running) await this.launch();
      return this.status();
    });
  }

  /** Stop the script and do not restart it. */
  stop(): Promise<ScriptStatus> {
    return this.tasks.run(async () => {
      const wasWaiting = this.restartTimer !== null;
      this.cancelRestart();
      await this.halt();
      if (this.currentState !== 'failed') this.currentState = 'stopped';
      // Stopped between a crash and its restart: no exit event will follow, so say here
      // that nothing more is coming (bridge run exits on it).
      if (wasWaiting && this.lastExit) this.emit('settled', this.lastExit);
      return this.status();
    });
  }

  /** Stop (if running) and start again. */
  restart(): Promise<ScriptStatus> {
    return this.tasks.run(async () => {
      this.cancelRestart();
      this.restarting = true;
      try {
        await this.halt();
      } finally {
        this.restarting = false;
      }
      this.policy.reset();
      await this.launch();
      return this.status();
    });
  }

  /**
   * Write a command to the script's stdin. With `expectReply` the promise settles with the
   * script's `@reply` (or rejects with its `@error`); otherwise it resolves once written.
   */
  command(name: string, payload: unknown, expectReply: boolean, timeoutMs = MAX_REPLY_WAIT_MS): Promise<unknown> {
    if (RESERVED_COMMAND_NAMES.has(name)) {
      return Promise.reject(
        invalidParams(`command name "${name}" is reserved for the bridge's own control lines; stop a script with scripts.${this.spec.key}.stop`, { name }),
      );
    }
    const gate = this.gate;
    if (!this.proc?.running || !gate) return Promise.reject(new CommandNotSentError(`script ${this.spec.key} is not running`));
    const id = expectReply ? `r${this.nextReplyId++}` : undefined;
    const line = encodeCommand(name, payload, id); // throws RangeError on a bad name
    if (!id) return gate.submit(line);
    const reply = this.pending.open(id, name, timeoutMs);
    gate.submit(line).catch((err: unknown) => this.pending.reject(id, err as Error));
    return reply;
  }

  private async launch(): Promise<void> {
    this.stopRequested = false;
    this.currentState = 'starting';
    let cmd: { file: string; args: string[] };
    try {
      cmd = await this.deps.command(this.spec);
    } catch (err) {
      // finish() logs and publishes it, once: no interpreter is a failed start.
      this.finish({ exitCode: null, signal: null, durationMs: 0, forced: false, spawnError: err as Error }, null, false);
      return;
    }
    const existedBefore = await processesBeforeSpawn().catch((err: unknown) => {
      this.deps.log.debug('cannot list the processes running before the script starts', { key: this.spec.key, error: err as Error });
      return null;
    });
    const proc = new ScriptProcess({ file: cmd.file, args: cmd.args, cwd: this.spec.cwd, encoding: this.spec.encoding, log: this.deps.log, clock: this.clock, existedBefore, flow: this.deps.flow });
    this.proc = proc;
    const gate = new ReadyGate(this.spec.key, (this.spec.readyTimeout ?? DEFAULT_READY_TIMEOUT) * 1000, (line) => proc.write(line), this.deps.log, this.clock);
    this.gate = gate;
    let loadError: LoadError | null = null;
    let runtimeError = false;
    this.exitAnnounced = undefined;
    proc.on('stdout', (line) => this.onStdout(line));
    proc.on('stderr', (line) => {
      const err = parseLoadError(line.text);
      if (err) loadError ??= err;
      if (line.text.startsWith(RUNTIME_ERROR_PREFIX)) runtimeError = true;
      this.stderrWarnings.warning('script stderr', { key: this.spec.key, line: cutMarked(line.text, LOG_LINE_BYTES) });
      this.publishLine('stderr', line.text, line.truncated, undefined);
    });
    proc.on('exit', (info) => {
      gate.close();
      if (this.proc === proc) this.finish(info, loadError, runtimeError);
    });
    if (proc.pid === undefined) {
      await proc.exited; // spawn failed; finish() has run
      return;
    }
    this.currentState = 'running';
    this.deps.log.info('script started', { key: this.spec.key, pid: proc.pid, script: this.spec.path, interpreter: cmd.file });
    this.deps.publish(`${this.topic}.started`, { pid: proc.pid, script: this.spec.path, args: this.spec.args, timestamp: isoTimestamp(proc.startedAt) });
  }

  private onStdout(line: DecodedLine): void {
    const parsed = parseScriptLine(line.text, this.topic);
    if (line.truncated) {
      // Cut at MAX_LINE_CHARS: not what the script wrote, so a protocol line is reported, not acted on.
      this.publishOutput(line.text, true, parsed.kind === 'output' ? parsed.error : `a protocol line longer than ${MAX_LINE_CHARS} characters, cut: not acted on`);
      return;
    }
    switch (parsed.kind) {
      case 'publish':
        if (parsed.topic === `${this.topic}.exiting`) this.noteExitAnnounced(parsed.payload);
        this.deps.publish(parsed.topic, parsed.payload);
        return;
      case 'reply':
      case 'reply-error': {
        const settled = parsed.kind === 'reply' ? this.pending.resolve(parsed.id, parsed.result) : this.pending.reject(parsed.id, new Error(parsed.message));
        if (!settled) this.deps.log.warning('reply for an unknown or expired request', { key: this.spec.key, id: parsed.id });
        return;
      }
      case 'ready':
        this.gate?.open();
        this.emit('ready');
        this.deps.log.info('script ready', { key: this.spec.key });
        this.deps.publish(`${this.topic}.ready`, { timestamp: isoTimestamp() });
        return;
      case 'output':
        this.publishOutput(parsed.line, false, parsed.error);
    }
  }

  /** Bridge.ahk's OnExit says why the script ends: `{"code": n, "reason": "Exit"}`. */
  private noteExitAnnounced(payload: unknown): void {
    if (typeof payload !== 'object' || payload === null) return;
    const reason = (payload as { reason?: unknown }).reason;
    if (typeof reason === 'string') this.exitAnnounced = reason;
  }

  /** An `output` event, logged: the line, and what is wrong with it. */
  private publishOutput(text: string, truncated: boolean, error: string | undefined): void {
    const logged = cutMarked(text, LOG_LINE_BYTES);
    if (error) this.deps.log.warning('script printed an invalid protocol line', { key: this.spec.key, error, line: logged });
    else this.deps.log.info('output', { key: this.spec.key, line: logged });
    this.publishLine('stdout', text, truncated, error);
  }

  /**
   * A line's `output` (stdout) or `stderr` event, numbered in the output ring: the line
   * cut to what a message may hold, marked when it was cut here or before.
   */
  private publishLine(stream: 'stdout' | 'stderr', text: string, truncated: boolean, error: string | undefined): void {
    const fitted = fitLine(text);
    const payload: Record<string, unknown> = { line: fitted.text };
    if (error) payload.error = error;
    if (truncated || fitted.cut) payload.truncated = true;
    payload.seq = this.output.push(stream, fitted.text, isoTimestamp(this.clock.now()));
    this.deps.publish(`${this.topic}.${stream === 'stdout' ? 'output' : 'stderr'}`, payload);
  }

  private finish(info: ExitInfo, loadError: LoadError | null, runtimeError: boolean): void {
    this.pending.rejectWhere(() => new Error(`script ${this.spec.key} exited before replying`));
    const reason = classifyExit({
      exitCode: info.exitCode,
      signal: info.signal,
      stopRequested: this.stopRequested,
      loadError,
      runtimeError,
      ...(this.exitAnnounced !== undefined ? { exitAnnounced: this.exitAnnounced } : {}),
      spawnFailed: info.spawnError !== undefined,
    });
    const exit: LastExit = {
      exit_code: info.exitCode,
      signal: info.signal,
      reason,
      duration_ms: info.durationMs,
      timestamp: isoTimestamp(this.clock.now()),
    };
    this.lastExit = exit;
    if (info.spawnError) {
      this.deps.log.error('script could not be started', { key: this.spec.key, script: this.spec.path, error: info.spawnError });
      this.deps.publish(`${this.topic}.error`, { message: info.spawnError.message, file: this.spec.path, line: null, timestamp: exit.timestamp });
    }
    if (loadError) {
      this.deps.log.error('script failed to load', { key: this.spec.key, file: loadError.file, line: loadError.line, message: loadError.message });
      this.deps.publish(`${this.topic}.error`, { ...loadError, timestamp: exit.timestamp });
    }
    const level = reason === 'crash' ? 'warning' : 'info';
    // A script that never started did not stop; its one ERROR line above says it all.
    if (!info.spawnError) this.deps.log[level]('script stopped', { key: this.spec.key, reason, exit_code: info.exitCode, signal: info.signal, duration_ms: info.durationMs, forced: info.forced });
    // A stop on request: the script is gone, so whoever asks on this event (`bridge ps
    // --watch` does) must read "stopped", not "stopping" while the stop still cleans up
    // what the script left behind (which lists processes on Windows: seconds).
    if (this.stopRequested) this.currentState = 'stopped';
    this.deps.publish(`${this.topic}.stopped`, exit);
    if (this.stopRequested) {
      // A restart goes on, so nothing has settled (bridge run would exit).
      if (!this.restarting) this.emit('settled', exit);
      return;
    }
    const decision = this.policy.next(reason, info.durationMs, this.clock.now());
    if (!decision.restart) {
      // Given up is failed whatever the last exit was: under `always` a clean exit counts
      // toward the limit too, and reads as an operator's stop otherwise.
      this.currentState = reason === 'clean_exit' && !decision.gaveUp ? 'stopped' : 'failed';
      // Giving up after crashes leaves a script down that should run: an operator must act.
      this.deps.log[decision.gaveUp ? 'warning' : 'info']('not restarting', { key: this.spec.key, why: decision.why });
      if (decision.gaveUp) {
        this.deps.publish(`${this.topic}.restart_limit`, { why: decision.why, restarts: this.restarts, timestamp: isoTimestamp() });
      }
      this.emit('settled', exit);
      return;
    }
    this.currentState = 'waiting_restart';
    this.deps.log.info('restarting script', { key: this.spec.key, attempt: decision.attempt, delay_ms: decision.delayMs, after: reason });
    this.deps.publish(`${this.topic}.restarting`, { attempt: decision.attempt, delay_ms: decision.delayMs, after: reason, timestamp: isoTimestamp() });
    this.restartTimer = this.clock.setTimeout(() => {
      this.restartTimer = null;
      this.tasks
        .run(async () => {
          if (this.currentState !== 'waiting_restart') return; // stopped meanwhile
          this.restarts++;
          await this.launch();
        })
        .catch((err: unknown) => this.deps.log.error('restart failed', { key: this.spec.key, error: err as Error }));
    }, decision.delayMs);
  }

  private async halt(): Promise<void> {
    const proc = this.proc;
    if (!proc?.running) return;
    this.stopRequested = true;
    this.currentState = 'stopping';
    await proc.stop(this.spec.stopGrace * 1000);
  }

  private cancelRestart(): void {
    if (this.restartTimer) this.clock.clearTimeout(this.restartTimer);
    this.restartTimer = null;
  }
}
