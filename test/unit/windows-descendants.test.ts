import { describe, expect, it } from 'vitest';
import { descendantsOf, parseProcessTable, survivors } from '../../bridge/supervisor/windows-descendants.js';

// What the PowerShell query prints: "pid ppid" per line, CRLF, with noise around it.
const TABLE = ['0 0', '4 0', '1200 900', '5000 1200', '5100 5000', '5200 5000', '5300 5100', '6000 1', '', 'junk line'].join('\r\n');

describe('Windows descendants', () => {
  it('parses the process table', () => {
    expect(parseProcessTable(TABLE)).toHaveLength(8);
    expect(parseProcessTable(TABLE)[2]).toEqual({ pid: 1200, ppid: 900 });
  });

  it('finds children and grandchildren of the script, not its siblings or the idle process loop', () => {
    const found = descendantsOf(5000, parseProcessTable(TABLE)).map((r) => r.pid).sort();
    expect(found).toEqual([5100, 5200, 5300]);
    expect(descendantsOf(0, parseProcessTable(TABLE)).map((r) => r.pid)).toEqual([4]);
  });

  it('after the script exited, keeps only processes with the same pid and parent (not reused pids)', () => {
    const before = descendantsOf(5000, parseProcessTable(TABLE));
    // 5100 survived (parent id unchanged, as Windows keeps it); 5200 exited; 5300's pid was reused by another parent.
    const after = parseProcessTable(['5100 5000', '5300 7777', '5400 5100'].join('\n'));
    expect(survivors(before, after)).toEqual([{ pid: 5100, ppid: 5000 }]);
  });
});
