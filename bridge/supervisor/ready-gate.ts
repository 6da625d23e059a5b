/**
 * Commands wait for the script to say it is ready.
 *
 * Bridge.ahk starts reading stdin when the script registers its first handler, and prints
 * `@ready` when the script calls `Bridge.Ready()` after registering them. A command read
 * before that lands in a script that has no handler for it yet. So command lines are held (in order, at most
 * {@link MAX_HELD}) until `@ready`, then written. A script that never says it within the
 * ready timeout gets a clear error for every held and later command, until it does.
 */
import type { Logger } from '../../src/log/logger.js';
import { systemClock, type Clock, type ClockTimer } from '../../src/protocol/clock.js';

/**
 * How long commands wait for `@ready` by default, seconds. Here rather than in
 * script-supervisor.ts so that `bridge run --help` can show it without loading the supervisor.
 */
export const DEFAULT_READY_TIMEOUT = 10;

/** Commands held at most while the script is not ready; more are refused. */
export const MAX_HELD = 1000;

/** Why a command was not written to the script. */
export class CommandNotSentError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'CommandNotSentError';
  }
}

interface Held {
  line: string;
  written(): void;
  failed(err: Error): void;
}

export class ReadyGate {
  private state: 'waiting' | 'ready' | 'timed_out' | 'closed' = 'waiting';
  private held: Held[] = [];
  private readonly timer: ClockTimer;

  /**
   * @param write writes one line to the script's stdin; false when the script is gone or
   *   not reading
   */
  constructor(
    private readonly key: string,
    private readonly timeoutMs: number,
    private readonly write: (line: string) => boolean,
    private readonly log: Logger,
    private readonly clock: Clock = systemClock,
  ) {
    this.timer = clock.setTimeout(() => this.timeOut(), timeoutMs);
    this.timer.unref();
  }

  /** Write `line` now when the script is ready, else hold it. Resolves once written. */
  submit(line: string): Promise<void> {
    return new Promise((resolve, reject) => {
      const item: Held = { line, written: resolve, failed: reject };
      if (this.state === 'ready') this.send(item);
      else if (this.state === 'waiting' && this.held.length < MAX_HELD) this.held.push(item);
      else if (this.state === 'waiting') reject(new CommandNotSentError(`script ${this.key} is not ready yet and already holds ${MAX_HELD} commands`));
      else if (this.state === 'timed_out') reject(this.notReady());
      else reject(new CommandNotSentError(`script ${this.key} is not running`));
    });
  }

  /** The script printed `@ready`: write what was held, in order. */
  open(): void {
    if (this.state === 'closed') return;
    this.clock.clearTimeout(this.timer);
    this.state = 'ready';
    const held = this.held;
    this.held = [];
    for (const item of held) this.send(item);
  }

  /** The script ended: nothing held will be written. */
  close(): void {
    this.clock.clearTimeout(this.timer);
    this.state = 'closed';
    this.failAll(new CommandNotSentError(`script ${this.key} exited before it was ready`));
  }

  private send(item: Held): void {
    if (this.write(item.line)) item.written();
    else item.failed(new CommandNotSentError(`script ${this.key} is not reading its stdin`));
  }

  private timeOut(): void {
    if (this.state !== 'waiting') return;
    this.state = 'timed_out';
    this.log.warning('script has not reported ready; commands are refused until it does', {
      key: this.key,
      ready_timeout_s: this.timeoutMs / 1000,
      held: this.held.length,
      hint: 'a script takes commands once it prints @ready: #Include Bridge.ahk and call Bridge.Ready() after its Bridge.On() handlers',
    });
    this.failAll(this.notReady());
  }

  private notReady(): CommandNotSentError {
    return new CommandNotSentError(
      `script ${this.key} has not reported ready within ${this.timeoutMs / 1000} s: commands are sent once it prints "@ready" (Bridge.Ready() in Bridge.ahk)`,
    );
  }

  private failAll(err: Error): void {
    const held = this.held;
    this.held = [];
    for (const item of held) item.failed(err);
  }
}
