/** Command-line options of `npm run bench -- ...`. */
import { tmpdir } from 'node:os';
import { parseArgs } from 'node:util';
import { defaultScenarioNames, scenarioNames } from './scenarios.js';
import { MIN_PAYLOAD_BYTES } from './wire.js';

export interface BenchOptions {
  /** Length of the measured window, seconds. */
  seconds: number;
  /** Runs of each throughput scenario (the table shows the median). */
  repeat: number;
  scenarios: string[];
  json: string | null;
  peers: boolean;
  /** End-to-end credit, messages; 0 = open flow (drops become visible as delivered %). */
  window: number;
  payloadBytes: number;
  /** QoS 1 scenarios: publish requests outstanding at once. */
  qos1Window: number;
  /** QoS 1 persisted scenarios: where the persistence directories are made. */
  persistDir: string;
  /** The broker's status page on, with no viewer (its cost when nobody looks). */
  http: boolean;
  help: boolean;
}

/** Enough unanswered publishes for the `batch` policy to group appends; what pipelining producers keep. */
export const DEFAULT_QOS1_WINDOW = 64;

export const USAGE = `usage: npm run bench -- [options]

  --seconds N       measured window per run, after a 1 s warm-up (default 5); the
                    bridge and queue scenarios count starts, requests and lines instead
  --repeat N        runs of each throughput scenario; the table shows the median (default 3)
  --scenarios a,b   subset of: ${scenarioNames().join(', ')}
                    (default: all but federation-*, which need Debian's nats-server
                    and mosquitto, and idle-connections, which needs ulimit -n of
                    about 1,100 or more)
  --json FILE       also write all results as JSON
  --peers           afterwards run ../shared/peer-bench/compare.sh (Mosquitto, NATS, Redis,
                    Aedes, a Node ceiling relay) against our broker, when that folder exists;
                    --seconds and --repeat, when given, are passed on to it
  --window N        publisher credit ahead of the slowest subscriber, in messages;
                    0 = open flow, where broker drops show as delivered % < 100 (default 20000)
  --payload BYTES   JSON payload size (default 100, minimum ${MIN_PAYLOAD_BYTES})
  --qos1-window N   QoS 1 scenarios: publish requests outstanding at once (default ${DEFAULT_QOS1_WINDOW})
  --persist-dir DIR QoS 1 persisted scenarios: folder for each run's fresh persistence
                    directory, removed after the run; put it on the disk you care about
                    (default: the OS temp folder, ${tmpdir()})
  --http            start the broker with its status page on (any free port, nobody
                    viewing): compare with a run without it
  -h, --help`;

/** Thrown for a bad command line; run.ts prints it with the usage. */
export class UsageError extends Error {}

function number(raw: string | undefined, name: string, fallback: number, min: number, max: number, integer: boolean): number {
  if (raw === undefined) return fallback;
  const n = Number(raw);
  if (!Number.isFinite(n) || n < min || n > max || (integer && !Number.isInteger(n))) {
    throw new UsageError(`--${name} must be ${integer ? 'an integer' : 'a number'} from ${min} to ${max}, got ${JSON.stringify(raw)}`);
  }
  return n;
}

export function parseOptions(argv: string[]): BenchOptions {
  let values;
  try {
    ({ values } = parseArgs({
      args: argv,
      strict: true,
      allowPositionals: false,
      options: {
        seconds: { type: 'string' },
        repeat: { type: 'string' },
        scenarios: { type: 'string' },
        json: { type: 'string' },
        peers: { type: 'boolean' },
        window: { type: 'string' },
        payload: { type: 'string' },
        'qos1-window': { type: 'string' },
        'persist-dir': { type: 'string' },
        http: { type: 'boolean' },
        help: { type: 'boolean', short: 'h' },
      },
    }));
  } catch (err) {
    throw new UsageError((err as Error).message);
  }
  const known = scenarioNames();
  const scenarios = values.scenarios === undefined ? defaultScenarioNames() : values.scenarios.split(',').map((s) => s.trim()).filter(Boolean);
  const unknown = scenarios.filter((s) => !known.includes(s));
  if (unknown.length > 0 || scenarios.length === 0) {
    throw new UsageError(`--scenarios: unknown ${JSON.stringify(unknown.join(','))}; known: ${known.join(', ')}`);
  }
  return {
    seconds: number(values.seconds, 'seconds', 5, 0.5, 60, false),
    repeat: number(values.repeat, 'repeat', 3, 1, 10, true),
    scenarios,
    json: values.json ?? null,
    peers: values.peers ?? false,
    window: number(values.window, 'window', 20_000, 0, 10_000_000, true),
    payloadBytes: number(values.payload, 'payload', 100, MIN_PAYLOAD_BYTES, 64 * 1024, true),
    qos1Window: number(values['qos1-window'], 'qos1-window', DEFAULT_QOS1_WINDOW, 1, 100_000, true),
    persistDir: values['persist-dir'] ?? tmpdir(),
    http: values.http === true,
    help: values.help ?? false,
  };
}

/** The options the user gave explicitly that the peer harness also understands. */
export function peerPassThrough(argv: string[]): string[] {
  const out: string[] = [];
  const opts = parseOptions(argv);
  if (argv.some((a) => a === '--seconds' || a.startsWith('--seconds='))) out.push('--seconds', String(opts.seconds));
  if (argv.some((a) => a === '--repeat' || a.startsWith('--repeat='))) out.push('--repeat', String(opts.repeat));
  return out;
}
