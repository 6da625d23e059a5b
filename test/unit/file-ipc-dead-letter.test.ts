import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { DeadLetterFile, formatDeadLetter } from '../../file-ipc/dead-letter.js';

describe('dead letters', () => {
  it('formats one line per entry: time, queue_id, reason, raw (escaped)', () => {
    const time = new Date('2024-05-01T10:00:00.000Z');
    expect(formatDeadLetter({ time, queueId: 'id:7', reason: 'no "|"\tx', raw: 'a\tb\\c\rd' })).toBe(
      '2024-05-01T10:00:00.000Z\tid:7\tno "|" x\ta\tb\\\\c\\rd\n',
    );
  });

  it('appends a batch with one open-append-close, retrying EBUSY, and counts', async () => {
    const calls: string[] = [];
    let refusals = 1;
    const dl = new DeadLetterFile('/q.dead', async (path, data) => {
      if (refusals-- > 0) throw Object.assign(new Error('busy'), { code: 'EBUSY' });
      calls.push(`${path}:${data.split('\n').length - 1}`);
    }, { sleep: async () => undefined });
    await dl.write([{ raw: 'A', reason: 'r', queueId: '1' }, { raw: 'B', reason: 'r', queueId: '2' }]);
    await dl.write([]);
    expect(calls).toEqual(['/q.dead:2']);
    expect(dl.written).toBe(2);
  });

  it('appends to a real file in UTF-8', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'dl-'));
    try {
      const dl = new DeadLetterFile(join(dir, 'q.txt.dead'));
      await dl.write([{ raw: 'Müller ✓', reason: 'no "|" between topic and payload', queueId: 'x:0' }]);
      await dl.write([{ raw: 'system.x|1', reason: 'reserved topic "system.x"', queueId: 'x:12' }]);
      const lines = readFileSync(join(dir, 'q.txt.dead'), 'utf8').trimEnd().split('\n').map((l) => l.split('\t').slice(1));
      expect(lines).toEqual([
        ['x:0', 'no "|" between topic and payload', 'Müller ✓'],
        ['x:12', 'reserved topic "system.x"', 'system.x|1'],
      ]);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
