/**
 * Windows only: the processes a script started, found before it exits so they can be
 * stopped after it exited. `taskkill /T` walks parent links from a living parent; once a
 * script has honoured `exit`, its children (started with `Run`) are unreachable that way.
 * A child keeps its dead parent's id as ParentProcessId (Windows does not re-parent), so
 * "same PID and same parent PID" in a second snapshot identifies it despite PID reuse.
 */
export interface ProcessRow {
  pid: number;
  ppid: number;
}

/** Lists processes (the real one is in windows-process-list.ts). */
export type ProcessLister = () => Promise<ProcessRow[]>;

/** Parse lines of "pid ppid". */
export function parseProcessTable(stdout: string): ProcessRow[] {
  const rows: ProcessRow[] = [];
  for (const line of stdout.split(/\r?\n/)) {
    const m = /^\s*(\d+)\s+(\d+)\s*$/.exec(line);
    if (m) rows.push({ pid: Number(m[1]), ppid: Number(m[2]) });
  }
  return rows;
}

/** Every descendant of `root` in `table` (children, grandchildren, ...). */
export function descendantsOf(root: number, table: readonly ProcessRow[]): ProcessRow[] {
  const byParent = new Map<number, ProcessRow[]>();
  for (const row of table) {
    if (row.pid === row.ppid) continue; // the System Idle Process is its own parent
    const list = byParent.get(row.ppid) ?? [];
    list.push(row);
    byParent.set(row.ppid, list);
  }
  const out: ProcessRow[] = [];
  const seen = new Set<number>([root]);
  const queue = [root];
  while (queue.length > 0) {
    for (const child of byParent.get(queue.shift()!) ?? []) {
      if (seen.has(child.pid)) continue;
      seen.add(child.pid);
      out.push(child);
      queue.push(child.pid);
    }
  }
  return out;
}

/** The rows of `before` still present with the same parent in `after`: survivors, not reused PIDs. */
export function survivors(before: readonly ProcessRow[], after: readonly ProcessRow[]): ProcessRow[] {
  const now = new Set(after.map((r) => `${r.pid}:${r.ppid}`));
  return before.filter((r) => now.has(`${r.pid}:${r.ppid}`));
}
