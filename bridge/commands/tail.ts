/**
 * `bridge tail <file>`: publish the lines a legacy script FileAppends to a queue file,
 * through any running broker, until Ctrl+C. Lines are `TOPIC|payload`. Its arguments and
 * flags are in tail-command.ts; this module loads when the command runs.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { mapNameProblem, mapTargetProblem, normalisePrefix, prefixProblem, type QueueTailer } from '../../file-ipc/index.js';
import { isKnownEncoding } from '../../src/protocol/text.js';
import { CliError } from '../cli-error.js';
import { resumeOptimization } from '../deferred-optimization.js';
import { limitInlining } from '../inlining.js';
import { PromotedGarbageCollector } from '../old-generation.js';
import { growYoungGenerationUpTo } from '../young-generation.js';
import { cliLogger, connectClient, type ConnectFlags } from '../connect-options.js';
import { excerpt, jsonErrorPosition, locateJsonError } from '../../src/protocol/json-break.js';
import { directoryProblem, isDirectoryPath, missingFolderProblem, startQueues, stopQueues, type QueueEntry } from '../queues.js';
import { onShutdownSignal } from '../signals.js';
import { secondsFlag } from '../number-flags.js';

export interface TailFlags extends ConnectFlags {
  encoding?: string;
  prefix?: string;
  map: string[];
  mapFile?: string;
  positionFile?: string;
  deadLetterFile?: string;
  flushTimeout?: string;
  qos: string;
}

const MAP_EXAMPLE = 'JOB_ACTIVATED=jobs.activated';
/**
 * The young generation a tail may grow to, per semi-space, once it reads lines as text:
 * their batches in flight (two at the broker, one being parsed) outlive a scavenge of the
 * starting 1 MB but mostly not one of 2. Lines read from their bytes allocate about half
 * as much, and with them the tail keeps its starting size: a 200,000-line backlog of JSON
 * objects peaked at 56.7-58.3 MB held and 60.5-61.6 MB with this budget, while one of text
 * lines took 10-12 µs of CPU per line held and 6-8 with it (young-generation.ts).
 */
const TAIL_SEMI_SPACE_MB = 2;
/** Lines read as text after which a batch mostly of them grows the young generation: a backlog's worth. */
const TEXT_BACKLOG_LINES = 1000;

/** What a failed read of a file the user named says, by error code. */
function readFailure(err: unknown): string {
  const code = (err as NodeJS.ErrnoException).code;
  switch (code) {
    case 'ENOENT':
      return 'no such file';
    case 'EISDIR':
      return 'it is a directory; give the JSON file';
    case 'EACCES':
    case 'EPERM':
      return 'permission denied';
    default:
      return code ? `${code}: ${(err as Error).message}` : String(err);
  }
}

/** The JSON value of a `--map-file`, or a CliError that names the flag and says what is wrong where. */
function readMapFile(file: string): unknown {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    const where = (err as NodeJS.ErrnoException).code === 'ENOENT' && !path.isAbsolute(file) ? ` (looked for ${path.resolve(file)})` : '';
    throw new CliError(`cannot read --map-file ${file}: ${readFailure(err)}${where}`);
  }
  // Notepad saves UTF-8 with a BOM, which JSON does not allow.
  if (text.charCodeAt(0) === 0xfeff) text = text.slice(1);
  const broken = locateJsonError(text);
  if (broken) throw new CliError(`--map-file ${file} is not valid JSON: ${broken.reason} at ${jsonErrorPosition(text, broken)}\n${excerpt(text, broken)}`);
  return JSON.parse(text) as unknown;
}

/**
 * `LEGACY=topic` pairs and a JSON map file into one topic map (the pairs win), each
 * target checked against the topic rules behind `prefix`: a CliError names the first
 * bad one and the rule it breaks. `prefix` must have passed {@link checkPrefix}.
 */
export function parseTopicMap(pairs: string[], mapFile: string | undefined, prefix?: string): Record<string, string> {
  const p = normalisePrefix(prefix);
  const shown = (to: string): string => (p === '' ? `"${to}"` : `"${p + to}" (with --prefix)`);
  const map: Record<string, string> = {};
  if (mapFile) {
    const obj = readMapFile(mapFile);
    if (typeof obj !== 'object' || obj === null || Array.isArray(obj)) {
      throw new CliError(`--map-file ${mapFile}: expected one object of legacy names to topics, e.g. {"JOB_ACTIVATED": "jobs.activated"}`);
    }
    for (const [from, to] of Object.entries(obj)) {
      if (typeof to !== 'string') throw new CliError(`--map-file ${mapFile}: "${from}" must map to a topic string, e.g. "${from}": "jobs.activated"`);
      const badName = mapNameProblem(from);
      if (badName) throw new CliError(`--map-file ${mapFile}: the legacy name "${from}" never matches: ${badName}`);
      const bad = mapTargetProblem(p, to);
      if (bad) throw new CliError(`--map-file ${mapFile}: "${from}" maps to ${shown(to)}, which is not a topic lines can be published to: ${bad}`);
      map[from] = to;
    }
  }
  for (const pair of pairs) {
    const i = pair.indexOf('=');
    if (i <= 0 || i === pair.length - 1) throw new CliError(`invalid --map "${pair}": use LEGACY_NAME=topic, e.g. ${MAP_EXAMPLE}`);
    const from = pair.slice(0, i);
    const to = pair.slice(i + 1);
    const badName = mapNameProblem(from);
    if (badName) throw new CliError(`invalid --map "${pair}": the legacy name "${from}" never matches: ${badName}`);
    const bad = mapTargetProblem(p, to);
    if (bad) throw new CliError(`invalid --map "${pair}": ${shown(to)} is not a topic lines can be published to: ${bad}; map to one plain topic, e.g. ${MAP_EXAMPLE}`);
    map[from] = to;
  }
  return map;
}

