/**
 * The orchestrator's side of one forked worker process: typed commands out, awaited
 * events in, every wait bounded by a timeout, and a stop that escalates to SIGKILL of
 * that PID if the worker does not exit by itself.
 */
import { fork, type ChildProcess } from 'node:child_process';
import type { Command, EventOf, WorkerEvent, WorkerEventName, WorkerInit } from './ipc.js';
import { signal, track, waitExit } from './processes.js';

const EXIT_GRACE_MS = 3000;
const SNAP_TIMEOUT_MS = 5000;

interface Waiter {
  resolve(ev: WorkerEvent): void;
  reject(err: Error): void;
}

export class WorkerHandle {
  /** Called with each `progress` event (the slowest subscriber connection's count). */
  onProgress: ((min: number) => void) | null = null;
  private readonly child: ChildProcess;
  private readonly waiters = new Map<WorkerEventName, Waiter[]>();
  private failure: Error | null = null;

  constructor(
    readonly name: string,
    workerPath: string,
    init: WorkerInit,
  ) {
    this.child = fork(workerPath, [JSON.stringify(init)], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
    track(this.child);
    this.child.on('message', (raw: unknown) => this.onEvent(raw as WorkerEvent));
    this.child.once('exit', (code, sig) => this.failAll(new Error(`${name} exited (${code ?? sig})`)));
    this.child.once('error', (err) => this.failAll(new Error(`${name}: ${err.message}`)));
  }

  send(cmd: Command): void {
    if (this.child.connected) this.child.send(cmd);
  }

  /** The next `ev` event, or a rejection on timeout, worker error or exit. */
  next<E extends WorkerEventName>(ev: E, timeoutMs: number): Promise<EventOf<E>> {
    if (this.failure) return Promise.reject(this.failure);
    return new Promise((resolve, reject) => {
      const list = this.waiters.get(ev) ?? [];
      this.waiters.set(ev, list);
      const waiter: Waiter = {
        resolve: (e) => {
          clearTimeout(timer);
          resolve(e as EventOf<E>);
        },
        reject: (err) => {
          clearTimeout(timer);
          reject(err);
        },
      };
      const timer = setTimeout(() => {
        list.splice(list.indexOf(waiter), 1);
        reject(new Error(`${this.name}: no '${ev}' within ${timeoutMs} ms`));
      }, timeoutMs);
      list.push(waiter);
    });
  }

  /** Ask for the worker's counters now. */
  snap(): Promise<EventOf<'snap'>> {
    const p = this.next('snap', SNAP_TIMEOUT_MS);
    this.send({ cmd: 'snap' });
    return p;
  }

  /** Tell the worker to exit; SIGKILL its PID if it has not within the grace period. */
  async stop(): Promise<void> {
    this.send({ cmd: 'exit' });
    if (await waitExit(this.child, EXIT_GRACE_MS)) return;
    if (this.child.pid !== undefined) signal(this.child.pid, 'SIGKILL');
    await waitExit(this.child, 1000);
  }

  private onEvent(ev: WorkerEvent): void {
    if (ev.ev === 'progress') {
      this.onProgress?.(ev.min);
      return;
    }
    if (ev.ev === 'error') {
      this.failAll(new Error(`${this.name}: ${ev.message}`));
      return;
    }
    this.waiters.get(ev.ev)?.shift()?.resolve(ev);
  }

  private failAll(err: Error): void {
    this.failure ??= err;
    for (const list of this.waiters.values()) {
      for (let w = list.shift(); w; w = list.shift()) w.reject(this.failure);
    }
  }
}
