import type { BigIntStats } from 'node:fs';
import { mkdtempSync, renameSync, rmSync, statSync, unlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { currentIdentityKey, findByIdentity, identityKey, nodeQueueFs, readSlice, statQueue, type QueueFileHandle, type QueueFs } from '../../file-ipc/queue-file.js';
import { retryBusy } from '../../file-ipc/retry.js';

const busy = (code = 'EBUSY'): Error => Object.assign(new Error(`${code}: resource busy or locked`), { code });

/** A stub fs over one in-memory file whose open fails `failures` times first. */
function stubFs(content: Buffer, failures: number, code = 'EBUSY'): { fs: QueueFs; opens: () => number; closes: () => number } {
  let opens = 0;
  let closes = 0;
  const st = { size: BigInt(content.length), dev: 1n, ino: 2n, birthtimeNs: 3n, isFile: () => true, isDirectory: () => false } as unknown as BigIntStats;
  const handle: QueueFileHandle = {
    stat: async () => st,
    read: async (buf, off, len, pos) => {
      const n = content.copy(buf, off, pos, Math.min(content.length, pos + len));
      return { bytesRead: n };
    },
    close: async () => {
      closes++;
    },
  };
  const fs: QueueFs = {
    open: async () => {
      opens++;
      if (opens <= failures) throw busy(code);
      return handle;
    },
    stat: async () => st,
    readdir: async () => [],
  };
  return { fs, opens: () => opens, closes: () => closes };
}

const sleeps: number[] = [];
const fastRetry = { sleep: async (ms: number) => void sleeps.push(ms) };

describe('readSlice with a stubbed fs (Windows sharing violations)', () => {
  beforeEach(() => void (sleeps.length = 0));

  it('retries an open refused with EBUSY while AutoHotkey appends, with growing waits', async () => {
    const s = stubFs(Buffer.from('JOB|1\r\n'), 3);
    const slice = await readSlice('/q.txt', { offset: 0, maxBytes: 1024 }, s.fs, fastRetry);
    expect(slice?.data.toString()).toBe('JOB|1\r\n');
    expect(s.opens()).toBe(4);
    expect(s.closes()).toBe(1);
    expect(sleeps).toEqual([2, 4, 8]);
  });

  for (const code of ['EPERM', 'EACCES']) {
    it(`retries ${code} too`, async () => {
      const s = stubFs(Buffer.from('x'), 1, code);
      expect((await readSlice('/q.txt', { offset: 0, maxBytes: 10 }, s.fs, fastRetry))?.data.toString()).toBe('x');
    });
  }

  it('gives up after the bounded retries and throws the busy error', async () => {
    const s = stubFs(Buffer.from('x'), 100);
    await expect(readSlice('/q.txt', { offset: 0, maxBytes: 10 }, s.fs, fastRetry)).rejects.toMatchObject({ code: 'EBUSY' });
    expect(s.opens()).toBe(7);
    expect(sleeps.reduce((a, b) => a + b, 0)).toBe(126);
  });

  it('does not retry other errors, and resolves null for a missing file', async () => {
    let n = 0;
    const fs = { ...stubFs(Buffer.alloc(0), 0).fs, open: async () => { n++; throw Object.assign(new Error('x'), { code: 'EISDIR' }); } };
    await expect(readSlice('/q.txt', { offset: 0, maxBytes: 1 }, fs, fastRetry)).rejects.toMatchObject({ code: 'EISDIR' });
    expect(n).toBe(1);
    const missing = { ...fs, open: async () => { throw Object.assign(new Error('x'), { code: 'ENOENT' }); } };
    expect(await readSlice('/q.txt', { offset: 0, maxBytes: 1 }, missing)).toBeNull();
  });

  it('reports a queue path that is a directory as EISDIR on every OS, without reading or retrying as if busy', async () => {
    const dirStats = { size: 4096n, dev: 1n, ino: 5n, birthtimeNs: 3n, isFile: () => false, isDirectory: () => true } as unknown as BigIntStats;
    // Linux and macOS: the open succeeds, the handle's fstat says directory.
    let reads = 0;
    let closes = 0;
    const opened: QueueFs = {
      ...stubFs(Buffer.alloc(0), 0).fs,
      open: async () => ({ stat: async () => dirStats, read: async () => ({ bytesRead: reads++ }), close: async () => void closes++ }),
    };
    await expect(readSlice('/q.txt', { offset: 0, maxBytes: 10 }, opened, fastRetry)).rejects.toMatchObject({ code: 'EISDIR', path: '/q.txt' });
    expect(reads).toBe(0);
    expect(closes).toBe(1);
    // Windows: the open is refused like a sharing violation; the path's stat says directory.
    const refused: QueueFs = { ...stubFs(Buffer.alloc(0), 100, 'EPERM').fs, stat: async () => dirStats };
    await expect(readSlice('/q.txt', { offset: 0, maxBytes: 10 }, refused, fastRetry)).rejects.toMatchObject({ code: 'EISDIR' });
    // A real sharing violation on a file stays what it is.
    await expect(readSlice('/q.txt', { offset: 0, maxBytes: 10 }, stubFs(Buffer.alloc(0), 100, 'EPERM').fs, fastRetry)).rejects.toMatchObject({ code: 'EPERM' });
  });

  it('closes the handle even when a read fails', async () => {
    const s = stubFs(Buffer.from('abc'), 0);
    let closed = 0;
    const fs: QueueFs = {
      ...s.fs,
      open: async () => ({
        stat: async () => ({ size: 3n, dev: 1n, ino: 1n, birthtimeNs: 1n, isDirectory: () => false }) as unknown as BigIntStats,
        read: async () => { throw new Error('EIO'); },
        close: async () => void closed++,
      }),
    };
    await expect(readSlice('/q.txt', { offset: 0, maxBytes: 3 }, fs)).rejects.toThrow('EIO');
    expect(closed).toBe(1);
  });

  it('retryBusy returns the first success', async () => {
    let calls = 0;
    expect(await retryBusy(async () => (++calls < 2 ? Promise.reject(busy()) : 'ok'), fastRetry)).toBe('ok');
  });
});

describe('identityKey', () => {
  const stats = (birthtimeNs: bigint): BigIntStats => ({ dev: 0x2an, ino: 0x1000000000001n, birthtimeNs }) as unknown as BigIntStats;

  it('keys on device, inode and creation time off Windows', () => {
    expect(identityKey(stats(5n), 'linux')).toBe('2a-1000000000001-5');
    expect(identityKey(stats(6n), 'linux')).not.toBe(identityKey(stats(5n), 'linux'));
  });

  it('leaves the creation time out on Windows: NTFS tunnels it and Wine reports the last write', () => {
    expect(identityKey(stats(5n), 'win32')).toBe('2a-1000000000001');
    expect(identityKey(stats(6n), 'win32')).toBe(identityKey(stats(5n), 'win32'));
  });

  it('reads a position saved with the older three-part key as the current key', () => {
    expect(currentIdentityKey('2a-1000000000001-5', 'win32')).toBe('2a-1000000000001');
    expect(currentIdentityKey('2a-1000000000001', 'win32')).toBe('2a-1000000000001');
    expect(currentIdentityKey('2a-1000000000001-5', 'linux')).toBe('2a-1000000000001-5');
  });
});

describe('readSlice on a real file', () => {
  let dir: string;
  beforeEach(() => void (dir = mkdtempSync(join(tmpdir(), 'qf-'))));
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('reads the newline probed before the offset and the data after it in one read, into the buffer given', async () => {
    const f = join(dir, 'q.txt');
    writeFileSync(f, 'A|1\nB|2\nC|3\n');
    const reads: Array<[number, number]> = [];
    const fs: QueueFs = {
      ...nodeQueueFs,
      open: async (path, flags) => {
        const h = await nodeQueueFs.open(path, flags);
        return { stat: (o) => h.stat(o), close: () => h.close(), read: (buf, off, len, pos) => (reads.push([pos, len]), h.read(buf, off, len, pos)) };
      },
    };
    const into = Buffer.alloc(16, 0x2a);
    const s = await readSlice(f, { offset: 4, maxBytes: 8, headBytes: 2, probe: { position: 3, length: 1 }, into }, fs);
    expect(reads).toEqual([[0, 2], [3, 9]]); // the head, then probe and data together
    expect(s!.probe!.toString()).toBe('\n');
    expect(s!.data.toString()).toBe('B|2\nC|3\n');
    expect(s!.data.buffer).toBe(into.buffer); // a view of the buffer given, no new one
    // The probe is the slice's own: the next read into the same buffer leaves it alone.
    into.fill(0);
    expect(s!.probe!.toString()).toBe('\n');
    // A buffer too small for what is read is left alone.
    const small = Buffer.alloc(4, 0x2a);
    const t = await readSlice(f, { offset: 4, maxBytes: 8, probe: { position: 3, length: 1 }, into: small }, fs);
    expect(t!.data.toString()).toBe('B|2\nC|3\n');
    expect(small.toString()).toBe('****');
  });

  it('reads data from an offset, the head and a probe in one open', async () => {
    const f = join(dir, 'q.txt');
    writeFileSync(f, 'A|1\nB|2\nC|3\n');
    const s = await readSlice(f, { offset: 4, maxBytes: 4, headBytes: 64, probe: { position: 3, length: 1 } });
    expect(s).toMatchObject({ size: 12 });
    expect(s!.data.toString()).toBe('B|2\n');
    expect(s!.head.toString()).toBe('A|1\nB|2\nC|3\n');
    expect(s!.probe!.toString()).toBe('\n');
    const past = await readSlice(f, { offset: 12, maxBytes: 100 });
    expect(past!.data.length).toBe(0);
  });

  // Off Windows only: there the key leaves the creation time out, and the tailer's
  // first-bytes check tells a re-created file apart (file-ipc-tailer tests, both lanes).
  it.skipIf(process.platform === 'win32')('gives a re-created file a new identity even when the inode number is reused', async () => {
    const f = join(dir, 'q.txt');
    writeFileSync(f, 'a');
    const first = await statQueue(f);
    const ino = statSync(f).ino;
    unlinkSync(f);
    writeFileSync(f, 'b');
    const second = await statQueue(f);
    expect(second!.identity).not.toBe(first!.identity);
    // Documents why the creation time is part of the key: ext4/tmpfs reuse the number at once.
    if (statSync(f).ino === ino) expect(second!.identity.split('-')[1]).toBe(first!.identity.split('-')[1]);
  });

  it('finds a rotated file by identity in the same folder, skipping excluded names', async () => {
    const f = join(dir, 'queue.txt');
    writeFileSync(f, 'x');
    writeFileSync(join(dir, 'other.txt'), 'y');
    const key = identityKey(statSync(f, { bigint: true }));
    renameSync(f, join(dir, 'queue.txt.1'));
    writeFileSync(f, '');
    expect(await findByIdentity(f, key)).toBe(join(dir, 'queue.txt.1'));
    expect(await findByIdentity(f, key, [join(dir, 'queue.txt.1')])).toBeNull();
    expect(await findByIdentity(join(dir, 'nope', 'q.txt'), key)).toBeNull();
  });
});
