import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { CommandNotSentError, MAX_HELD, ReadyGate } from '../../bridge/supervisor/ready-gate.js';
import { silentLogger } from '../../src/log/logger.js';

describe('ReadyGate', () => {
  let written: string[];
  let accept: boolean;
  const gate = (timeoutMs = 1000): ReadyGate => new ReadyGate('k', timeoutMs, (line) => accept && written.push(line) > 0, silentLogger());
  beforeEach(() => {
    vi.useFakeTimers();
    written = [];
    accept = true;
  });
  afterEach(() => vi.useRealTimers());

  it('holds lines until open, then writes them in order; later lines go at once', async () => {
    const g = gate();
    const first = g.submit('a\n');
    const second = g.submit('b\n');
    expect(written).toEqual([]);
    g.open();
    await Promise.all([first, second]);
    await g.submit('c\n');
    expect(written).toEqual(['a\n', 'b\n', 'c\n']);
  });

  it(`holds at most ${MAX_HELD} lines; more are refused at once`, async () => {
    const g = gate();
    const held = Array.from({ length: MAX_HELD }, (_, i) => g.submit(`${i}\n`));
    await expect(g.submit('one too many\n')).rejects.toThrow(/already holds 1000 commands/);
    g.open();
    await Promise.all(held);
    expect(written).toHaveLength(MAX_HELD);
  });

  it('after the timeout fails what it held and refuses more, until the script says ready', async () => {
    const g = gate(500);
    const held = g.submit('early\n');
    vi.advanceTimersByTime(500);
    await expect(held).rejects.toBeInstanceOf(CommandNotSentError);
    await expect(g.submit('later\n')).rejects.toThrow(/has not reported ready within 0.5 s/);
    g.open();
    await g.submit('after ready\n');
    expect(written).toEqual(['after ready\n']);
  });

  it('fails held lines when the script exits, and a write the script refuses', async () => {
    const g = gate();
    const held = g.submit('x\n');
    g.close();
    await expect(held).rejects.toThrow(/exited before it was ready/);
    const g2 = gate();
    g2.open();
    accept = false;
    await expect(g2.submit('y\n')).rejects.toThrow(/not reading its stdin/);
  });
});
