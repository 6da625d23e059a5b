import { describe, expect, it } from 'vitest';
import { descendantsOf, parseProcessTable, survivors, type ProcessRow } from '../../bridge/supervisor/windows-descendants.js';
import {
  decodeToolOutput,
  fallbackLister,
  listWindowsProcesses,
  parseWmicTable,
  ProcessListingError,
  type ListingMethod,
} from '../../bridge/supervisor/windows-process-list.js';

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

describe('Windows process listing', () => {
  // What Wine's wmic wrote to a file: UTF-16LE with a BOM, columns in alphabetical order.
  const WINE_WMIC = Buffer.concat([
    Buffer.from([0xff, 0xfe]),
    Buffer.from('ParentProcessIDProcessID\r\n0    32   \r\n32   40   \r\n4321 5000 \r\n', 'utf16le'),
  ]);
  // Real Windows' wmic into a pipe: ANSI with "\r\r\n" line ends and trailing blanks.
  const WINDOWS_WMIC = Buffer.from('ParentProcessId  ProcessId  \r\r\n0                0          \r\r\n0                4          \r\r\n4321             5000       \r\r\n\r\r\n', 'latin1');

  it('decodes and parses wmic tables as Wine and Windows write them', () => {
    expect(parseWmicTable(decodeToolOutput(WINE_WMIC))).toEqual([
      { pid: 32, ppid: 0 },
      { pid: 40, ppid: 32 },
      { pid: 5000, ppid: 4321 },
    ]);
    expect(parseWmicTable(decodeToolOutput(WINDOWS_WMIC))).toEqual([
      { pid: 0, ppid: 0 },
      { pid: 4, ppid: 0 },
      { pid: 5000, ppid: 4321 },
    ]);
    expect(parseWmicTable('No Instance(s) Available.')).toEqual([]);
  });

  const method = (name: string, result: () => ProcessRow[]): ListingMethod & { calls: number } => {
    const m = {
      name,
      calls: 0,
      list: async () => {
        m.calls++;
        return result();
      },
    };
    return m;
  };

  it('falls back past a missing tool and a stub that prints nothing, then keeps the one that worked', async () => {
    const wmic = method('wmic', () => {
      throw new Error("spawn wmic.exe ENOENT\nmore");
    });
    const cscript = method('cscript', () => []);
    const ps = method('powershell', () => [{ pid: 5000, ppid: 4321 }]);
    const list = fallbackLister([wmic, cscript, ps], 5000);
    expect(await list()).toEqual([{ pid: 5000, ppid: 4321 }]);
    expect(list.method()).toBe('powershell');
    await list();
    expect([wmic.calls, cscript.calls, ps.calls]).toEqual([1, 1, 2]);
  });

  it('says what each way did when none works', async () => {
    const list = fallbackLister(
      [
        method('wmic', () => {
          throw new Error('spawn wmic.exe ENOENT');
        }),
        method('powershell', () => [{ pid: 1, ppid: 0 }]),
      ],
      5000,
    );
    const err = await list().then(
      () => null,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(ProcessListingError);
    expect((err as Error).message).toBe('cannot list processes on this machine (wmic failed: spawn wmic.exe ENOENT; powershell answered 1 rows without this process)');
  });
});

describe.runIf(process.platform === 'win32')('Windows process listing on this machine', () => {
  it('lists this process and its parent with the first way that works', async () => {
    const rows = await listWindowsProcesses();
    expect(rows.find((r) => r.pid === process.pid)).toEqual({ pid: process.pid, ppid: process.ppid });
  });
});
