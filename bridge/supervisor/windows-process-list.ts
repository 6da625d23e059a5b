/**
 * Windows only: the table of running processes with their parents and creation times,
 * which Node cannot list itself. Three tools are tried in order, and the first that
 * answers plausibly is kept:
 *
 * 1. `wmic process get CreationDate,ParentProcessId,ProcessId`: fast, but removed from new
 *    Windows 11 installs (an optional feature since 24H2);
 * 2. `cscript` running a few lines of JScript against WMI: Windows Script Host is on every
 *    Windows 10/11 and starts in tens of milliseconds;
 * 3. PowerShell's `Get-CimInstance`: always there on a normal install, but can take
 *    hundreds of milliseconds to start, and may be blocked by policy.
 *
 * Each is asked for creation times first, which tell a child from an older process that
 * carries a reused pid as its parent's (windows-descendants.ts), then without them (Wine's
 * WMI refuses the column).
 *
 * An answer is plausible when it lists this very process: a stub or a blocked tool that
 * prints nothing (Wine's powershell.exe does exactly that) is not taken for "no children".
 * When no way works, the error says what each attempt did, so the caller can warn.
 */
import { execFile } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseProcessTable, processRow, type ProcessLister, type ProcessRow } from './windows-descendants.js';

const TIMEOUT_MS = 10_000;

/** One way of listing processes: a name for logs, whether it gives creation times, and how to run it. */
export interface ListingMethod {
  readonly name: string;
  readonly dated: boolean;
  list(): Promise<ProcessRow[]>;
}

/** Decode a tool's output: UTF-16LE when it says so (a BOM, or NULs between ASCII), else ANSI. */
export function decodeToolOutput(out: Buffer): string {
  if (out.length >= 2 && out[0] === 0xff && out[1] === 0xfe) return out.subarray(2).toString('utf16le');
  if (out.length >= 2 && out[1] === 0 && out[0] !== 0) return out.toString('utf16le');
  return out.toString('latin1');
}

/**
 * Parse wmic's table of the two ids, with or without CreationDate. Windows writes
 * `CreationDate  ParentProcessId  ProcessId`, Wine `ParentProcessIDProcessID` with no space
 * between; both put the columns in alphabetical order whatever the query says, so the
 * header only tells which id comes first. The System Idle Process has no CreationDate.
 */
export function parseWmicTable(text: string): ProcessRow[] {
  const lines = text.split(/\r*\n/).map((l) => l.trim()).filter((l) => l.length > 0);
  const header = (lines.shift() ?? '').toLowerCase();
  if (!header.includes('parentprocessid')) return [];
  const parentFirst = header.replace(/^creationdate\s*/, '').startsWith('parentprocessid');
  const rows: ProcessRow[] = [];
  for (const line of lines) {
    const m = /^(?:(\S+)\s+)?(\d+)\s+(\d+)$/.exec(line);
    if (!m) continue;
    const [a, b] = [Number(m[2]), Number(m[3])];
    rows.push(parentFirst ? processRow(b, a, m[1]) : processRow(a, b, m[1]));
  }
  return rows;
}

function run(file: string, args: string[]): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    execFile(file, args, { encoding: 'buffer', windowsHide: true, timeout: TIMEOUT_MS, maxBuffer: 16 * 1024 * 1024 }, (err, stdout) => {
      if (err) reject(err);
      else resolve(stdout);
    });
  });
}

/** JScript for cscript: "pid ppid creation" per process (creation only when `dated`). */
function jscript(dated: boolean): string {
  const fields = dated ? 'ProcessId, ParentProcessId, CreationDate' : 'ProcessId, ParentProcessId';
  const line = dated ? 'e.item().ProcessId + " " + e.item().ParentProcessId + " " + e.item().CreationDate' : 'e.item().ProcessId + " " + e.item().ParentProcessId';
  return [`var e = new Enumerator(GetObject("winmgmts:").ExecQuery("SELECT ${fields} FROM Win32_Process"));`, `for (; !e.atEnd(); e.moveNext()) WScript.Echo(${line});`].join('\r\n');
}

const jscriptFiles = new Map<boolean, string>();

function jscriptFile(dated: boolean): string {
  let file = jscriptFiles.get(dated);
  if (!file) {
    file = join(tmpdir(), `ahk-bridge-processes-${process.pid}${dated ? '-dated' : ''}.js`);
    writeFileSync(file, jscript(dated));
    jscriptFiles.set(dated, file);
  }
  return file;
}

