/**
 * The startup summary of `bridge up`: one row per script. Colour only on a terminal that
 * wants it (not when piped, and never with NO_COLOR), so logs and CI output stay clean.
 */
import type { LastExit, ScriptStatus } from './supervisor/script-supervisor.js';
import { visible } from './terminal-text.js';

export function useColour(stream: NodeJS.WriteStream, env: NodeJS.ProcessEnv = process.env): boolean {
  return stream.isTTY === true && !env.NO_COLOR && env.TERM !== 'dumb';
}

/** ANSI colour codes of script states, shared by the `up` summary and `bridge ps`. */
export const COLOURS: Record<string, string> = { running: '32', starting: '33', waiting_restart: '33', failed: '31', stopped: '90' };

/** `load_failure (2)`, `crash (SIGKILL)`, `start_failure`, or `-` before the first exit. */
export function formatLastExit(last: LastExit | null): string {
  if (!last) return '-';
  const code = last.exit_code ?? last.signal;
  return code === null ? last.reason : `${last.reason} (${code})`;
}

export function formatSummary(rows: { status: ScriptStatus; restart: string }[], colour: boolean): string {
  const table = [
    ['KEY', 'STATE', 'PID', 'RESTARTS', 'LAST EXIT', 'POLICY', 'SCRIPT'],
    ...rows.map(({ status: s, restart }) =>
      [s.key, s.state, s.pid === null ? '-' : String(s.pid), String(s.restarts), formatLastExit(s.last_exit), restart, s.script].map(visible),
    ),
  ];
  const widths = table[0]!.map((_, i) => Math.max(...table.map((r) => r[i]!.length)));
  return table
    .map((r, rowIndex) =>
      r
        .map((cell, i) => {
          const padded = i === r.length - 1 ? cell : cell.padEnd(widths[i]!);
          const code = rowIndex > 0 && i === 1 ? COLOURS[cell] : undefined;
          return colour && code ? `\u001b[${code}m${padded}\u001b[0m` : padded;
        })
        .join('  '),
    )
    .join('\n');
}
