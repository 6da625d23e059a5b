/**
 * ScriptWatcher on real files and real file-system events: what a save triggers, how saves
 * are debounced and coalesced, and that close() leaves nothing behind. Every wait is on a
 * callback or a log line, never on time.
 */
import { mkdirSync, mkdtempSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { Logger } from '../../src/log/logger.js';
import { scanIncludes } from '../../bridge/supervisor/ahk-includes.js';
import { ScriptWatcher } from '../../bridge/supervisor/script-watcher.js';

const WAIT_MS = 10_000;
const dirs: string[] = [];
const watchers: ScriptWatcher[] = [];

const handles = (kind: string): number => process.getActiveResourcesInfo().filter((r) => r === kind).length;

/**
 * The number of `kind` handles once it is `expected`, or after WAIT_MS. A closed fs.watch
 * leaves the list in the next close phase of the event loop on Linux, but on Windows only
 * once its cancelled directory read has come back, and nothing tells when: poll, bounded.
 */
async function handlesWhenSettled(kind: string, expected: number): Promise<number> {
  const until = Date.now() + WAIT_MS;
  while (handles(kind) !== expected && Date.now() < until) await new Promise((r) => setTimeout(r, 20));
  return handles(kind);
}

let fsWatchesAtStart = 0;
beforeEach(() => {
  fsWatchesAtStart = handles('FSEventWrap');
});
afterEach(async () => {
  await Promise.all(watchers.splice(0).map((w) => w.close()));
  // The next test starts with none of this one's watches, closed or closing.
  expect(await handlesWhenSettled('FSEventWrap', fsWatchesAtStart)).toBe(fsWatchesAtStart);
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

function tree(files: Record<string, string>): string {
  const root = mkdtempSync(path.join(tmpdir(), 'script-watcher-'));
  dirs.push(root);
  for (const [rel, text] of Object.entries(files)) {
    mkdirSync(path.dirname(path.join(root, rel)), { recursive: true });
    writeFileSync(path.join(root, rel), text);
  }
  return root;
}

/** Resolves when `pred` holds, checked now and after every `poke()`; rejects after WAIT_MS. */
class Waiters {
  private readonly list: { pred: () => boolean; resolve: () => void }[] = [];
  poke(): void {
    for (const w of [...this.list]) {
      if (!w.pred()) continue;
      this.list.splice(this.list.indexOf(w), 1);
      w.resolve();
    }
  }
  until(pred: () => boolean, what: string): Promise<void> {
    if (pred()) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const entry = {
        pred,
        resolve: () => {
          clearTimeout(timer);
          resolve();
        },
      };
      const timer = setTimeout(() => {
        this.list.splice(this.list.indexOf(entry), 1);
        reject(new Error(`timed out waiting for ${what}`));
      }, WAIT_MS);
      this.list.push(entry);
    });
  }
}

/** A watcher on `root/main.ahk` that records each callback and each log line. */
async function watchMain(root: string, { onChange = () => Promise.resolve(), debounceMs }: { onChange?: (file: string) => Promise<void>; debounceMs?: number } = {}) {
  const calls: string[] = [];
  const logs: string[] = [];
  const waiters = new Waiters();
  const log = new Logger({ level: 'debug', sink: { write: (l) => (logs.push(l), waiters.poke()) } });
  const w = new ScriptWatcher({
    key: 'w',
    log,
    debounceMs,
    scan: () => scanIncludes({ scriptPath: path.join(root, 'main.ahk'), log }),
    onChange: async (file) => {
      calls.push(file);
      waiters.poke();
      await onChange(file);
    },
  });
  watchers.push(w);
  await w.start();
  return {
    w,
    calls,
    logs,
    /** Resolves once `n` callbacks happened. */
    calledTimes: (n: number) => waiters.until(() => calls.length >= n, `${n} callbacks (got ${calls.length}: ${calls.join(', ')})`),
    /** Resolves once `n` log lines match `re`. */
    logged: (re: RegExp, n = 1) => waiters.until(() => logs.filter((l) => re.test(l)).length >= n, `${n} log lines matching ${re}`),
  };
}

describe('ScriptWatcher', () => {
  it('calls back once for several saves in a row, with the file that changed last', async () => {
    const root = tree({ 'main.ahk': '#Include inc.ahk\n', 'inc.ahk': '; v1\n' });
    // A long quiet time so that a slow machine still makes the three saves inside it.
    const m = await watchMain(root, { debounceMs: 1500 });
    for (let i = 1; i <= 3; i++) {
      writeFileSync(path.join(root, i === 2 ? 'inc.ahk' : 'main.ahk'), `#Include inc.ahk\n; save ${i}\n`);
      // Each save seen on its own (the kernel merges events that are still queued).
      await m.logged(/file change seen/, i);
    }
    await m.calledTimes(1);
    // A later, distinct save: had the three saves not been one call, the count would
    // pass 2 before this one's call arrives.
    writeFileSync(path.join(root, 'inc.ahk'), '; v2\n');
    await m.calledTimes(2);
    expect(m.calls).toEqual([path.join(root, 'main.ahk'), path.join(root, 'inc.ahk')]);
    expect(m.logs.join('')).toMatch(/watching for changes key=w files=2 folders=1/);
  });

  it('sees editor-style saves: a temporary file renamed over the original, again and again', async () => {
    const root = tree({ 'main.ahk': '#Include sub\\inc.ahk\n', 'sub/inc.ahk': '; v1\n' });
    const m = await watchMain(root);
    // A watch on the file itself would see the first replacement and nothing after it.
    for (let i = 1; i <= 2; i++) {
      const tmp = path.join(root, 'sub', `.inc.ahk.${i}.swp`);
      writeFileSync(tmp, `; v${i + 1}\n`);
      renameSync(tmp, path.join(root, 'sub', 'inc.ahk'));
      await m.calledTimes(i);
    }
    expect(m.calls).toEqual([path.join(root, 'sub', 'inc.ahk'), path.join(root, 'sub', 'inc.ahk')]);
  });

  it('ignores files in the same folder that the script is not made of', async () => {
    const root = tree({ 'main.ahk': '; plain\n', 'notes.txt': '' });
    const m = await watchMain(root);
    writeFileSync(path.join(root, 'notes.txt'), 'a log the script writes');
    writeFileSync(path.join(root, 'other.ahk'), '; not included');
    // Events of one folder arrive in order: once this save is seen, so were the two above.
    writeFileSync(path.join(root, 'main.ahk'), '; saved\n');
    await m.calledTimes(1);
    expect(m.calls).toEqual([path.join(root, 'main.ahk')]);
    const seen = m.logs.filter((l) => l.includes('file change seen'));
    expect(seen.length).toBeGreaterThan(0);
    expect(seen.every((l) => l.includes('main.ahk'))).toBe(true);
  });

  it('watches an include from the save that adds it, also in a new folder', async () => {
    const root = tree({ 'main.ahk': '; nothing yet\n', 'lib/new.ahk': '; v1\n' });
    const m = await watchMain(root);
    expect(m.w.watchedFolders).toHaveLength(1);
    writeFileSync(path.join(root, 'main.ahk'), '#Include lib\\new.ahk\n');
    await m.calledTimes(1);
    writeFileSync(path.join(root, 'lib', 'new.ahk'), '; v2\n');
    await m.calledTimes(2);
    expect(m.calls[1]).toBe(path.join(root, 'lib', 'new.ahk'));
    expect(m.w.watchedFolders).toHaveLength(2);
  });

  it('sees the creation of an include that was missing', async () => {
    const root = tree({ 'main.ahk': '#Include *i settings.ahk\n' });
    const m = await watchMain(root);
    writeFileSync(path.join(root, 'settings.ahk'), '; now here\n');
    await m.calledTimes(1);
    expect(m.calls).toEqual([path.join(root, 'settings.ahk')]);
  });

  it('turns saves made while the callback runs into exactly one more call after it', async () => {
    const root = tree({ 'main.ahk': '#Include inc.ahk\n', 'inc.ahk': '' });
    let release: () => void = () => undefined;
    const firstDone = new Promise<void>((r) => (release = r));
    let n = 0;
    const m = await watchMain(root, { onChange: () => (++n === 1 ? firstDone : Promise.resolve()) });
    writeFileSync(path.join(root, 'main.ahk'), '#Include inc.ahk\n; 1\n');
    await m.calledTimes(1);
    // Two saves, each debounced on its own, while the first call is still running.
    writeFileSync(path.join(root, 'inc.ahk'), '; 2\n');
    await m.logged(/one more restart follows/, 1);
    writeFileSync(path.join(root, 'main.ahk'), '#Include inc.ahk\n; 3\n');
    await m.logged(/one more restart follows/, 2);
    expect(m.calls).toHaveLength(1);
    release();
    await m.calledTimes(2);
    expect(m.calls[1]).toBe(path.join(root, 'main.ahk'));
    // A later save is the third call: the two were one.
    writeFileSync(path.join(root, 'inc.ahk'), '; 4\n');
    await m.calledTimes(3);
    expect(m.calls).toHaveLength(3);
  });

  it('close() removes every folder watch and a pending debounce timer', async () => {
    // A closed handle leaves the list in the close phase of the event loop: let one pass.
    const loopTurn = (): Promise<void> => new Promise((r) => setImmediate(() => setImmediate(r)));
    await loopTurn();
    const fsWatchesBefore = handles('FSEventWrap');
    const root = tree({ 'main.ahk': '#Include a\\x.ahk\n#Include b\\y.ahk\n', 'a/x.ahk': '', 'b/y.ahk': '' });
    const m = await watchMain(root);
    expect(handles('FSEventWrap')).toBe(fsWatchesBefore + 3);
    const timersBefore = handles('Timeout');
    writeFileSync(path.join(root, 'a', 'x.ahk'), '; saved\n');
    await m.logged(/file change seen/);
    expect(handles('Timeout')).toBe(timersBefore + 1);
    await m.w.close();
    await loopTurn();
    // Before any wait: the debounce would have fired (and left the list) by itself.
    expect(handles('Timeout')).toBe(timersBefore);
    expect(await handlesWhenSettled('FSEventWrap', fsWatchesBefore)).toBe(fsWatchesBefore);
    expect(m.w.watchedFolders).toEqual([]);
    expect(m.calls).toEqual([]);
  });
});
