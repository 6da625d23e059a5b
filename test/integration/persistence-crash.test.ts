/**
 * The journal across processes: the lock against a live broker in another process, the
 * takeover of a killed one's lock, and SIGKILL at random moments of a child appending
 * with fsync `always` (while compactions race its appends): nothing whose append
 * resolved is ever lost.
 */
import { spawn, type ChildProcessByStdio } from 'node:child_process';
import { createInterface } from 'node:readline';
import type { Readable } from 'node:stream';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { PersistenceError } from '../../src/broker/persistence/index.js';
import { openJournal, useTempDirs } from '../helpers/journal-bed.js';
import { Rng } from '../helpers/fuzz/prng.js';
import { ON_WINDOWS } from '../helpers/platform.js';
import { jsonValue } from '../../src/protocol/raw-json.js';

const CHILD = fileURLToPath(new URL('../helpers/journal-child.mjs', import.meta.url));
const tempDir = useTempDirs();

type Child = ChildProcessByStdio<null, Readable, Readable> & { exited: Promise<unknown>; stderr_: () => string };

/** Start the child; `onLine` sees each stdout line. */
function startChild(args: string[], onLine: (line: string) => void, stdin: 'ignore' | 'pipe' = 'ignore'): Child {
  const child = spawn(process.execPath, [CHILD, ...args], { stdio: [stdin, 'pipe', 'pipe'] }) as unknown as Child;
  let err = '';
  child.stderr.setEncoding('utf8').on('data', (d: string) => (err += d));
  child.stderr_ = () => err;
  child.exited = new Promise((resolve) => child.on('exit', resolve));
  createInterface({ input: child.stdout }).on('line', onLine);
  return child;
}

/** Resolves when `ready()` holds after a line; rejects if the child exits first or `ms` pass. */
function waitFor(child: Child, ready: () => boolean, what: string, ms: number): Promise<void> {
  return new Promise((resolve, reject) => {
    const done = (err?: Error): void => {
      clearTimeout(timer);
      child.stdout.off('data', onData);
      child.off('exit', onExit);
      if (err) reject(err);
      else resolve();
    };
    const timer = setTimeout(() => done(new Error(`child ${child.pid}: no ${what} within ${ms} ms\n${child.stderr_()}`)), ms);
    // After readline has handed out the lines of this chunk.
    const onData = (): void => {
      setImmediate(() => {
        if (ready()) done();
      });
    };
    const onExit = (): void => done(ready() ? undefined : new Error(`child ${child.pid} exited before ${what}\n${child.stderr_()}`));
    child.stdout.on('data', onData);
    child.on('exit', onExit);
  });
}

// Starting a process takes seconds under Wine: a wider budget, and half the rounds there
// (the Windows lane's share of CI's time; what Windows changes, file locking and renames
// of open files, is met in the first rounds: every round kills mid-append).
const START_MS = ON_WINDOWS ? 60_000 : 15_000;
const ROUNDS = ON_WINDOWS ? 12 : 24;

describe('persistence across processes', () => {
  it('refuses a directory another live broker holds, naming its pid, and takes it over once that one is killed', async () => {
    const dir = tempDir();
    const lines: string[] = [];
    const holder = startChild(['hold', dir], (l) => lines.push(l), 'pipe');
    await waitFor(holder, () => lines.includes('ready'), 'ready', START_MS);

    const err = await openJournal(dir).then(
      async (o) => {
        await o.journal.close();
        return null;
      },
      (e: unknown) => e as PersistenceError,
    );
    expect(err).toBeInstanceOf(PersistenceError);
    expect(err!.code).toBe('LOCKED');
    expect(err!.message).toContain(`in use by another broker: pid ${holder.pid} holds`);

    holder.kill('SIGKILL');
    await holder.exited;
    const o = await openJournal(dir);
    expect(o.at('warning')).toEqual([expect.objectContaining({ msg: expect.stringMatching(/^taking over the persistence lock/), stale_pid: holder.pid })]);
    await o.journal.close();
  }, 2 * START_MS);

  it(`never loses an append that resolved, SIGKILLed at ${ROUNDS} random moments (fsync always, compactions racing)`, async () => {
    const SEED = 20_260_111;
    const rng = new Rng(SEED); // seeded, so a failing round can be replayed
    const dir = tempDir();
    const enqueued = new Set<number>();
    const lastRetained = new Map<number, number>(); // topic r/<k> -> last n reported
    let totalKilledAfter = 0;
    for (let round = 0; round < ROUNDS; round++) {
      const killAfter = 1 + rng.int(0, 149);
      let oks = 0;
      let start = -1;
      const child = startChild(['append', dir, 'always'], (line) => {
        const ready = /^ready (\d+)$/.exec(line);
        if (ready) start = Number(ready[1]);
        const ok = /^ok (enqueue|retain) (\d+)$/.exec(line);
        if (!ok) return;
        oks++;
        const n = Number(ok[2]);
        if (ok[1] === 'enqueue') enqueued.add(n);
        else lastRetained.set(n % 5, Math.max(n, lastRetained.get(n % 5) ?? -1));
      });
      await waitFor(child, () => oks >= killAfter, `${killAfter} resolved appends (round ${round}, seed ${SEED})`, START_MS);
      child.kill('SIGKILL');
      await child.exited;
      totalKilledAfter += oks;

      const o = await openJournal(dir);
      const label = `round ${round} (seed ${SEED}, killed after ${killAfter} reports)`;
      const present = (o.state.sessions.get('c')?.pending ?? []).map((m) => Number(m.id.slice(1)));
      // The child numbered on from what it found: the previous round lost nothing it had written.
      expect(start, label).toBeGreaterThanOrEqual(0);
      for (const n of enqueued) expect(present.includes(n), `${label}: m${n} resolved, then lost`).toBe(true);
      // Appends reach the disk in order: what survived is a prefix, with no gap.
      expect(present, label).toEqual(Array.from({ length: present.length }, (_, i) => i));
      for (const [k, n] of lastRetained) {
        // A stored payload comes back as the text it was stored in.
        const payload = jsonValue(o.state.retained.get(`r/${k}`)?.payload) as { n: number } | undefined;
        expect(payload?.n, `${label}: retained r/${k}`).toBeGreaterThanOrEqual(n);
      }
      await o.journal.close();
    }
    expect(enqueued.size).toBeGreaterThan(ROUNDS);
    expect(totalKilledAfter).toBeGreaterThanOrEqual(ROUNDS);
  }, ROUNDS * START_MS);
});
