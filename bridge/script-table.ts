/**
 * The `bridge ps` table: one row per script, across every bridge on the broker, in the
 * manner of `pm2 ls`. Colour only when the caller says so (see `useColour`).
 */
import path from 'node:path';
import { COLOURS } from './summary-table.js';
import { exitText } from './supervisor/output-ring.js';
import type { LastExit, ScriptStatus } from './supervisor/script-supervisor.js';
import { visible } from './terminal-text.js';
import { compareNames } from '../src/protocol/name-order.js';

/** A script and the bridge that supervises it (its client id). */
export interface ScriptRow {
  status: ScriptStatus;
  bridge: string;
}

/** `45s`, `12m`, `3h 5m`, `2d 4h`: how long, as `pm2 ls` says it. */
export function formatUptime(ms: number): string {
  const s = Math.max(0, Math.floor(ms / 1000));
  if (s < 60) return `${s}s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m}m`;
  const h = Math.floor(m / 60);
  if (h < 24) return `${h}h ${m % 60}m`;
  return `${Math.floor(h / 24)}d ${h % 24}h`;
}

/** `crash (1)`, or `-` before the first exit. */
export function lastExitText(last: LastExit | null): string {
  return last ? exitText(last) : '-';
}

/** `scripts/cad.ahk` for a script under `cwd`, else the path as it is. */
export function shortPath(file: string, cwd: string): string {
  const rel = path.relative(cwd, file);
  return rel !== '' && !rel.startsWith('..') && !path.isAbsolute(rel) ? rel : file;
}

export interface TableOptions {
  colour: boolean;
  /** Milliseconds since the epoch, for uptimes. */
  now: number;
  cwd: string;
}

/**
 * The table, header first, rows sorted by key then bridge; no trailing newline. Control
 * characters in a cell are shown escaped (see terminal-text.ts).
 */
export function formatScriptTable(rows: ScriptRow[], opts: TableOptions): string {
  const sorted = [...rows].sort((a, b) => compareNames(a.status.key, b.status.key) || compareNames(a.bridge, b.bridge));
  const cells = [
    ['KEY', 'STATE', 'PID', 'UPTIME', 'RESTARTS', 'LAST EXIT', 'SCRIPT', 'BRIDGE'],
    ...sorted.map(({ status: s, bridge }) => [
      s.key,
      s.state,
      s.pid === null ? '-' : String(s.pid),
      s.running && s.started_at ? formatUptime(opts.now - Date.parse(s.started_at)) : '-',
      String(s.restarts),
      lastExitText(s.last_exit),
      shortPath(s.script, opts.cwd),
      // Any client may answer a ps query: its id is shown, never acted on by the terminal.
      bridge,
    ].map(visible)),
  ];
  const widths = cells[0]!.map((_, i) => Math.max(...cells.map((r) => r[i]!.length)));
  return cells
    .map((r, rowIndex) =>
      r
        .map((cell, i) => {
          const padded = i === r.length - 1 ? cell : cell.padEnd(widths[i]!);
          const code = rowIndex > 0 && i === 1 ? COLOURS[cell] : undefined;
          return opts.colour && code ? `\u001b[${code}m${padded}\u001b[0m` : padded;
        })
        .join('  '),
    )
    .join('\n');
}
