/**
 * `bridge start|stop|restart KEY`: the `scripts.<key>.start|stop|restart` requests, with
 * a one-line result, like `pm2 stop`. Their arguments and flags are in
 * script-control-command.ts; this module loads when one of them runs.
 */
import { ErrorCode, RpcError } from '../../src/client/index.js';
import { CliError } from '../cli-error.js';
import { connectClient, leaveBroker, type ConnectFlags } from '../connect-options.js';
import { requireOwner, unknownKeyError } from '../script-query.js';
import { hasUnknownReason, resultLine, statusBefore, stderrSinceStart, type ScriptOp as Op } from '../script-ops.js';
import type { ScriptStatus } from '../supervisor/script-supervisor.js';
import { secondsFlag } from '../number-flags.js';

export interface ControlFlags extends ConnectFlags {
  timeout: string;
}

/** Longest --timeout accepted: the broker holds a request at most this long. */
const MAX_TIMEOUT_S = 300;

/** Run `bridge start|stop|restart KEY` with its parsed arguments. */
export async function runControl(op: Op, key: string, flags: ControlFlags): Promise<void> {
  const timeout = secondsFlag(flags.timeout, '--timeout', { max: MAX_TIMEOUT_S });
  const client = await connectClient(flags, { startHint: 'up' });
  try {
    await requireOwner(client, key);
    const before = await statusBefore(client, key);
    let after: ScriptStatus;
    try {
      after = (await client.request(`scripts.${key}.${op}`, null, { timeout })) as ScriptStatus;
    } catch (err) {
      if (err instanceof RpcError && (err.code === ErrorCode.NO_RESPONDERS || hasUnknownReason(err))) throw await unknownKeyError(client, key);
      if (err instanceof RpcError && err.code === ErrorCode.TIMEOUT) {
        throw new CliError(`${op} ${key}: no answer within ${timeout} s; the script may still be ${op === 'start' ? 'starting' : 'stopping'} (bridge ps shows its state; --timeout waits longer)`);
      }
      throw new CliError(`${op} ${key} failed${err instanceof RpcError ? ` (${err.code})` : ''}: ${(err as Error).message}`);
    }
    if (!isScriptStatus(after)) {
      // Whoever answered may not be a bridge (a `bridge reply '#'` answers everything).
      throw new CliError(`${op} ${key}: the answer is not a bridge's script status (is a responder other than a bridge subscribed to scripts.${key}.${op}?)`);
    }
    const { text, ok } = resultLine(op, key, before, after);
    if (!ok) throw new CliError([text, ...(await stderrSinceStart(client, key)).map((line) => `  ${line}`)].join('\n'));
    process.stdout.write(text + '\n');
  } finally {
    await leaveBroker(client);
  }
}

/** Whether `value` has the shape of a bridge's script status. */
function isScriptStatus(value: unknown): value is ScriptStatus {
  const v = value as Partial<ScriptStatus> | null;
  return typeof v === 'object' && v !== null && typeof v.key === 'string' && typeof v.state === 'string' && typeof v.running === 'boolean';
}
