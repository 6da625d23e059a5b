/**
 * `bridge ps` (alias `ls`): every script on the broker, whichever bridge supervises it,
 * like `pm2 ls`. `--watch` keeps the table up to date. Its flags are in ps-command.ts;
 * this module loads when the command runs.
 */
import type { BrokerClient } from '../../src/client/index.js';
import { connectClient, leaveBroker, type ConnectFlags } from '../connect-options.js';
import { NO_BRIDGE, rowsOf, ScriptsQuery, silentNote, type ScriptsSnapshot } from '../script-query.js';
import { formatScriptTable } from '../script-table.js';
import { onShutdownSignal } from '../signals.js';
import { useColour } from '../summary-table.js';
import { compareNames } from '../../src/protocol/name-order.js';

export interface PsFlags extends ConnectFlags {
  json?: boolean;
  watch?: boolean;
}

/** Events after which `--watch` asks again: a script's state changed. */
const STATE_EVENTS = ['started', 'stopped', 'restarting', 'ready', 'restart_limit'];

/** `--json`: one object per script, its status plus the bridge that supervises it. */
function jsonRows(snapshot: ScriptsSnapshot): unknown[] {
  return rowsOf(snapshot)
    .sort((a, b) => compareNames(a.status.key, b.status.key) || compareNames(a.bridge, b.bridge))
    .map(({ status, bridge }) => ({ ...status, bridge }));
}

function render(snapshot: ScriptsSnapshot, colour: boolean): string {
  return formatScriptTable(rowsOf(snapshot), { colour, now: Date.now(), cwd: process.cwd() });
}

function printOnce(snapshot: ScriptsSnapshot, json: boolean): void {
  const note = silentNote(snapshot);
  if (note) process.stderr.write(`bridge ps: ${note}\n`);
  if (json) {
    process.stdout.write(JSON.stringify(jsonRows(snapshot), null, 2) + '\n');
    return;
  }
  if (snapshot.answers.length === 0 && snapshot.silent.length === 0) {
    // pm2 ls prints an empty table; a note says more, and keeps stdout empty for scripts.
    process.stderr.write(`bridge ps: ${NO_BRIDGE}\n`);
    return;
  }
  process.stdout.write(render(snapshot, useColour(process.stdout)) + '\n');
}

/**
 * Redraw on every state event, and every second on a terminal for the uptimes. Piped, a
 * table is printed only when it changed, so the output is a history of changes.
 */
async function watch(client: BrokerClient, query: ScriptsQuery, json: boolean): Promise<void> {
  // JSON is for programs: one compact array per change, never a redraw.
  const tty = process.stdout.isTTY === true && !json;
  const colour = useColour(process.stdout);
  let snapshot: ScriptsSnapshot = { answers: [], silent: [] };
  // What was last printed, as data: a table whose uptimes alone moved is no change.
  let printed: string | null = null;
  let lastNote = '';
  const draw = (): void => {
    const empty = snapshot.answers.length === 0 && snapshot.silent.length === 0;
    const data = JSON.stringify(jsonRows(snapshot));
    const body = json ? data : empty ? `(${NO_BRIDGE})` : render(snapshot, colour);
    const note = silentNote(snapshot) ?? '';
    if (note !== lastNote && note !== '') process.stderr.write(`bridge ps: ${note}\n`);
    lastNote = note;
    if (tty) {
      process.stdout.write(`\u001b[H\u001b[2J${body}\n\n(refreshing; Ctrl+C to stop)\n`);
    } else if (data !== printed) {
      process.stdout.write(`${printed === null || json ? '' : '\n'}${body}\n`);
    }
    printed = data;
  };
  // One query at a time; events during one ask again once it is done.
  let asking: Promise<void> | null = null;
  let again = false;
  const refresh = (): void => {
    if (asking) {
      again = true;
      return;
    }
    asking = query
      .ask()
      .then((s) => {
        snapshot = s;
        draw();
      })
      .catch((err: unknown) => {
        process.stderr.write(`bridge ps: ${(err as Error).message}\n`);
      })
      .finally(() => {
        asking = null;
        if (again) {
          again = false;
          refresh();
        }
      });
  };
  await client.subscribe(
    STATE_EVENTS.map((e) => `scripts.*.${e}`),
    () => {
      refresh();
      return undefined;
    },
  );
  refresh();
  const ticker = tty ? setInterval(draw, 1000) : null;
  let finishing = false;
  client.on('disconnected', (reason) => {
    if (!finishing) process.stderr.write(`bridge ps: connection lost (${reason}); reconnecting...\n`);
  });
  // Events missed while away: ask again once back.
  client.on('connected', refresh);
  onShutdownSignal(async () => {
    finishing = true;
    if (ticker) clearInterval(ticker);
    await leaveBroker(client);
    process.exit(0);
  });
}

/** Run `bridge ps` with its parsed flags. */
export async function runPs(flags: PsFlags): Promise<void> {
  const client = await connectClient(flags, { autoReconnect: flags.watch === true, startHint: 'up' });
  const query = new ScriptsQuery(client);
  if (flags.watch) {
    await watch(client, query, flags.json === true);
    return;
  }
  try {
    printOnce(await query.ask(), flags.json === true);
  } finally {
    await leaveBroker(client);
  }
}