/** A CliError when `--prefix` can never start a valid topic. */
export function checkPrefix(prefix: string | undefined): void {
  if (prefix === undefined) return;
  const bad = prefixProblem(normalisePrefix(prefix));
  if (bad) throw new CliError(`invalid --prefix "${prefix}": ${bad}; use plain dot-separated words, e.g. --prefix legacy`);
}

/** Run `bridge tail` with its parsed arguments. */
export async function runTail(file: string, flags: TailFlags): Promise<void> {
  if (flags.encoding && !isKnownEncoding(flags.encoding)) throw new CliError(`unknown --encoding "${flags.encoding}" (examples: windows-1252, cp1251, utf-8)`);
  const flush = flags.flushTimeout === undefined ? undefined : secondsFlag(flags.flushTimeout, '--flush-timeout');
  // Everything is checked before connecting: a mistake is one message and exit 1, not a
  // stack trace from a client that then keeps the process alive.
  const notFile = directoryProblem(file);
  if (notFile) throw new CliError(notFile);
  for (const [flag, value] of [['--position-file', flags.positionFile], ['--dead-letter-file', flags.deadLetterFile]] as const) {
    if (value !== undefined && isDirectoryPath(value)) throw new CliError(`${flag} ${value} is a directory; name a file, e.g. ${path.join(value, `${path.basename(file)}${flag === '--position-file' ? '.pos' : '.dead'}`)}`);
    const folder = value === undefined ? null : missingFolderProblem(value);
    if (folder) throw new CliError(`${flag} ${value} cannot be written: ${folder}`);
  }
  checkPrefix(flags.prefix);
  const entry: QueueEntry = {
    file: path.resolve(file),
    encoding: flags.encoding,
    prefix: flags.prefix,
    topicMap: parseTopicMap(flags.map, flags.mapFile, flags.prefix),
    positionFile: flags.positionFile,
    deadLetterFile: flags.deadLetterFile,
    flushTimeoutMs: flush === undefined ? undefined : flush * 1000,
    qos: flags.qos === '0' ? 0 : 1,
  };
  const log = cliLogger(flags, 'tail', 'info');
  const base = path.basename(file).replace(/[^A-Za-z0-9_-]/g, '_').slice(0, 100);
  // A stable client id: after a restart the session (and QoS 1 state) is the same one.
  const client = await connectClient({ ...flags, clientId: flags.clientId ?? `bridge.tail.${base}` }, { autoReconnect: true, cleanSession: false });
  client.on('disconnected', (reason) => {
    // Its own disconnect, at a stop, is no news for an operator.
    if (reason !== 'client_disconnect') log.warning('lost the broker; lines wait in the file until it is back', { reason });
  });
  let tailers: QueueTailer[];
  try {
    tailers = await startQueues([entry], client, log);
  } catch (err) {
    // The client reconnects forever: without this the error would never end the process.
    await client.disconnect().catch((e: unknown) => log.debug('could not disconnect after a failed start', { error: e }));
    throw err;
  }
  onShutdownSignal(async () => {
    await stopQueues(tailers);
    await client.disconnect();
    process.exit(0);
  }, log);
  // Loaded and following the file: let V8 compile again, inlining small functions only
  // (deferred-optimization.ts, inlining.ts).
  limitInlining();
  resumeOptimization();
  // A backlog promotes garbage to the old generation; collect it a megabyte at a time (old-generation.ts).
  const promoted = new PromotedGarbageCollector();
  let readAsText = 0;
  for (const tailer of tailers) {
    tailer.on('batch', (batch) => {
      // A backlog of lines read as text needs the room; a live line now and then does not.
      // Counted over batches: a batch ends with its decoded piece, so long lines make
      // small ones.
      readAsText += batch.readAsText;
      if (readAsText >= TEXT_BACKLOG_LINES && batch.readAsText * 2 >= batch.lines) growYoungGenerationUpTo(TAIL_SEMI_SPACE_MB);
      const collected = promoted.afterBatch();
      if (collected) log.debug('collected garbage promoted during a backlog', { old_space_before: collected.before, old_space_after: collected.after });
    });
  }
}
