import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { LOCK_FILE, PersistenceError } from '../../src/broker/persistence/index.js';
import { TestJournalFs } from '../helpers/journal-fs.js';
import { openJournal, useTempDirs } from '../helpers/journal-bed.js';

const tempDir = useTempDirs();

const lockOf = (pid: number, host = hostname()): string =>
  JSON.stringify({ pid, hostname: host, startedAt: '2026-01-01T00:00:00.000Z', token: 'someone-else' }) + '\n';

async function openError(dir: string, options = {}): Promise<PersistenceError> {
  const err = await openJournal(dir, options).then(
    async (o) => {
      await o.journal.close();
      return null;
    },
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(PersistenceError);
  return err as PersistenceError;
}

describe('Journal: the directory lock', () => {
  it('refuses a second open in the same process, naming the pid, until the first closes', async () => {
    const dir = tempDir();
    const first = await openJournal(dir);
    const lock = JSON.parse(readFileSync(join(dir, LOCK_FILE), 'utf8')) as { pid: number };
    expect(lock.pid).toBe(process.pid);
    const err = await openError(dir);
    expect(err.code).toBe('LOCKED');
    expect(err.message).toBe(`persistence directory ${dir} is already open in this process (pid ${process.pid})`);
    await first.journal.close();
    expect(existsSync(join(dir, LOCK_FILE))).toBe(false);
    const second = await openJournal(dir);
    await second.journal.close();
  });

  it('takes over a lock with this process\'s pid that this process does not hold (a container restart as pid 1)', async () => {
    const dir = tempDir();
    writeFileSync(join(dir, LOCK_FILE), lockOf(process.pid));
    const o = await openJournal(dir);
    expect(o.at('warning')).toEqual([expect.objectContaining({ stale_pid: process.pid })]);
    expect(JSON.parse(readFileSync(join(dir, LOCK_FILE), 'utf8'))).not.toMatchObject({ token: 'someone-else' });
    await o.journal.close();
  });

  it('refuses a lock held on another host, saying which and what to do, and leaves it alone', async () => {
    const dir = tempDir();
    writeFileSync(join(dir, LOCK_FILE), lockOf(4242, 'other-machine'));
    const err = await openError(dir);
    expect(err.code).toBe('LOCKED');
    expect(err.message).toContain('locked by pid 4242 on host other-machine');
    expect(err.message).toContain(`delete ${join(dir, LOCK_FILE)}`);
    expect(readFileSync(join(dir, LOCK_FILE), 'utf8')).toBe(lockOf(4242, 'other-machine'));
  });

  it('takes over a lock file that stays unreadable (its owner died between creating and writing it)', async () => {
    const dir = tempDir();
    writeFileSync(join(dir, LOCK_FILE), '');
    const o = await openJournal(dir);
    expect(o.at('warning')).toEqual([expect.objectContaining({ msg: 'persistence lock file is unreadable; taking it over' })]);
    await o.journal.close();
  });

  it('reports a lock that cannot be created with the system\'s reason', async () => {
    const fs = new TestJournalFs();
    fs.fail('open', 'EACCES', { file: /^journal\.lock$/ });
    const err = await openError(tempDir(), { fs });
    expect(err.code).toBe('EACCES');
    expect(err.reason).toMatch(/^permission denied \(EACCES\) while creating the lock file .*journal\.lock$/);
  });

  it('releases the lock when the open fails after taking it', async () => {
    const fs = new TestJournalFs();
    const dir = tempDir();
    fs.fail('readdir', 'EIO', { times: 1 });
    const err = await openError(dir, { fs });
    expect(err.code).toBe('EIO');
    expect(existsSync(join(dir, LOCK_FILE))).toBe(false);
    const o = await openJournal(dir);
    await o.journal.close();
  });
});
