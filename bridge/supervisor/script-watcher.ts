/**
 * `--watch`: restart a script when its file or a file it `#Include`s is saved.
 *
 * The folders of those files are watched (fs.watch on a folder, not on the file: editors
 * save by writing a temporary file and renaming it over the old one, which ends a watch
 * on the file itself), and events are filtered to the files that make up the script, so a
 * log the script writes next to itself does not restart it. Plain fs.watch rather than
 * chokidar: the set of files changes with every save, and chokidar only sees changes to
 * files that passed its `ignored` filter when their folder was first read.
 *
 * Saves are debounced ({@link WATCH_DEBOUNCE_MS} after the last event), then the includes
 * are read again (a newly added `#Include` is watched from then on) and the callback runs.
 * A save while the callback runs leads to exactly one more call after it.
 */
import { watch, type FSWatcher } from 'node:fs';
import path from 'node:path';
import type { Logger } from '../../src/log/logger.js';
import { pathKey, scanIncludes, type IncludeScan } from './ahk-includes.js';
import { findInterpreter, InterpreterNotFoundError, realProbe, type AhkMajor, type GivenInterpreters } from './interpreter.js';
import type { ScriptSpec, ScriptSupervisor } from './script-supervisor.js';

/** Quiet time after the last file event before the script restarts. */
export const WATCH_DEBOUNCE_MS = 300;

export interface ScriptWatcherOptions {
  /** The files to watch; called at start and again after every change. */
  scan(): Promise<IncludeScan>;
  /** Runs once per burst of saves, with the file saved last. Awaited. */
  onChange(file: string): Promise<void>;
  log: Logger;
  /** Added to every log line (the script key). */
  key?: string;
  debounceMs?: number;
}

/** Watches the files of one script and calls back, debounced, when one of them changes. */
export class ScriptWatcher {
  private readonly folders = new Map<string, FSWatcher>();
  private relevant = new Map<string, string>();
  private timer: NodeJS.Timeout | null = null;
  private lastFile = '';
  private running: Promise<void> | null = null;
  private again = false;
  private closed = false;
  private readonly debounceMs: number;

  constructor(private readonly opts: ScriptWatcherOptions) {
    this.debounceMs = opts.debounceMs ?? WATCH_DEBOUNCE_MS;
  }

  /** The folders watched right now. */
  get watchedFolders(): string[] {
    return [...this.folders.keys()];
  }

  /** Read the includes and start watching; resolves once the watches are in place. */
  async start(): Promise<IncludeScan> {
    const scan = await this.rescan();
    this.opts.log.info('watching for changes', { key: this.opts.key, files: scan.files.length, folders: this.folders.size });
    return scan;
  }

  /** Stop watching. Resolves once a callback under way has finished; none starts after. */
  async close(): Promise<void> {
    this.closed = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    for (const w of this.folders.values()) w.close();
    this.folders.clear();
    await this.running;
  }

  private onEvent(dir: string, filename: string | null): void {
    if (this.closed) return;
    // No name (a platform that does not tell): anything in the folder may be ours.
    const file = filename === null ? dir : path.join(dir, filename);
    if (filename !== null && !this.relevant.has(pathKey(file))) return;
    this.opts.log.debug('file change seen', { key: this.opts.key, file });
    this.lastFile = file;
    if (this.timer) clearTimeout(this.timer);
    this.timer = setTimeout(() => {
      this.timer = null;
      this.fire();
    }, this.debounceMs);
  }

  private fire(): void {
    if (this.closed) return;
    if (this.running) {
      this.again = true;
      this.opts.log.debug('changed again while restarting; one more restart follows', { key: this.opts.key, file: this.lastFile });
      return;
    }
    this.running = this.cycle(this.lastFile).finally(() => {
      this.running = null;
      if (this.again) {
        this.again = false;
        this.fire();
      }
    });
  }

  /** Never rejects: failures are logged, and watching goes on. */
  private async cycle(file: string): Promise<void> {
    try {
      await this.rescan();
    } catch (err) {
      this.opts.log.warning('could not read the includes again; watching the same files', { key: this.opts.key, error: err as Error });
    }
    if (this.closed) return;
    try {
      await this.opts.onChange(file);
    } catch (err) {
      this.opts.log.error('could not act on a file change', { key: this.opts.key, file, error: err as Error });
    }
  }

