/**
 * Windows only: the processes a script started, found before it exits so they can be
 * stopped after it exited. `taskkill /T` walks parent links from a living parent; once a
 * script has honoured `exit`, its children (started with `Run`) are unreachable that way.
 * A child keeps its dead parent's id as ParentProcessId (Windows does not re-parent), so
 * "same PID and same parent PID" in a second snapshot identifies it despite PID reuse.
 *
 * The same stale parent ids make "ParentProcessId = the script's pid" unsafe on its own:
 * Explorer outlives the userinit.exe that started it, Wine's services.exe outlives its
 * starter, and when the script is given such a dead parent's pid, those processes look
 * like its children. A real child is never older than its parent, so a link is followed
 * only when the creation times allow it, or, where the listing has no creation times
 * (Wine's WMI), when the child was not already running before the script started.
 */
export interface ProcessRow {
  pid: number;
  ppid: number;
  /** Creation time, ms since the epoch, where the listing tells it. */
  created?: number;
}

const identity = (r: ProcessRow): string => `${r.pid}:${r.ppid}`;

/**
 * A WMI datetime (`yyyymmddHHMMSS.ffffff+UUU`, local time and its offset from UTC in
 * minutes) as ms since the epoch; undefined for anything else (WMI has no creation time
 * for the System Idle Process).
 */
export function parseWmiDate(text: string | undefined): number | undefined {
  const m = /^(\d{4})(\d{2})(\d{2})(\d{2})(\d{2})(\d{2})\.(\d{6})([+-])(\d{3})$/.exec(text ?? '');
  if (!m) return undefined;
  const [y, mo, d, h, mi, s, micros, sign, offset] = m.slice(1);
  const local = Date.UTC(Number(y), Number(mo) - 1, Number(d), Number(h), Number(mi), Number(s)) + Number(micros) / 1000;
  return local - (sign === '-' ? -1 : 1) * Number(offset) * 60_000;
}

/** Lists processes (the real one is in windows-process-list.ts). */
export type ProcessLister = () => Promise<ProcessRow[]>;

/** One row, with its creation time when `created` is a WMI datetime. */
export function processRow(pid: number, ppid: number, created?: string): ProcessRow {
  const time = parseWmiDate(created);
  return time === undefined ? { pid, ppid } : { pid, ppid, created: time };
}

/** Parse lines of "pid ppid [creation WMI datetime]". */
export function parseProcessTable(stdout: string): ProcessRow[] {
  const rows: ProcessRow[] = [];
  for (const line of stdout.split(/\r?\n/)) {
    const m = /^\s*(\d+)\s+(\d+)(?:\s+(\S+))?\s*$/.exec(line);
    if (m) rows.push(processRow(Number(m[1]), Number(m[2]), m[3]));
  }
  return rows;
}

/**
 * Every descendant of `root` in `table` (children, grandchildren, ...). A row older than
 * the parent it names is not its child, nor is a row listed in `existedBefore` (a listing
 * taken before `root` started): both merely carry a reused pid as their parent's. Under a
 * parent with a creation time, a row without one is followed only when `existedBefore`
 * vouches for it.
 */
export function descendantsOf(root: number, table: readonly ProcessRow[], existedBefore: readonly ProcessRow[] = []): ProcessRow[] {
  const older = new Set(existedBefore.map(identity));
  const byParent = new Map<number, ProcessRow[]>();
  for (const row of table) {
    if (row.pid === row.ppid) continue; // the System Idle Process is its own parent
    if (older.has(identity(row))) continue;
    const list = byParent.get(row.ppid) ?? [];
    list.push(row);
    byParent.set(row.ppid, list);
  }
  const out: ProcessRow[] = [];
  const seen = new Set<number>([root]);
  const queue: { pid: number; created?: number }[] = [{ pid: root, created: table.find((r) => r.pid === root)?.created }];
  while (queue.length > 0) {
    const parent = queue.shift()!;
    for (const child of byParent.get(parent.pid) ?? []) {
      if (seen.has(child.pid)) continue;
      if (parent.created !== undefined && !(child.created !== undefined ? child.created >= parent.created : older.size > 0)) continue;
      seen.add(child.pid);
      out.push(child);
      queue.push(child);
    }
  }
  return out;
}

/**
 * The rows of `before` still present with the same parent (and creation time, where both
 * listings have one) in `after`: survivors, not reused PIDs.
 */
export function survivors(before: readonly ProcessRow[], after: readonly ProcessRow[]): ProcessRow[] {
  const now = new Map(after.map((r) => [identity(r), r]));
  return before.filter((r) => {
    const later = now.get(identity(r));
    return later !== undefined && (r.created === undefined || later.created === undefined || r.created === later.created);
  });
}
