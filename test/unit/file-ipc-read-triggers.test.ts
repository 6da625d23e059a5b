/**
 * ReadTriggers against a real folder: which reads it asks for, and why. Waits are on the
 * kicks themselves; a timeout only turns a hang into a readable failure.
 */
import { appendFileSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { FULL_READ_EVERY_POLLS, ReadTriggers, type ReadReason, type ReadTriggerOptions } from '../../file-ipc/read-triggers.js';
import { ON_WINDOWS } from '../helpers/platform.js';

/** Records kicks and resolves waits on them. */
class Kicks {
  readonly seen: ReadReason[] = [];
  private waiters: Array<{ done: () => boolean; resolve: () => void }> = [];

  readonly kick = (reason: ReadReason): void => {
    this.seen.push(reason);
    this.waiters = this.waiters.filter((w) => (w.done() ? (w.resolve(), false) : true));
  };

  count(reason: ReadReason): number {
    return this.seen.filter((r) => r === reason).length;
  }

  /** Resolves once `done()` holds after a kick (or at once). */
  until(done: () => boolean, what: string, timeoutMs = 10_000): Promise<void> {
    if (done()) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`timed out waiting for ${what}; kicks: ${this.seen.join(', ')}`)), timeoutMs);
      this.waiters.push({ done, resolve: () => (clearTimeout(timer), resolve()) });
    });
  }
}

describe('ReadTriggers', () => {
  let dir: string;
  let queue: string;
  const started: ReadTriggers[] = [];

  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'triggers-'));
    queue = join(dir, 'queue.txt');
  });

  afterEach(async () => {
    await Promise.all(started.splice(0).map((t) => t.stop()));
    rmSync(dir, { recursive: true, force: true });
  });

  async function start(kicks: Kicks, opts: Partial<ReadTriggerOptions> = {}): Promise<{ triggers: ReadTriggers; noFolder: string[]; errors: Error[] }> {
    const noFolder: string[] = [];
    const errors: Error[] = [];
    const triggers = new ReadTriggers({
      file: queue,
      useWatcher: true,
      pollIntervalMs: 600_000,
      trailingReadMs: 600_000,
      kick: kicks.kick,
      onNoFolder: (f) => noFolder.push(f),
      onWatchError: (e) => errors.push(e),
      ...opts,
    });
    started.push(triggers);
    await triggers.start();
    return { triggers, noFolder, errors };
  }

  it('asks for a read at once on an event for the queue file, and once more after the burst', async () => {
    writeFileSync(queue, '');
    const kicks = new Kicks();
    await start(kicks, { trailingReadMs: 30 });
    appendFileSync(queue, 'A|1\n');
    await kicks.until(() => kicks.count('event') > 0, 'the event');
    // The poll is out of reach, so the only way to a trailing kick is the timer after the event.
    expect(kicks.seen[0]).toBe('event');
    await kicks.until(() => kicks.count('trailing') === 1, 'the trailing look');
  });

  it('ignores events of the other files in the folder (position, dead letters, anything else)', async () => {
    writeFileSync(queue, '');
    const kicks = new Kicks();
    await start(kicks, { trailingReadMs: 50 });
    const OTHERS = 20;
    for (let i = 0; i < OTHERS; i++) writeFileSync(join(dir, `other-${i}.txt`), 'x\n');
    writeFileSync(`${queue}.pos.tmp`, '{}');
    writeFileSync(`${queue}.dead`, 'x\n');
    appendFileSync(queue, 'A|1\n');
    // The trailing look comes 50 ms after the last event that asked for a read: every
    // event of this burst was handled by then.
    await kicks.until(() => kicks.count('trailing') > 0, 'the trailing look');
    // One append is one event, or a few on Windows; each other file would have added one.
    expect(kicks.count('event')).toBeGreaterThanOrEqual(1);
    expect(kicks.count('event')).toBeLessThanOrEqual(3);
  });

  /** Appends until one is seen by a watcher: a poll sets the watch up, and only a watcher asks with `event`. */
  async function seenByWatcher(kicks: Kicks): Promise<void> {
    const polls = (): number => kicks.count('poll') + kicks.count('wake');
    for (let i = 0; kicks.count('event') === 0; i++) {
      if (i >= 200) throw new Error(`no watcher event after ${i} appends; kicks: ${kicks.seen.join(', ')}`);
      appendFileSync(queue, `A|${i}\n`);
      const before = polls();
      await kicks.until(() => kicks.count('event') > 0 || polls() > before + 1, 'an event or two polls');
    }
  }

  it('watches a folder that appears after the start, from the next poll', async () => {
    const sub = join(dir, 'later');
    queue = join(sub, 'queue.txt');
    const kicks = new Kicks();
    const { noFolder } = await start(kicks, { pollIntervalMs: 20 });
    expect(noFolder).toEqual([sub]);
    mkdirSync(sub);
    await seenByWatcher(kicks);
  });

  // Windows keeps a watched folder "delete pending" until the watch is closed (it reports
  // an error instead, which ends the watch the same way); inotify goes silent, even for a
  // new folder that gets the old inode number (which Linux hands out at once).
  it.skipIf(ON_WINDOWS)('watches a folder again after it was deleted and made again', async () => {
    const sub = join(dir, 'again');
    queue = join(sub, 'queue.txt');
    mkdirSync(sub);
    const kicks = new Kicks();
    await start(kicks, { pollIntervalMs: 20 });
    await seenByWatcher(kicks);
    rmSync(sub, { recursive: true, force: true });
    mkdirSync(sub);
    // The old watch's last events (the file's deletion) come in before the next polls.
    const polls = kicks.count('poll') + kicks.count('wake');
    await kicks.until(() => kicks.count('poll') + kicks.count('wake') >= polls + 2, 'two polls');
    kicks.seen.length = 0;
    await seenByWatcher(kicks);
  });

  it('asks for a full read on a timed wake and on every tenth poll; other polls only ask to look', async () => {
    writeFileSync(queue, '');
    const kicks = new Kicks();
    const { triggers } = await start(kicks, { useWatcher: false, pollIntervalMs: 5 });
    await kicks.until(() => kicks.seen.length >= 2 * FULL_READ_EVERY_POLLS, 'twenty polls');
    const polls = kicks.seen.slice(0, 2 * FULL_READ_EVERY_POLLS);
    expect(polls.map((r, i) => ((i + 1) % FULL_READ_EVERY_POLLS === 0 ? r === 'wake' : r === 'poll'))).toEqual(polls.map(() => true));
    await triggers.stop();
    const woken = new Kicks();
    const { triggers: t2 } = await start(woken, { useWatcher: false });
    t2.wakeIn(1);
    await woken.until(() => woken.seen.length > 0, 'the wake');
    expect(woken.seen).toEqual(['wake']);
  });
});
