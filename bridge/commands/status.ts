/**
 * `bridge status`: the broker's counters and clients. Its flags are in status-command.ts;
 * this module loads when the command runs.
 */
import type { FederationStatus } from '../../src/broker/index.js';
import { connectClient, leaveBroker, type ConnectFlags } from '../connect-options.js';
import { CliError } from '../cli-error.js';
import { visible } from '../terminal-text.js';

export interface StatusFlags extends ConnectFlags {
  json?: boolean;
}

interface ClientRow {
  client_id: string;
  client_type: string;
  /** Who it authenticated as: a `clients` entry's id, `token` or `anonymous`. */
  identity?: string;
  connected: boolean;
  subscriptions: number;
  queued: number;
  unacked: number;
  dropped: number;
}

/** The `persistence` object of `status` (fields this command shows). */
interface PersistenceStatus {
  enabled: boolean;
  path?: string;
  fsync?: string;
  retained?: number;
  sessions?: number;
  messages?: number;
  bytes?: number;
  last_error?: { code: string; reason: string; at: string } | null;
}

/** `1.5 MiB`: disk use as a person reads it. */
function bytesText(n: number): string {
  if (n < 1024) return `${n} B`;
  const units = ['KiB', 'MiB', 'GiB', 'TiB'];
  let v = n / 1024;
  let i = 0;
  for (; v >= 1024 && i < units.length - 1; i++) v /= 1024;
  return `${v.toFixed(1)} ${units[i]!}`;
}

/** One line on what the broker keeps on disk, or null when persistence is off (or the broker predates it). */
function persistenceLine(p: PersistenceStatus | undefined): string | null {
  if (!p?.enabled) return null;
  let line =
    `persistence ${String(p.path)} (fsync ${String(p.fsync)}): ${String(p.messages)} unacked messages, ` +
    `${String(p.sessions)} sessions, ${String(p.retained)} retained, ${bytesText(p.bytes ?? 0)} on disk`;
  if (p.last_error) line += `; last error ${p.last_error.code} at ${p.last_error.at}`;
  return line;
}

/** One line on the federation upstream, or null when the broker does not federate. */
export function federationLine(f: Partial<FederationStatus> | undefined): string | null {
  if (!f?.engine) return null;
  const since = f.since ? ` since ${f.since}` : '';
  let line = `federation ${f.engine} ${String(f.upstream)}: ${String(f.state)}${since}; exported ${String(f.exported)}, imported ${String(f.imported)}, queued ${String(f.queued)}, dropped ${String(f.dropped)}`;
  line += `; upstream interest ${f.interest && f.interest.length > 0 ? f.interest.join(' ') : 'none'}`;
  // A broker before this field lists none: then nothing is said about acknowledgements.
  const subscribed = f.subscribed;
  const waiting = subscribed ? (f.interest ?? []).filter((p) => !subscribed.includes(p)) : [];
  if (waiting.length > 0) line += ` (not acknowledged upstream: ${waiting.join(' ')})`;
  return line;
}

/** Aligned columns; a cell's control characters are shown escaped, so a row stays one line. */
function table(cells: string[][]): string {
  const rows = cells.map((r) => r.map(visible));
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => r[i]!.length)));
  return rows.map((r) => r.map((cell, i) => cell.padEnd(widths[i]!)).join('  ').trimEnd()).join('\n');
}

/** Run `bridge status` with its parsed flags. */
export async function runStatus(flags: StatusFlags): Promise<void> {
  const client = await connectClient(flags);
  try {
    const s = (await client.status()) as unknown as Record<string, unknown> & {
      clients?: ClientRow[];
      security?: { warning?: string };
      auth_failures?: number;
      persistence?: PersistenceStatus;
      federation?: Partial<FederationStatus>;
    };
    if (flags.json) {
      process.stdout.write(JSON.stringify(s, null, 2) + '\n');
      return;
    }
    const self = client.clientId;
    const others = (s.clients ?? []).filter((c) => c.client_id !== self);
    const lines = [
      `broker ${String(s.version)} on ${String(s.host)}:${String(s.port)}, up ${String(s.uptime)} s since ${String(s.started_at)}`,
      `clients ${others.filter((c) => c.connected).length} connected, ${others.filter((c) => !c.connected).length} offline sessions; ` +
        `messages ${String(s.message_count)}, delivered ${String(s.delivered_count)}, dropped ${String(s.dropped_count)}, retained ${String(s.retained_count)}` +
        (s.auth_failures ? `; failed logins ${String(s.auth_failures)}` : ''),
    ];
    const stored = persistenceLine(s.persistence);
    if (stored) lines.push(stored);
    const federated = federationLine(s.federation);
    if (federated) lines.push(federated);
    if (s.security?.warning) lines.push(`WARNING: ${s.security.warning}`);
    if (others.length > 0) {
      const rows = [['CLIENT', 'TYPE', 'IDENTITY', 'STATE', 'SUBS', 'QUEUED', 'UNACKED', 'DROPPED']];
      for (const c of others) {
        rows.push([
          c.client_id,
          c.client_type,
          c.identity ?? '-',
          c.connected ? 'online' : 'offline',
          String(c.subscriptions),
          String(c.queued),
          String(c.unacked),
          String(c.dropped),
        ]);
      }
      lines.push('', table(rows));
    }
    process.stdout.write(lines.join('\n') + '\n');
  } catch (err) {
    throw new CliError(`status failed: ${(err as Error).message}`);
  } finally {
    await leaveBroker(client);
  }
}
