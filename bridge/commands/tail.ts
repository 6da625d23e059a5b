/**
 * `bridge tail <file>`: publish the lines a legacy script FileAppends to a queue file,
 * through any running broker, until Ctrl+C. Lines are `TOPIC|payload`.
 */
import path from 'node:path';
import { Command, Option } from 'commander';
import { readJsonConfigFile } from '../../src/broker/index.js';
import { isKnownEncoding } from '../../src/protocol/text.js';
import { CliError } from '../cli-error.js';
import { cliLogger, connectClient, withConnectFlags, type ConnectFlags } from '../connect-options.js';
import { startQueues, stopQueues, type QueueEntry } from '../queues.js';
import { onShutdownSignal } from '../signals.js';

interface TailFlags extends ConnectFlags {
  encoding?: string;
  prefix?: string;
  map: string[];
  mapFile?: string;
  positionFile?: string;
  deadLetterFile?: string;
  flushTimeout?: string;
  qos: string;
}

const collect = (value: string, previous: string[]): string[] => [...previous, value];

/** `LEGACY=topic` pairs and a JSON map file into one topic map. */
export function parseTopicMap(pairs: string[], mapFile: string | undefined): Record<string, string> {
  const map: Record<string, string> = {};
  if (mapFile) {
    let obj: unknown;
    try {
      obj = readJsonConfigFile(mapFile);
    } catch (err) {
      throw new CliError((err as Error).message);
    }
    if (typeof obj !== 'object' || obj === null || Array.isArray(obj) || Object.values(obj).some((v) => typeof v !== 'string')) {
      throw new CliError(`${mapFile}: expected {"LEGACY_NAME": "topic", ...}`);
    }
    Object.assign(map, obj);
  }
  for (const pair of pairs) {
    const i = pair.indexOf('=');
    if (i <= 0 || i === pair.length - 1) throw new CliError(`invalid --map "${pair}": use LEGACY_NAME=topic, e.g. JOB_ACTIVATED=jobs.activated`);
    map[pair.slice(0, i)] = pair.slice(i + 1);
  }
  return map;
}

export function tailCommand(): Command {
  const cmd = new Command('tail')
    .description('publish every line a legacy script appends to a queue file (TOPIC|payload), none lost')
    .argument('<file>', 'the queue file, e.g. C:\\temp\\broker_queue.txt (may not exist yet)')
    .option('-e, --encoding <name>', 'code page when the file has no BOM (default windows-1252)')
    .option('--prefix <prefix>', 'put in front of every topic, after --map (e.g. legacy.)')
    .option('-m, --map <LEGACY=topic>', 'map a legacy name to a topic (repeatable)', collect, [])
    .option('--map-file <file>', 'JSON file of {"LEGACY_NAME": "topic"}')
    .option('--position-file <file>', 'where the read position is kept (default <file>.pos)')
    .option('--dead-letter-file <file>', 'where unpublishable lines go (default <file>.dead)')
    .option('--flush-timeout <seconds>', 'take a last line without newline after this long (default 2)')
    .addOption(new Option('-q, --qos <qos>', 'QoS of the publishes').choices(['0', '1']).default('1'));
  withConnectFlags(cmd, 'info').action(async (file: string, flags: TailFlags) => {
    if (flags.encoding && !isKnownEncoding(flags.encoding)) throw new CliError(`unknown --encoding "${flags.encoding}" (examples: windows-1252, cp1251, utf-8)`);
    const flush = flags.flushTimeout === undefined ? undefined : Number(flags.flushTimeout);
    if (flush !== undefined && !(flush > 0)) throw new CliError(`invalid --flush-timeout "${flags.flushTimeout}"`);
    const entry: QueueEntry = {
      file: path.resolve(file),
      encoding: flags.encoding,
      prefix: flags.prefix,
      topicMap: parseTopicMap(flags.map, flags.mapFile),
      positionFile: flags.positionFile,
      deadLetterFile: flags.deadLetterFile,
      flushTimeoutMs: flush === undefined ? undefined : flush * 1000,
      qos: flags.qos === '0' ? 0 : 1,
    };
    const log = cliLogger(flags, 'tail', 'info');
    const base = path.basename(file).replace(/[^A-Za-z0-9_-]/g, '_').slice(0, 100);
    // A stable client id: after a restart the session (and QoS 1 state) is the same one.
    const client = await connectClient({ ...flags, clientId: flags.clientId ?? `bridge.tail.${base}` }, { autoReconnect: true, cleanSession: false });
    client.on('disconnected', (reason) => log.warning('lost the broker; lines wait in the file until it is back', { reason }));
    const tailers = await startQueues([entry], client, log);
    onShutdownSignal(async () => {
      await stopQueues(tailers);
      await client.disconnect();
      process.exit(0);
    }, log);
  });
  return cmd;
}
