import { mkdtempSync, readFileSync, rmSync, writeFileSync, mkdirSync, existsSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { Logger } from '../../src/log/logger.js';
import { PositionStore, type PositionFs, type QueuePosition } from '../../file-ipc/position-store.js';
import { FOLDER_LINKS } from '../helpers/platform.js';

const POS: QueuePosition = {
  identity: 'fe00-20c0ca-18e2f0a1b2c3d4e5',
  generation: 2,
  offset: 1234,
  state: { encoding: 'utf-16le', source: 'bom', midLine: false },
  atNewline: true,
  head: Buffer.from('JOB|1\n').toString('base64'),
};

function capture(): { log: Logger; lines: string[] } {
  const lines: string[] = [];
  return { log: new Logger({ level: 'debug', sink: { write: (l) => lines.push(l) } }), lines };
}

const noWait = { sleep: async () => undefined };

describe('PositionStore', () => {
  let dir: string;
  let queue: string;
  let posFile: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'pos-'));
    queue = join(dir, 'queue.txt');
    posFile = join(dir, 'queue.txt.pos');
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('saves and loads a position, with the queue path inside', async () => {
    const { log } = capture();
    const store = new PositionStore(posFile, queue, log);
    expect(await store.load()).toBeNull();
    await store.save(POS);
    expect(await store.load()).toEqual(POS);
    const doc = JSON.parse(readFileSync(posFile, 'utf8'));
    expect(doc).toMatchObject({ version: 1, queue, offset: 1234 });
    expect(existsSync(`${posFile}.tmp`)).toBe(false);
  });

  it.skipIf(!FOLDER_LINKS)('loads a position saved under another spelling of the same file: a symlinked or junctioned folder', async () => {
    writeFileSync(queue, 'JOB|1\n');
    const link = join(dir, 'linked');
    symlinkSync(dir, link, 'junction');
    const { log, lines } = capture();
    await new PositionStore(posFile, queue, log).save(POS);
    // The same queue reached through the link: not another queue's position.
    expect(await new PositionStore(posFile, join(link, 'queue.txt'), log).load()).toEqual(POS);
    // A file elsewhere of the same name still is another queue's.
    const other = join(dir, 'sub');
    mkdirSync(other);
    writeFileSync(join(other, 'queue.txt'), 'JOB|1\n');
    expect(await new PositionStore(posFile, join(other, 'queue.txt'), log).load()).toBeNull();
    expect(lines.join('')).toMatch(/unusable.*another queue/);
  });

  it('writes a temp file and renames it over the old one (never a half-written position)', async () => {
    const ops: string[] = [];
    const files = new Map<string, string>();
    const fs: PositionFs = {
      readFile: async (p) => {
        const v = files.get(p);
        if (v === undefined) throw Object.assign(new Error('nope'), { code: 'ENOENT' });
        return v;
      },
      writeFile: async (p, d) => {
        ops.push(`write ${p.slice(dir.length + 1)}`);
        files.set(p, d);
      },
      rename: async (a, b) => {
        ops.push(`rename ${a.slice(dir.length + 1)} -> ${b.slice(dir.length + 1)}`);
        files.set(b, files.get(a)!);
        files.delete(a);
      },
    };
    const store = new PositionStore(posFile, queue, capture().log, fs);
    await store.save(POS);
    expect(ops).toEqual(['write queue.txt.pos.tmp', 'rename queue.txt.pos.tmp -> queue.txt.pos']);
    expect(await store.load()).toEqual(POS);
  });

  it('keeps the previous position when the rename fails, and rejects', async () => {
    const { log } = capture();
    await new PositionStore(posFile, queue, log).save(POS);
    const failing: PositionFs = {
      readFile: async (p) => readFileSync(p, 'utf8'),
      writeFile: async (p, d) => writeFileSync(p, d),
      rename: async () => {
        throw Object.assign(new Error('disk gone'), { code: 'EIO' });
      },
    };
    await expect(new PositionStore(posFile, queue, log, failing).save({ ...POS, offset: 9999 })).rejects.toThrow('disk gone');
    expect(await new PositionStore(posFile, queue, log).load()).toEqual(POS);
  });

  it('retries a rename that Windows refuses with EPERM while the target is open', async () => {
    let refusals = 2;
    const fs: PositionFs = {
      readFile: async (p) => readFileSync(p, 'utf8'),
      writeFile: async (p, d) => writeFileSync(p, d),
      rename: async (a, b) => {
        if (refusals-- > 0) throw Object.assign(new Error('EPERM'), { code: 'EPERM' });
        const { renameSync } = await import('node:fs');
        renameSync(a, b);
      },
    };
    await new PositionStore(posFile, queue, capture().log, fs, noWait).save(POS);
    expect(refusals).toBe(-1);
    expect(await new PositionStore(posFile, queue, capture().log).load()).toEqual(POS);
  });

  const corrupt: Array<[string, string]> = [
    ['garbage', '{"version":1,"queue":'],
    ['empty file (power loss)', ''],
    ['not an object', '[1,2,3]'],
    ['wrong version', JSON.stringify({ ...POS, version: 99 })],
    ['negative offset', JSON.stringify({ version: 1, queue: 'QUEUE', ...POS, offset: -5 })],
    ['bad state', JSON.stringify({ version: 1, queue: 'QUEUE', ...POS, state: { encoding: 'x' } })],
    ["another queue's file", JSON.stringify({ version: 1, queue: '/elsewhere/other.txt', ...POS })],
  ];
  for (const [name, text] of corrupt) {
    it(`treats a corrupted position file (${name}) as no position, with a warning`, async () => {
      writeFileSync(posFile, text.replace('QUEUE', queue.replace(/\\/g, '\\\\')));
      const { log, lines } = capture();
      expect(await new PositionStore(posFile, queue, log).load()).toBeNull();
      expect(lines.join('')).toMatch(/WARNING .*queue position file is (corrupted|unusable); starting from the beginning/);
    });
  }

  it('treats an unreadable position file as no position, with a warning', async () => {
    mkdirSync(posFile);
    const { log, lines } = capture();
    expect(await new PositionStore(posFile, queue, log).load()).toBeNull();
    expect(lines.join('')).toMatch(/cannot read queue position file/);
  });
});
