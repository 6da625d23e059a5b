/**
 * The client's side of liveness: a ping every heartbeat interval, and a watchdog that
 * drops the connection when the broker has been silent for too long. The broker does not
 * ping clients; our pings are what make it talk, so silence means it is gone.
 */
import { performance } from 'node:perf_hooks';
import { MAX_TIMER_MS } from '../protocol/long-timeout.js';
import type { ConnectResult } from '../protocol/messages.js';
import type { Connection } from './connection.js';

export class Heartbeat {
  private pingTimer: NodeJS.Timeout | undefined;
  private watchdogTimer: NodeJS.Timeout | undefined;

  /**
   * Start pinging `conn`. `intervalOverride` (seconds) replaces the broker's advertised
   * interval; `ping` sends one ping that may wait `silenceMs` for its pong; `onSilence`
   * is called once when nothing arrived for the silence limit.
   */
  start(
    conn: Connection,
    result: ConnectResult,
    intervalOverride: number | undefined,
    ping: (silenceMs: number) => Promise<unknown>,
    onSilence: (idleMs: number) => void,
  ): void {
    this.stop();
    const interval = intervalOverride ?? result.heartbeat_interval;
    if (!(typeof interval === 'number' && interval > 0)) return;
    const brokerTimeout = typeof result.heartbeat_timeout === 'number' && result.heartbeat_timeout > 0 ? result.heartbeat_timeout : 30;
    // A watchdog shorter than two ping periods would fire on a healthy but idle connection
    // when the interval is overridden upward.
    // Both bounded by what a Node timer can wait: past it a timer fires at once, and a
    // broker that advertises a longer one means "never".
    const silenceMs = Math.min(Math.max(brokerTimeout, interval * 2) * 1000, MAX_TIMER_MS);
    const pingMs = Math.min(interval * 1000, MAX_TIMER_MS);

    // Timers are unref'd: the open socket already keeps the process alive while connected.
    this.pingTimer = setInterval(() => {
      // A lost pong needs no handling here: the watchdog notices the silence.
      ping(silenceMs).catch(() => undefined);
    }, pingMs);
    this.pingTimer.unref();

    // One timer re-armed for the remaining time, rather than reset on every received chunk.
    const check = (): void => {
      const idle = performance.now() - conn.lastReceivedAt;
      if (idle >= silenceMs) {
        onSilence(idle);
        return;
      }
      this.watchdogTimer = setTimeout(check, silenceMs - idle + 1);
      this.watchdogTimer.unref();
    };
    this.watchdogTimer = setTimeout(check, silenceMs);
    this.watchdogTimer.unref();
  }

  stop(): void {
    if (this.pingTimer) clearInterval(this.pingTimer);
    if (this.watchdogTimer) clearTimeout(this.watchdogTimer);
    this.pingTimer = undefined;
    this.watchdogTimer = undefined;
  }
}
