/**
 * Starting, stopping and restarting a script by key, shared by `bridge start|stop|restart`
 * and the status page's buttons: the status before, and the one-line result after.
 */
import { ErrorCode, RpcError, type BrokerClient } from '../src/client/index.js';
import { logsTopic } from './script-registry.js';
import { lastExitText } from './script-table.js';
import type { OutputEntry } from './supervisor/output-ring.js';
import type { ScriptStatus } from './supervisor/script-supervisor.js';

export type ScriptOp = 'start' | 'stop' | 'restart';

/** The bridge's refusal for a key it does not have (-32602, reason `unknown_script`). */
export function hasUnknownReason(err: RpcError): boolean {
  const data = err.data as { reason?: unknown } | undefined;
  return err.code === ErrorCode.INVALID_PARAMS && data?.reason === 'unknown_script';
}

/** The status before the request, for "was pid N"; null when the bridge does not say in time. */
export async function statusBefore(client: BrokerClient, key: string): Promise<ScriptStatus | null> {
  try {
    const s = (await client.request('scripts.status', { script_id: key }, { timeout: 5 })) as Partial<ScriptStatus>;
    return typeof s.key === 'string' ? (s as ScriptStatus) : null;
  } catch (err) {
    // Only a nicety for the result line: a refusal or timeout here is reported, if it
    // matters, by the request that follows.
    if (err instanceof RpcError) return null;
    throw err;
  }
}

/** The result line and whether it means success. */
export function resultLine(op: ScriptOp, key: string, before: ScriptStatus | null, after: ScriptStatus): { text: string; ok: boolean } {
  const exit = lastExitText(after.last_exit);
  if (op === 'stop') {
    const was = before?.pid ? `was pid ${before.pid}` : 'was not running';
    return { text: `stopped ${key} (${was}, exit ${exit})`, ok: true };
  }
  if (!after.running) {
    // Started, and ended (or failed to load) before the answer left the bridge.
    const ok = after.state !== 'failed' && after.last_exit?.reason !== 'load_failure' && after.last_exit?.reason !== 'crash';
    return { text: `${key} did not stay up: state ${after.state}, exit ${exit} (bridge logs ${key} shows why)`, ok };
  }
  if (op === 'start' && before?.running && before.pid === after.pid) return { text: `${key} is already running (pid ${String(after.pid)})`, ok: true };
  const was = before?.pid ? ` (was pid ${before.pid})` : '';
  return { text: `${op === 'start' ? 'started' : 'restarted'} ${key} pid ${String(after.pid)}${op === 'restart' ? was : ''}`, ok: true };
}

/** Ring entries read back to find the last start: a load error comes right after it. */
const WHY_RING_LINES = 50;

/**
 * What the script wrote on stderr since its last start (a load error, a crash's last
 * words), at most `max` lines, from the output ring of its bridge: the why beside a
 * result that is not ok. Empty when the bridge does not send it in time.
 */
export async function stderrSinceStart(client: BrokerClient, key: string, max = 5): Promise<string[]> {
  let entries: unknown;
  try {
    entries = ((await client.request(logsTopic(key), { lines: WHY_RING_LINES }, { timeout: 5 })) as { lines?: unknown }).lines;
  } catch (err) {
    // Only a nicety beside the result line, which says what happened and where to look.
    if (err instanceof RpcError) return [];
    throw err;
  }
  if (!Array.isArray(entries)) return [];
  const ring = entries as OutputEntry[];
  let from = 0;
  ring.forEach((e, i) => {
    if (e.event === 'started') from = i + 1;
  });
  return ring
    .slice(from)
    .filter((e) => e.stream === 'stderr')
    .slice(0, max)
    .map((e) => e.text);
}
