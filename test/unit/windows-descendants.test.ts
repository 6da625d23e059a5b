import { describe, expect, it } from 'vitest';
import { BASELINE_RETRY_MS, baselineTaker } from '../../bridge/supervisor/spawn-baseline.js';
import { descendantsOf, parseProcessTable, parseWmiDate, survivors, type ProcessRow } from '../../bridge/supervisor/windows-descendants.js';
import {
  decodeToolOutput,
  fallbackLister,
  listWindowsProcesses,
  parseWmicTable,
  ProcessListingError,
  WINDOWS_LISTING_METHODS,
  type ListingMethod,
  type WindowsLister,
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

  it('reads WMI datetimes, which are local time with their offset from UTC in minutes', () => {
    const utc = Date.UTC(2026, 11, 2, 7, 15, 30, 250);
    expect(parseWmiDate('20261202081530.250000+060')).toBe(utc);
    expect(parseWmiDate('20261202021530.250000-300')).toBe(utc);
    expect(parseWmiDate('20261202071530.250500+000')).toBe(utc + 0.5);
    for (const bad of [undefined, '', 'null', '20261202071530+000', '2026120207153.250000+000']) expect(parseWmiDate(bad)).toBeUndefined();
  });

  // Explorer (3000) outlived the userinit.exe that started it as pid 5000; the script was
  // then given pid 5000. Explorer and what it started name 5000 as their parent.
  const STALE = [
    '3000 5000 20261202070000.000000+060',
    '3100 3000 20261202070500.000000+060',
    '5000 900 20261202080000.000000+060',
    '5100 5000 20261202080001.000000+060',
    '5200 5100 20261202080002.000000+060',
    '5300 5000 20261202080000.000000+060',
    '5400 5000',
  ].join('\r\n');

  it('with creation times, a process older than the script is not its child, nor is what that process started', () => {
    const rows = parseProcessTable(STALE);
    expect(rows[0]).toEqual({ pid: 3000, ppid: 5000, created: Date.UTC(2026, 11, 2, 6, 0, 0) });
    // 5300 started in the same microsecond as the script: a child. 5400 has no time, so
    // nothing shows it is younger than the script, unless a listing from before does.
    expect(descendantsOf(5000, rows).map((r) => r.pid)).toEqual([5100, 5300, 5200]);
    const before = rows.filter((r) => r.pid < 5000);
    expect(descendantsOf(5000, rows, before).map((r) => r.pid)).toEqual([5100, 5300, 5400, 5200]);
  });

  it('without creation times, what was running before the script started is not its child, nor is what that started', () => {
    const rows = parseProcessTable(['32 0', '56 40', '76 56', '200 56', '40 900', '300 40', '310 300'].join('\n'));
    const before = parseProcessTable(['32 0', '56 40', '76 56', '200 56'].join('\n'));
    expect(descendantsOf(40, rows, before).map((r) => r.pid)).toEqual([300, 310]);
    // What the earlier listing prevents: Wine's services.exe (56) and its services taken for the script's.
    expect(descendantsOf(40, rows).map((r) => r.pid).sort()).toEqual([200, 300, 310, 56, 76]);
  });

  it('after the script exited, keeps only processes with the same pid and parent (not reused pids)', () => {
    const before = descendantsOf(5000, parseProcessTable(TABLE));
    // 5100 survived (parent id unchanged, as Windows keeps it); 5200 exited; 5300's pid was reused by another parent.
    const after = parseProcessTable(['5100 5000', '5300 7777', '5400 5100'].join('\n'));
    expect(survivors(before, after)).toEqual([{ pid: 5100, ppid: 5000 }]);
    // With creation times, the same pid and parent started anew is not a survivor.
    const dated = [{ pid: 5100, ppid: 5000, created: 1 }];
    expect(survivors(dated, [{ pid: 5100, ppid: 5000, created: 2 }])).toEqual([]);
    expect(survivors(dated, [{ pid: 5100, ppid: 5000, created: 1 }])).toEqual(dated);
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

  it('parses the creation dates Windows adds in front, and the System Idle Process without one', () => {
    const text = [
      'CreationDate               ParentProcessId  ProcessId  ',
      '                           0                0          ',
      '20261202061502.500000+060  0                4          ',
      '20261202081530.250000+060  4321             5000       ',
      '',
    ].join('\r\r\n');
    expect(parseWmicTable(decodeToolOutput(Buffer.from(text, 'latin1')))).toEqual([
      { pid: 0, ppid: 0 },
      { pid: 4, ppid: 0, created: Date.UTC(2026, 11, 2, 5, 15, 2, 500) },
      { pid: 5000, ppid: 4321, created: Date.UTC(2026, 11, 2, 7, 15, 30, 250) },
    ]);
  });

  const method = (name: string, result: () => ProcessRow[], dated = false): ListingMethod & { calls: number } => {
    const m = {
      name,
      dated,
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

  it('asks each tool for creation times, then the same tool without, and says which it settled on', async () => {
    const invalid = (): ProcessRow[] => {
      throw new Error('Command failed: wmic.exe\nError: Invalid query');
    };
    const datedWmic = method('wmic', invalid, true);
    const datedCscript = method('cscript', invalid, true);
    const plainWmic = method('wmic (no creation times)', () => [{ pid: 5000, ppid: 4321 }]);
    const list = fallbackLister([datedWmic, datedCscript, plainWmic], 5000);
    expect(list.dated()).toBe(false);
    expect(await list()).toEqual([{ pid: 5000, ppid: 4321 }]);
    expect([list.method(), list.dated()]).toEqual(['wmic (no creation times)', false]);
    const windows = fallbackLister([method('wmic', () => [{ pid: 5000, ppid: 4321, created: 7 }], true), plainWmic], 5000);
    await windows();
    expect([windows.method(), windows.dated()]).toEqual(['wmic', true]);
    // A tool asked for times that gives none is not taken for one that did.
    const undated = fallbackLister([method('cscript', () => [{ pid: 5000, ppid: 4321 }], true), plainWmic], 5000);
    await undated();
    expect([undated.method(), undated.dated()]).toEqual(['wmic (no creation times)', false]);
    expect(WINDOWS_LISTING_METHODS.map((m) => [m.name, m.dated])).toEqual([
      ['wmic', true],
      ['wmic (no creation times)', false],
      ['cscript', true],
      ['cscript (no creation times)', false],
      ['powershell', true],
      ['powershell (no creation times)', false],
    ]);
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

describe('the listing taken before a script starts', () => {
  function lister(dated: boolean): WindowsLister & { calls: number; settle: (rows: ProcessRow[]) => void } {
    let settle: (rows: ProcessRow[]) => void = () => undefined;
    const fn = Object.assign(
      () => {
        fn.calls++;
        return new Promise<ProcessRow[]>((resolve) => (settle = resolve));
      },
      { calls: 0, method: () => 'wmic', dated: () => dated, settle: (rows: ProcessRow[]) => settle(rows) },
    );
    return fn;
  }

  it('is taken on Windows when the listing has no creation times, once for starts at the same moment', async () => {
    const wine = lister(false);
    const take = baselineTaker(wine, 'win32');
    const [a, b] = [take(), take()];
    wine.settle([{ pid: 56, ppid: 40 }]);
    expect(await a).toEqual([{ pid: 56, ppid: 40 }]);
    expect(await b).toEqual([{ pid: 56, ppid: 40 }]);
    expect(wine.calls).toBe(1);
    // A later start lists anew: processes may have started since.
    const c = take();
    wine.settle([]);
    expect(await c).toEqual([]);
    expect(wine.calls).toBe(2);
  });

  it('is not taken where creation times tell children apart, nor off Windows', async () => {
    const windows = lister(true);
    expect(await baselineTaker(windows, 'win32')()).toBeUndefined();
    const linux = lister(false);
    expect(await baselineTaker(linux, 'linux')()).toBeUndefined();
    expect(windows.calls + linux.calls).toBe(0);
  });

  it('passes a failed listing on, and lists again only a while later: each try may cost seconds', async () => {
    let fail = true;
    let calls = 0;
    let clock = 1_000;
    const flaky = Object.assign(async () => {
      calls++;
      if (fail) throw new Error('wmic failed');
      return [{ pid: 1, ppid: 0 }];
    }, { method: () => null, dated: () => false });
    const take = baselineTaker(flaky, 'win32', () => clock);
    await expect(take()).rejects.toThrow('wmic failed');
    fail = false;
    clock += BASELINE_RETRY_MS - 1;
    await expect(take()).rejects.toThrow('wmic failed');
    expect(calls).toBe(1);
    clock += 1;
    expect(await take()).toEqual([{ pid: 1, ppid: 0 }]);
    expect(calls).toBe(2);
  });
});

describe.runIf(process.platform === 'win32')('Windows process listing on this machine', () => {
  it('lists this process and its parent with the first way that works', async () => {
    const rows = await listWindowsProcesses();
    expect(rows.find((r) => r.pid === process.pid)).toMatchObject({ pid: process.pid, ppid: process.ppid });
  });

  it('has processes that name a parent no longer running, which a listing from before keeps from being taken for children', async () => {
    // Under Wine: services.exe and explorer.exe, whose starters exited. On Windows: Explorer.
    const earlier = await listWindowsProcesses();
    const rows = await listWindowsProcesses();
    const alive = new Set(rows.map((r) => r.pid));
    const orphan = rows.find((r) => r.ppid !== 0 && r.pid !== r.ppid && !alive.has(r.ppid));
    expect(orphan, JSON.stringify(rows)).toBeDefined();
    // A script given the dead parent's pid: without creation times (Wine), the bare table
    // hands it the orphan; the listing taken before it started does not.
    if (!listWindowsProcesses.dated()) expect(descendantsOf(orphan!.ppid, rows)).toContainEqual(orphan);
    expect(descendantsOf(orphan!.ppid, rows, earlier)).not.toContainEqual(orphan);
  });
});
