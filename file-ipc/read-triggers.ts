/**
 * When the tailer reads: on every watcher event for the queue file, once more a little
 * after the last event (chokidar throttles `change` to one event per 50 ms per path with
 * no trailing edge, so the last of several quick appends would otherwise wait), on a slow
 * safety poll (a watcher can miss events, and a folder created later is never watched),
 * and at a time the tailer asks for (a publish retry, a partial line's flush timeout).
 */
import { stat } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';
import { watch, type FSWatcher } from 'chokidar';

export interface ReadTriggerOptions {
  file: string;
  /** Watch the folder with chokidar (false: poll and explicit wakes only). */
  useWatcher: boolean;
  pollIntervalMs: number;
  trailingReadMs: number;
  /** Ask for a read. */
  kick(): void;
  /** The folder is missing: only the poll will notice the file. */
  onNoFolder(folder: string): void;
  onWatchError(err: Error): void;
}

export class ReadTriggers {
  private watcher: FSWatcher | null = null;
  private pollTimer: NodeJS.Timeout | null = null;
  private trailingTimer: NodeJS.Timeout | null = null;
  private wakeTimer: NodeJS.Timeout | null = null;
  private wakeAt = 0;
  private stopped = false;

  constructor(private readonly opts: ReadTriggerOptions) {}

  /** Start watching (resolves once the watcher is ready) and polling. */
  async start(): Promise<void> {
    if (this.opts.useWatcher) await this.startWatcher();
    if (this.stopped) return;
    this.pollTimer = setInterval(() => this.opts.kick(), this.opts.pollIntervalMs);
  }

  /** Read again in `ms` (the earliest request wins). */
  wakeIn(ms: number): void {
    if (this.stopped) return;
    const at = Date.now() + ms;
    if (this.wakeTimer && this.wakeAt <= at) return;
    if (this.wakeTimer) clearTimeout(this.wakeTimer);
    this.wakeAt = at;
    this.wakeTimer = setTimeout(() => {
      this.wakeTimer = null;
      this.opts.kick();
    }, Math.max(0, ms));
  }

  async stop(): Promise<void> {
    this.stopped = true;
    for (const t of [this.pollTimer, this.trailingTimer, this.wakeTimer]) if (t) clearTimeout(t);
    this.pollTimer = this.trailingTimer = this.wakeTimer = null;
    const w = this.watcher;
    this.watcher = null;
    await w?.close().catch(() => undefined);
  }

  private async startWatcher(): Promise<void> {
    const { file } = this.opts;
    const dir = dirname(file);
    if (!(await stat(dir).then((st) => st.isDirectory(), () => false))) this.opts.onNoFolder(dir);
    const norm = (p: string): string => (process.platform === 'win32' ? resolve(p).toLowerCase() : resolve(p));
    const self = norm(file);
    const folder = norm(dir);
    // Watch the folder, not the path: watching a path that does not exist yet misses its
    // creation, and a rotation shows up as unlink + add here. Other files are ignored.
    const watcher = watch(dir, {
      ignoreInitial: true,
      usePolling: false,
      depth: 0,
      ignored: (p: string) => {
        const n = norm(p);
        return n !== self && n !== folder;
      },
    });
    this.watcher = watcher;
    watcher.on('all', (_event, path) => {
      if (norm(path) !== self) return;
      this.opts.kick();
      if (this.trailingTimer) clearTimeout(this.trailingTimer);
      this.trailingTimer = setTimeout(() => {
        this.trailingTimer = null;
        this.opts.kick();
      }, this.opts.trailingReadMs);
    });
    watcher.on('error', (err) => this.opts.onWatchError(err as Error));
    await new Promise<void>((res) => watcher.once('ready', () => res()));
  }
}
