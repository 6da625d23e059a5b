/**
 * The rotating log file: every line lands whole in exactly one file, the newest rotated
 * file is .1, the oldest beyond `keep` is gone, and a rotation that cannot happen is
 * reported once while lines keep landing in the current file.
 */
import { mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { RotatingFileSink, rotatedName } from '../../src/log/rotating-file-sink.js';

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(path.join(os.tmpdir(), 'rotating-log-'));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

const read = (name: string): string => readFileSync(path.join(dir, name), 'utf8');
const line = (n: number): string => `line ${String(n).padStart(4, '0')} ${'x'.repeat(20)}\n`; // 31 bytes

describe('RotatingFileSink', () => {
  it('names rotated files before the extension, so they still open as .log', () => {
    expect(rotatedName('C:/logs/bridge.log', 1)).toBe('C:/logs/bridge.1.log');
    expect(rotatedName('/var/log/bridge', 3)).toBe('/var/log/bridge.3');
  });

  it('creates the folder, appends to what is there, and rotates before a line would pass the limit', () => {
    const file = path.join(dir, 'logs', 'deep', 'bridge.log');
    mkdirSync(path.dirname(file), { recursive: true });
    writeFileSync(file, line(0));
    const sink = new RotatingFileSink(file, { maxBytes: 100, keep: 3 });
    for (let n = 1; n <= 12; n++) sink.write(line(n));
    sink.close();
    const logs = path.join('logs', 'deep');
    // 3 lines (93 bytes) fit in 100; the 4th starts a new file. Lines 0-2, 3-5, 6-8, 9-11,
    // 12: the oldest group went past keep=3.
    expect(read(path.join(logs, 'bridge.log'))).toBe(line(12));
    expect(read(path.join(logs, 'bridge.1.log'))).toBe(line(9) + line(10) + line(11));
    expect(read(path.join(logs, 'bridge.2.log'))).toBe(line(6) + line(7) + line(8));
    expect(read(path.join(logs, 'bridge.3.log'))).toBe(line(3) + line(4) + line(5));
    expect(readdirSync(path.join(dir, logs)).sort()).toEqual(['bridge.1.log', 'bridge.2.log', 'bridge.3.log', 'bridge.log']);
  });

  it('a line longer than the limit is written whole, alone in its file', () => {
    const file = path.join(dir, 'bridge.log');
    const sink = new RotatingFileSink(file, { maxBytes: 10, keep: 1 });
    sink.write('short\n');
    sink.write('a line much longer than ten bytes\n');
    sink.write('next\n');
    sink.close();
    expect(read('bridge.1.log')).toBe('a line much longer than ten bytes\n');
    expect(read('bridge.log')).toBe('next\n');
  });

  it('keep 0 starts the file again', () => {
    const file = path.join(dir, 'bridge.log');
    const sink = new RotatingFileSink(file, { maxBytes: 40, keep: 0 });
    for (let n = 1; n <= 3; n++) sink.write(line(n));
    sink.close();
    expect(read('bridge.log')).toBe(line(3));
    expect(readdirSync(dir)).toEqual(['bridge.log']);
  });

  it('when rotation fails it says so once and keeps every line in the current file', () => {
    const file = path.join(dir, 'bridge.log');
    // A non-empty folder where bridge.1.log must go: the rename fails, as it does on
    // Windows when another program holds the file without sharing it.
    mkdirSync(path.join(dir, 'bridge.1.log'));
    writeFileSync(path.join(dir, 'bridge.1.log', 'keep'), '');
    const troubles: string[] = [];
    const sink = new RotatingFileSink(file, { maxBytes: 62, keep: 1, onTrouble: (msg, err) => troubles.push(`${msg}: ${(err as NodeJS.ErrnoException).code}`) });
    for (let n = 1; n <= 6; n++) sink.write(line(n));
    expect(troubles).toHaveLength(1);
    expect(troubles[0]).toMatch(/^cannot rotate the log file .*bridge\.log; it grows past its limit until rotation succeeds: E/);
    expect(read('bridge.log')).toBe([1, 2, 3, 4, 5, 6].map(line).join(''));
    // Once the way is clear, the next attempt (after another file's worth) rotates.
    rmSync(path.join(dir, 'bridge.1.log'), { recursive: true });
    for (let n = 7; n <= 8; n++) sink.write(line(n));
    sink.close();
    expect(read('bridge.1.log')).toBe([1, 2, 3, 4, 5, 6].map(line).join(''));
    expect(read('bridge.log')).toBe(line(7) + line(8));
  });

  // Windows cannot remove the folder of a file still open; the reopen path is the same code.
  it.skipIf(process.platform === 'win32')('a log that cannot be reopened drops lines, and picks up again once it can (one try a second)', () => {
    vi.useFakeTimers({ now: 0, toFake: ['Date'] });
    try {
      const logs = path.join(dir, 'logs');
      const file = path.join(logs, 'bridge.log');
      const troubles: string[] = [];
      const sink = new RotatingFileSink(file, { maxBytes: 62, keep: 1, onTrouble: (msg) => troubles.push(msg) });
      sink.write(line(1));
      sink.write(line(2));
      // The folder is gone and a file stands in its way: neither rotation nor reopening works.
      rmSync(logs, { recursive: true });
      writeFileSync(logs, 'in the way');
      sink.write(line(3));
      sink.write(line(4));
      rmSync(logs);
      sink.write(line(5)); // within the second: not tried again yet
      vi.setSystemTime(1500);
      sink.write(line(6));
      sink.close();
      sink.write(line(7)); // closed on purpose: dropped, nothing reopened
      expect(troubles).toHaveLength(1);
      expect(read(path.join('logs', 'bridge.log'))).toBe(line(6));
    } finally {
      vi.useRealTimers();
    }
  });

  it('a file that cannot be opened throws with the path', () => {
    writeFileSync(path.join(dir, 'a-file'), '');
    expect(() => new RotatingFileSink(path.join(dir, 'a-file', 'bridge.log'))).toThrow(/a-file/);
  });
});