  private async rescan(): Promise<IncludeScan> {
    const scan = await this.opts.scan();
    if (this.closed) return scan;
    const relevant = new Map<string, string>();
    for (const f of [...scan.files, ...scan.missing]) relevant.set(pathKey(f), f);
    const wanted = new Map<string, string>();
    for (const f of relevant.values()) wanted.set(pathKey(path.dirname(f)), path.dirname(f));
    const before = this.relevant;
    this.relevant = relevant;
    for (const [key, w] of this.folders) {
      if (wanted.has(key)) continue;
      w.close();
      this.folders.delete(key);
    }
    for (const [key, dir] of wanted) if (!this.folders.has(key)) this.watchFolder(key, dir);
    const added = [...relevant.keys()].filter((k) => !before.has(k));
    if (before.size > 0 && (added.length > 0 || before.size !== relevant.size)) {
      this.opts.log.debug('the script includes other files now', { key: this.opts.key, files: scan.files.length, missing: scan.missing.length });
    }
    return scan;
  }

  private watchFolder(key: string, dir: string): void {
    let w: FSWatcher;
    try {
      w = watch(dir, (_event, filename) => this.onEvent(dir, filename));
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code === 'ENOENT' || code === 'ENOTDIR') {
        this.opts.log.debug('folder of an include does not exist; not watched', { key: this.opts.key, dir });
      } else {
        this.opts.log.warning('cannot watch a folder; saving files there will not restart the script', { key: this.opts.key, dir, error: err as Error });
      }
      return;
    }
    w.on('error', (err) => {
      // A deleted folder, mostly. The next change elsewhere scans again and watches it anew.
      this.opts.log.warning('stopped watching a folder; saving files there will not restart the script', { key: this.opts.key, dir, error: err });
      w.close();
      if (this.folders.get(key) === w) this.folders.delete(key);
    });
    this.folders.set(key, w);
  }
}

/** One script to watch: its supervisor and the interpreter it was configured with. */
export interface WatchTarget {
  supervisor: Pick<ScriptSupervisor, 'spec' | 'restart'>;
  /** The interpreters given for it (for `A_AhkPath` and the standard Lib folder). */
  interpreter?: GivenInterpreters;
}

/** The watchers of `bridge run --watch` / `bridge up --watch`, closed together. */
export interface WatchSet {
  close(): Promise<void>;
}

const SHELL_FOLDERS_KEY = 'HKCU\\Software\\Microsoft\\Windows\\CurrentVersion\\Explorer\\User Shell Folders';

/** `A_MyDocuments` where Windows keeps it (a Documents folder moved to OneDrive is common). */
async function machineFolders(): Promise<Record<string, string | undefined>> {
  if (process.platform !== 'win32') return {};
  const documents = await realProbe.readRegistryValue(SHELL_FOLDERS_KEY, 'Personal');
  return documents ? { A_MyDocuments: documents } : {};
}

async function scanScript(spec: ScriptSpec, interpreter: GivenInterpreters | undefined, builtins: Record<string, string | undefined>, log: Logger): Promise<IncludeScan> {
  let ahkPath: string | undefined;
  let major: AhkMajor | undefined;
  try {
    const choice = await findInterpreter({ ...interpreter, scriptPath: spec.path });
    ahkPath = choice.path;
    major = choice.major;
  } catch (err) {
    if (!(err instanceof InterpreterNotFoundError)) throw err;
    // The supervisor reports it when it starts the script; here it only costs the standard Lib.
    log.debug('no interpreter found; its Lib folder is not watched', { key: spec.key, error: err });
  }
  return scanIncludes({ scriptPath: spec.path, major, ahkPath, workingDir: spec.cwd, builtins, log });
}

/**
 * Watch each target's script and includes; on a save, log "file changed; restarting" and
 * restart it (which also starts a script that had stopped or failed to load).
 */
export async function watchScripts(targets: WatchTarget[], log: Logger): Promise<WatchSet> {
  const wlog = log.child('watch');
  const builtins = await machineFolders();
  const watchers: ScriptWatcher[] = [];
  const close = async (): Promise<void> => {
    await Promise.all(watchers.splice(0).map((w) => w.close()));
  };
  try {
    for (const { supervisor, interpreter } of targets) {
      const { spec } = supervisor;
      const w = new ScriptWatcher({
        key: spec.key,
        log: wlog,
        scan: () => scanScript(spec, interpreter, builtins, wlog),
        onChange: async (file) => {
          wlog.info('file changed; restarting', { key: spec.key, file });
          await supervisor.restart();
        },
      });
      watchers.push(w);
      await w.start();
    }
  } catch (err) {
    await close();
    throw err;
  }
  return { close };
}