// Get-CimInstance gives CreationDate as a DateTime; written in WMI's own form, in UTC, with
// the invariant culture's calendar (a Thai or Hijri year would not compare with wmic's).
const POWERSHELL_DATED =
  "Get-CimInstance Win32_Process | ForEach-Object { $c = if ($_.CreationDate) { $_.CreationDate.ToUniversalTime().ToString('yyyyMMddHHmmss.ffffff', [Globalization.CultureInfo]::InvariantCulture) + '+000' } else { '' }; \"$($_.ProcessId) $($_.ParentProcessId) $c\" }";
const POWERSHELL_PLAIN = 'Get-CimInstance Win32_Process | ForEach-Object { "$($_.ProcessId) $($_.ParentProcessId)" }';

function methodsOf(dated: boolean): ListingMethod[] {
  const suffix = dated ? '' : ' (no creation times)';
  return [
    {
      name: `wmic${suffix}`,
      dated,
      list: async () => parseWmicTable(decodeToolOutput(await run('wmic.exe', ['process', 'get', dated ? 'CreationDate,ParentProcessId,ProcessId' : 'ParentProcessId,ProcessId']))),
    },
    {
      name: `cscript${suffix}`,
      dated,
      list: async () => parseProcessTable(decodeToolOutput(await run('cscript.exe', ['//NoLogo', '//E:jscript', jscriptFile(dated)]))),
    },
    {
      name: `powershell${suffix}`,
      dated,
      list: async () =>
        parseProcessTable(decodeToolOutput(await run('powershell.exe', ['-NoProfile', '-NonInteractive', '-Command', dated ? POWERSHELL_DATED : POWERSHELL_PLAIN]))),
    },
  ];
}

/**
 * The real methods, in the order they are tried: each tool with creation times, then the
 * same tool without. A tool that runs but is refused the column (Wine's WMI answers
 * "Invalid query") is asked again at once, rather than after two more tools that would be
 * refused the same way: each try starts a process, which under Wine takes up to seconds.
 */
const PLAIN_METHODS = methodsOf(false);
export const WINDOWS_LISTING_METHODS: readonly ListingMethod[] = methodsOf(true).flatMap((dated, i) => [dated, PLAIN_METHODS[i]!]);

/** No method could list processes; `attempts` says what each one did. */
export class ProcessListingError extends Error {
  constructor(readonly attempts: readonly string[]) {
    super(`cannot list processes on this machine (${attempts.join('; ')})`);
    this.name = 'ProcessListingError';
  }
}

/** A lister that also says which method it settled on. */
export type WindowsLister = ProcessLister & {
  /** The method in use, null before the first listing that worked. */
  readonly method: () => string | null;
  /** Whether its rows carry creation times; false until a listing has worked. */
  readonly dated: () => boolean;
};

/**
 * A lister that tries `methods` in order until one lists `selfPid`, then keeps using that
 * one; when it stops working, the search starts over.
 */
export function fallbackLister(methods: readonly ListingMethod[] = WINDOWS_LISTING_METHODS, selfPid: number = process.pid): WindowsLister {
  let chosen: ListingMethod | null = null;
  const attempt = async (m: ListingMethod): Promise<ProcessRow[] | string> => {
    try {
      const rows = await m.list();
      const self = rows.find((r) => r.pid === selfPid);
      if (!self) return `${m.name} answered ${rows.length} rows without this process`;
      return !m.dated || self.created !== undefined ? rows : `${m.name} answered without creation times`;
    } catch (err) {
      return `${m.name} failed: ${(err as Error).message.split('\n')[0]}`;
    }
  };
  const lister = async (): Promise<ProcessRow[]> => {
    if (chosen) {
      const rows = await attempt(chosen);
      if (typeof rows !== 'string') return rows;
      chosen = null;
    }
    const attempts: string[] = [];
    for (const m of methods) {
      const rows = await attempt(m);
      if (typeof rows !== 'string') {
        chosen = m;
        return rows;
      }
      attempts.push(rows);
    }
    throw new ProcessListingError(attempts);
  };
  return Object.assign(lister, { method: () => chosen?.name ?? null, dated: () => chosen?.dated ?? false });
}

/** The lister the bridge uses on Windows. */
export const listWindowsProcesses: WindowsLister = fallbackLister();
