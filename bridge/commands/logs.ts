/**
 * `bridge logs KEY`: what a script printed (its plain output and stderr) and when it
 * started and stopped, from the output ring of the bridge that supervises it, like
 * `pm2 logs`. `--follow` goes on with the live lines. Its arguments and flags are in
 * logs-command.ts; this module loads when the command runs.
 */
import { ErrorCode, RpcError, type BrokerClient, type Message } from '../../src/client/index.js';
import { CliError } from '../cli-error.js';
import { connectClient, leaveBroker, type ConnectFlags } from '../connect-options.js';
import { requireOwner, unknownKeyError } from '../script-query.js';
import { logsTopic } from '../script-registry.js';
import { onShutdownSignal } from '../signals.js';
import { useColour } from '../summary-table.js';
import { entryText, eventText, LOGGED_EVENTS, type OutputEntry, type OutputStream, type OutputTail } from '../supervisor/output-ring.js';
import { wholeNumberFlag } from '../number-flags.js';

export interface LogsFlags extends ConnectFlags {
  lines: string;
  follow?: boolean;
  timestamps?: boolean;
  json?: boolean;
}

/** How long the supervising bridge gets to send the ring. */
const LOGS_TIMEOUT_S = 5;

/** How an entry is marked: `[stderr]` lines, `--` lifecycle markers, plain output as it is. */
export function formatEntry(entry: Pick<OutputEntry, 'stream' | 'text' | 'timestamp'>, opts: { colour: boolean; timestamps: boolean }): string {
  const marker = entry.stream === 'stderr' ? '[stderr] ' : entry.stream === 'event' ? '-- ' : '';
  let line = `${marker}${entry.text}`;
  if (opts.colour && entry.stream !== 'stdout') line = `\u001b[${entry.stream === 'stderr' ? '31' : '90'}m${line}\u001b[0m`;
  return opts.timestamps ? `${entry.timestamp} ${line}` : line;
}

/** A live message as an entry, with its seq when the bridge numbered it. */
function liveEntry(key: string, msg: Message): (Omit<OutputEntry, 'seq'> & { seq: number | null }) | null {
  const event = msg.topic.slice(`scripts.${key}.`.length);
  const p = typeof msg.payload === 'object' && msg.payload !== null ? (msg.payload as Record<string, unknown>) : {};
  const seq = typeof p.seq === 'number' ? p.seq : null;
  let stream: OutputStream;
  let text: string | null;
  if (event === 'output' || event === 'stderr') {
    stream = event === 'output' ? 'stdout' : 'stderr';
    // Cut as the ring cuts what it keeps, so a line reads the same live and later.
    text = typeof p.line === 'string' ? entryText(p.line) : null;
  } else {
    stream = 'event';
    text = eventText(event, p);
  }
  return text === null ? null : { seq, stream, text, timestamp: msg.timestamp };
}

function parseLines(raw: string): number {
  return wholeNumberFlag(raw, '--lines');
}

/** The ring's newest `lines` entries from the bridge that supervises `key`. */
async function fetchRing(client: BrokerClient, key: string, lines: number): Promise<OutputTail> {
  await requireOwner(client, key);
  let answer: unknown;
  try {
    answer = await client.request(logsTopic(key), { lines }, { timeout: LOGS_TIMEOUT_S });
  } catch (err) {
    if (err instanceof RpcError && err.code === ErrorCode.NO_RESPONDERS) throw await unknownKeyError(client, key);
    if (err instanceof RpcError && err.code === ErrorCode.TIMEOUT) {
      throw new CliError(`the bridge that supervises "${key}" did not send its log within ${LOGS_TIMEOUT_S} s (an older version of the bridge, or busy)`);
    }
    throw new CliError(`could not read the log of "${key}": ${(err as Error).message}`);
  }
  // Whoever answered may not be a bridge (a `bridge reply '#'` answers everything).
  if (!isOutputTail(answer)) throw new CliError(`the answer for the log of "${key}" is not a bridge's log (is a responder other than a bridge subscribed to scripts.${key}.logs?)`);
  return answer;
}

/** Whether `value` has the shape of a bridge's `scripts.<key>.logs` answer. */
function isOutputTail(value: unknown): value is OutputTail {
  const v = value as Partial<OutputTail> | null;
  return (
    typeof v === 'object' &&
    v !== null &&
    typeof v.next_seq === 'number' &&
    Array.isArray(v.lines) &&
    v.lines.every((e) => typeof e === 'object' && e !== null && typeof e.text === 'string' && typeof e.stream === 'string' && typeof e.timestamp === 'string')
  );
}

/** Run `bridge logs` with its parsed arguments. */
export async function runLogs(key: string, flags: LogsFlags): Promise<void> {
  const lines = parseLines(flags.lines);
  const opts = { colour: useColour(process.stdout), timestamps: flags.timestamps === true };
  type Printable = Omit<OutputEntry, 'seq'> & { seq: number | null };
  const print = (entry: Printable): void => {
    const line = flags.json ? JSON.stringify({ seq: entry.seq, stream: entry.stream, text: entry.text, timestamp: entry.timestamp }) : formatEntry(entry, opts);
    process.stdout.write(line + '\n');
  };
  const client = await connectClient(flags, { autoReconnect: flags.follow === true, startHint: 'up' });
  if (!flags.follow) {
    try {
      (await fetchRing(client, key, lines)).lines.forEach(print);
    } finally {
      await leaveBroker(client);
    }
    return;
  }

  // Subscribe before reading the ring, so no line falls between the two. Lines that
  // arrive meanwhile wait; those the ring already holds (seq below its next_seq) are
  // dropped. Only that seam is filtered: a bridge restarted later numbers from 1 again.
  let pending: ReturnType<typeof liveEntry>[] | null = [];
  const onLive = (msg: Message): undefined => {
    const entry = liveEntry(key, msg);
    if (!entry) return undefined;
    if (pending) pending.push(entry);
    else print(entry);
    return undefined;
  };
  const topics = ['output', 'stderr', ...LOGGED_EVENTS].map((e) => `scripts.${key}.${e}`);
  let finishing = false;
  // Ctrl+C is a normal way to stop following, from the start.
  const removeHandlers = onShutdownSignal(async () => {
    finishing = true;
    await leaveBroker(client);
    process.exit(0);
  });
  try {
    await client.subscribe(topics, onLive);
    const ring = await fetchRing(client, key, lines);
    // Deliveries that came in with the ring but are still queued in the client run
    // before the next turn of the event loop: let them join the waiting ones.
    await new Promise((resolve) => setImmediate(resolve));
    ring.lines.forEach(print);
    const waiting = pending;
    pending = null;
    for (const entry of waiting) if (entry && (entry.seq === null || entry.seq >= ring.next_seq)) print(entry);
  } catch (err) {
    removeHandlers();
    await leaveBroker(client);
    throw err;
  }
  client.on('disconnected', (reason) => {
    if (!finishing) process.stderr.write(`bridge logs: connection lost (${reason}); reconnecting...\n`);
  });
  client.on('connected', () => process.stderr.write('bridge logs: reconnected (lines printed meanwhile are not shown)\n'));
}
