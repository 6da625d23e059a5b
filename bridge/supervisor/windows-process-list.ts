/**
 * Windows only: the table of running processes with their parents, which Node cannot list
 * itself. Three ways are tried in order, and the first that answers plausibly is kept:
 *
 * 1. `wmic process get ParentProcessId,ProcessId`: fast, but removed from new Windows 11
 *    installs (an optional feature since 24H2);
 * 2. `cscript` running a few lines of JScript against WMI: Windows Script Host is on every
 *    Windows 10/11 and starts in tens of milliseconds;
 * 3. PowerShell's `Get-CimInstance`: always there on a normal install, but can take
 *    hundreds of milliseconds to start, and may be blocked by policy.
 *
 * An answer is plausible when it lists this very process: a stub or a blocked tool that
 * prints nothing (Wine's powershell.exe does exactly that) is not taken for "no children".
 * When no way works, the error says what each attempt did, so the caller can warn.
 */
import { execFile } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseProcessTable, type ProcessLister, type ProcessRow } from './windows-descendants.js';

const TIMEOUT_MS = 10_000;

/** One way of listing processes: a name for logs, and how to run it. */
export interface ListingMethod {
  readonly name: string;
  list(): Promise<ProcessRow[]>;
}

/** Decode a tool's output: UTF-16LE when it says so (a BOM, or NULs between ASCII), else ANSI. */
export function decodeToolOutput(out: Buffer): string {
  if (out.length >= 2 && out[0] === 0xff && out[1] === 0xfe) return out.subarray(2).toString('utf16le');
  if (out.length >= 2 && out[1] === 0 && out[0] !== 0) return out.toString('utf16le');
  return out.toString('latin1');
}

/**
 * Parse wmic's two-column table. Windows writes `ParentProcessId  ProcessId`, Wine
 * `ParentProcessIDProcessID` with no space between; both put the columns in alphabetical
 * order whatever the query says, so the header only tells which column comes first.
 */
export function parseWmicTable(text: string): ProcessRow[] {
  const lines = text.split(/\r*\n/).map((l) => l.trim()).filter((l) => l.length > 0);
  const header = (lines.shift() ?? '').toLowerCase();
  if (!header.includes('parentprocessid')) return [];
  const parentFirst = header.startsWith('parentprocessid');
  const rows: ProcessRow[] = [];
  for (const line of lines) {
    const m = /^(\d+)\s+(\d+)$/.exec(line);
    if (!m) continue;
    const [a, b] = [Number(m[1]), Number(m[2])];
    rows.push(parentFirst ? { pid: b, ppid: a } : { pid: a, ppid: b });
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

const JSCRIPT = [
  'var e = new Enumerator(GetObject("winmgmts:").ExecQuery("SELECT ProcessId, ParentProcessId FROM Win32_Process"));',
  'for (; !e.atEnd(); e.moveNext()) WScript.Echo(e.item().ProcessId + " " + e.item().ParentProcessId);',
].join('\r\n');

let jscriptFile: string | null = null;

/** The real methods, in the order they are tried. */
export const WINDOWS_LISTING_METHODS: readonly ListingMethod[] = [
  { name: 'wmic', list: async () => parseWmicTable(decodeToolOutput(await run('wmic.exe', ['process', 'get', 'ParentProcessId,ProcessId']))) },
  {
    name: 'cscript',
    list: async () => {
      if (!jscriptFile) {
        jscriptFile = join(tmpdir(), `ahk-bridge-processes-${process.pid}.js`);
        writeFileSync(jscriptFile, JSCRIPT);
      }
      return parseProcessTable(decodeToolOutput(await run('cscript.exe', ['//NoLogo', '//E:jscript', jscriptFile])));
    },
  },
  {
    name: 'powershell',
    list: async () =>
      parseProcessTable(
        decodeToolOutput(
          await run('powershell.exe', ['-NoProfile', '-NonInteractive', '-Command', 'Get-CimInstance Win32_Process | ForEach-Object { "$($_.ProcessId) $($_.ParentProcessId)" }']),
        ),
      ),
  },
];

/** No method could list processes; `attempts` says what each one did. */
export class ProcessListingError extends Error {
  constructor(readonly attempts: readonly string[]) {
    super(`cannot list processes on this machine (${attempts.join('; ')})`);
    this.name = 'ProcessListingError';
  }
}

/**
 * A lister that tries `methods` in order until one lists `selfPid`, then keeps using that
 * one; when it stops working, the search starts over.
 */
export function fallbackLister(methods: readonly ListingMethod[] = WINDOWS_LISTING_METHODS, selfPid: number = process.pid): ProcessLister & { readonly method: () => string | null } {
  let chosen: ListingMethod | null = null;
  const attempt = async (m: ListingMethod): Promise<ProcessRow[] | string> => {
    try {
      const rows = await m.list();
      return rows.some((r) => r.pid === selfPid) ? rows : `${m.name} answered ${rows.length} rows without this process`;
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
  return Object.assign(lister, { method: () => chosen?.name ?? null });
}

/** The lister the bridge uses on Windows. */
export const listWindowsProcesses: ProcessLister = fallbackLister();
