/**
 * When the tailer reads: at once on every watcher event for the queue file, once more a
 * little after the last event of a burst (a safety net for a notification that arrived
 * before its bytes could be read), on a slow safety poll (a watcher can miss events), and
 * at a time the tailer asks for (a publish retry, a partial line's flush timeout).
 *
 * Every trigger but a timed wake asks the tailer to read only if a stat shows a change:
 * each open of the file is a moment in which AutoHotkey's exclusive FileAppend fails
 * (silently in v1), and Windows reports one append as several events.
 *
 * Watching is Node's own `fs.watch` on the queue's folder (inotify on Linux,
 * ReadDirectoryChangesW on Windows): the folder, not the file, so that the file's
 * creation and a rotation are seen too. Events name the file that changed, so those of
 * other files (our own position and dead-letter files among them) cost nothing. Watching
 * takes no part in file sharing: AutoHotkey's exclusive FileAppend is not disturbed by it.
 * Every event is passed on at once; chokidar, used before, let through one `change` per
 * 50 ms per path, which was most of the append-to-publish latency.
 *
 * The poll also looks after the watch: a folder that did not exist at start, or was
 * deleted or renamed and created again (inotify then watches nothing, or the old folder,
 * silently), is watched anew. A deleted folder is noticed by the event Linux reports
 * under the folder's own name, a renamed one by its identity.
 */
import { watch, type FSWatcher } from 'node:fs';
import { stat } from 'node:fs/promises';
import { basename, dirname } from 'node:path';

/** The longest delay `setTimeout` takes (2^31 - 1 ms, about 24.8 days). */
const LONGEST_TIMER_MS = 2 ** 31 - 1;

/**
 * Why a read is asked for. `event` (a watcher event), `trailing` (the look after a burst
 * of events) and `poll`: the file may have changed; the tailer first checks with a stat
 * and opens the file only when it did. `wake`: read whatever a stat says (a publish
 * retry, a flush timeout, and every {@link FULL_READ_EVERY_POLLS}th poll).
 */
export type ReadReason = 'event' | 'trailing' | 'poll' | 'wake';

/**
 * Every this many polls the file is read even when a stat says it is as it was: the one
 * change a stat cannot see is a rewrite to the same size within the same mtime tick.
 */
export const FULL_READ_EVERY_POLLS = 10;

export interface ReadTriggerOptions {
  file: string;
  /** Watch the folder (false: poll and explicit wakes only). */
  useWatcher: boolean;
  pollIntervalMs: number;
  trailingReadMs: number;
  /** Ask for a read. */
  kick(reason: ReadReason): void;
  /** The folder is missing: until it exists, only the poll notices the file. */
  onNoFolder(folder: string): void;
  onWatchError(err: Error): void;
}

/** What identifies the watched folder: a new folder under the same name is watched anew. */
interface FolderWatch {
  watcher: FSWatcher;
  dev: number;
  ino: number;
}

export class ReadTriggers {
  private folder: FolderWatch | null = null;
  private pollTimer: NodeJS.Timeout | null = null;
  private trailingTimer: NodeJS.Timeout | null = null;
  private wakeTimer: NodeJS.Timeout | null = null;
  private wakeAt = 0;
  private stopped = false;
  /** A poll's look at the folder is under way (they must not pile up on a slow disk). */
  private checking = false;
  private polls = 0;
  private readonly dir: string;
  private readonly name: string;
  private readonly dirName: string;

  constructor(private readonly opts: ReadTriggerOptions) {
    this.dir = dirname(opts.file);
    this.name = comparable(basename(opts.file));
    this.dirName = comparable(basename(this.dir));
  }

  /** Start watching (events flow once this resolves) and polling. */
  async start(): Promise<void> {
    const watching = this.opts.useWatcher ? await this.watchFolder() : 'off';
    if (this.stopped) return;
    if (watching === 'no-folder') this.opts.onNoFolder(this.dir);
    this.pollTimer = setInterval(() => this.poll(), this.opts.pollIntervalMs);
  }

  /** Read again in `ms` (the earliest request wins). */
  wakeIn(ms: number): void {
    if (this.stopped) return;
    // Past Node's longest timer a delay becomes 1 ms, with a warning each time: a wake
    // that far out (a --flush-timeout of weeks) wakes at the longest, and is asked again.
    ms = Math.min(ms, LONGEST_TIMER_MS);
    const at = Date.now() + ms;
    if (this.wakeTimer && this.wakeAt <= at) return;
    if (this.wakeTimer) clearTimeout(this.wakeTimer);
    this.wakeAt = at;
    this.wakeTimer = setTimeout(() => {
      this.wakeTimer = null;
      this.opts.kick('wake');
    }, Math.max(0, ms));
  }

  async stop(): Promise<void> {
    this.stopped = true;
    for (const t of [this.pollTimer, this.trailingTimer, this.wakeTimer]) if (t) clearTimeout(t);
    this.pollTimer = this.trailingTimer = this.wakeTimer = null;
    this.closeWatch();
  }

  private poll(): void {
    this.opts.kick(++this.polls % FULL_READ_EVERY_POLLS === 0 ? 'wake' : 'poll');
    if (!this.opts.useWatcher || this.checking) return;
    this.checking = true;
    this.checkFolder()
      .catch((err: unknown) => this.opts.onWatchError(err as Error))
      .finally(() => (this.checking = false));
  }

  /** Watch the folder when it is there and not watched yet (or is another folder now). */
  private async checkFolder(): Promise<void> {
    const st = await stat(this.dir).catch(() => null);
    if (this.stopped) return;
    if (!st?.isDirectory()) {
      this.closeWatch();
      return;
    }
    if (this.folder && this.folder.dev === st.dev && this.folder.ino === st.ino) return;
    this.closeWatch();
    if ((await this.watchFolder()) === 'watching') this.opts.kick('poll'); // a file may have appeared unseen
  }

  /** Start watching the folder. */
  private async watchFolder(): Promise<'watching' | 'no-folder' | 'failed'> {
    const st = await stat(this.dir).catch(() => null);
    if (this.stopped) return 'failed';
    if (!st?.isDirectory()) return 'no-folder';
    let watcher: FSWatcher;
    try {
      watcher = watch(this.dir, { persistent: true });
    } catch (err) {
      // Gone between the stat and the watch, or no watch to be had (the inotify limit):
      // the poll goes on, and tries again.
      this.opts.onWatchError(err as Error);
      return 'failed';
    }
    watcher.on('change', (_type, filename) => {
      // No name (some platforms, or an overflowed event queue): it may have been ours.
      const name = filename === null ? null : comparable(String(filename));
      if (name === null || name === this.name) {
        this.onEvent();
      } else if (name === this.dirName && this.folder?.watcher === watcher) {
        // The folder itself was deleted or moved: this watch sees nothing more (the poll
        // watches the folder anew, even if a new one got the old inode number).
        this.closeWatch();
        this.opts.kick('poll');
      }
    });
    watcher.on('error', (err) => {
      this.opts.onWatchError(err);
      // Dead now (the folder was deleted on Windows, ...): the next poll watches it anew.
      if (this.folder?.watcher === watcher) this.closeWatch();
      this.opts.kick('poll');
    });
    this.folder = { watcher, dev: st.dev, ino: st.ino };
    return 'watching';
  }

  private onEvent(): void {
    if (this.stopped) return;
    this.opts.kick('event');
    // One timer per burst of events, pushed back by each: a read this long after the last.
    if (this.trailingTimer) {
      this.trailingTimer.refresh();
      return;
    }
    this.trailingTimer = setTimeout(() => {
      this.trailingTimer = null;
      this.opts.kick('trailing');
    }, this.opts.trailingReadMs);
  }

  private closeWatch(): void {
    const f = this.folder;
    this.folder = null;
    f?.watcher.close();
  }
}

/** A file name as the file system compares it (Windows: case-insensitively). */
function comparable(name: string): string {
  return process.platform === 'win32' ? name.toLowerCase() : name;
}
