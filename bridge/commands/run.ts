/**
 * `bridge run <script.ahk> --key <key> [-- args]`: supervise one AutoHotkey script under
 * the broker (joined, or hosted here when none runs) and exit with the script's code.
 */
import path from 'node:path';
import { Command, Option } from 'commander';
import { isKnownEncoding } from '../../src/protocol/text.js';
import { DEFAULT_STOP_GRACE, loadBridgeConfig, parseRestart, SCRIPT_KEY, scriptFileProblem, type BridgeConfig } from '../bridge-config.js';
import { CliError } from '../cli-error.js';
import { cliLogger, openLink, withHttpFlag, withLogFlags, type LogFlags } from '../connect-options.js';
import { ClientIdTakenError, keyTakenCliError, refuseTakenKeys } from '../owner-probe.js';
import { checkQueues, startQueues, stopQueues, type QueueEntry } from '../queues.js';
import { interpreterFor, KeyTakenError, ScriptRegistry } from '../script-registry.js';
import { onShutdownSignal } from '../signals.js';
import { InterpreterNotFoundError, type GivenInterpreters } from '../supervisor/interpreter.js';
import { RESTART_MODES } from '../supervisor/restart-policy.js';
import { DEFAULT_READY_TIMEOUT, type LastExit } from '../supervisor/script-supervisor.js';
import { watchScripts } from '../supervisor/script-watcher.js';

interface RunFlags extends LogFlags {
  key?: string;
  host?: string;
  port?: string;
  token?: string;
  ahk?: string;
  encoding: string;
  restart?: string;
  stopGrace: string;
  readyTimeout: string;
  config?: string;
  queue: string[];
  watch?: boolean;
  http?: string | boolean;
  upstream?: string;
}

/**
 * The exit code `bridge run` ends with: the script's own code; 1 when it had none because
 * it was killed by a signal or never started (no interpreter, unreadable file).
 */
export function exitCodeFor(last: Pick<LastExit, 'exit_code' | 'reason'>): number {
  if (last.exit_code !== null) return last.exit_code;
  return last.reason === 'stopped' || last.reason === 'clean_exit' ? 0 : 1;
}

export function runCommand(): Command {
  const cmd = new Command('run')
    .description('run an AutoHotkey script under the broker: its output becomes messages, command topics go to its stdin')
    .argument('<script>', 'the .ahk script')
    .argument('[args...]', 'arguments for the script (put them after --)')
    .option('-k, --key <key>', 'topic key: events go to scripts.<key>.* (default: the script name)')
    .option('--ahk <path>', 'AutoHotkey interpreter (env AHK_PATH; found automatically on Windows)')
    .option('-e, --encoding <name>', "encoding of the script's output: utf-8, cp1252, ...", 'utf-8')
    .addOption(new Option('-r, --restart <mode>', 'restart policy (default on-failure; timings from --config "restart")').choices([...RESTART_MODES]))
    .option('--stop-grace <seconds>', 'time the script gets to exit after the exit command', String(DEFAULT_STOP_GRACE))
    .option('--ready-timeout <seconds>', 'how long commands wait for the script to print @ready', String(DEFAULT_READY_TIMEOUT))
    .option('-c, --config <file>', 'bridge.config.json (interpreter, broker options, restart timings, queues)')
    .option('-Q, --queue <file>', 'also publish a legacy FileAppend queue file (repeatable)', (v: string, prev: string[]) => [...prev, v], [] as string[])
    .option('--watch', 'restart the script when it or a file it #Includes is saved; keep running after it ends')
    .option('-H, --host <host>', 'broker host (env BROKER_HOST, default localhost)')
    .option('-p, --port <port>', 'broker port (env BROKER_PORT, default 15234)')
    .option('--token <token>', 'broker token (env BROKER_TOKEN)');
  withHttpFlag(cmd);
  withLogFlags(cmd, 'info');
  cmd.addHelpText('after', '\nExample:\n  bridge run scripts/cad_hotkeys.ahk --key cad -- --job 12345');
  cmd.action(async (script: string, args: string[], flags: RunFlags) => {
    const log = cliLogger(flags, 'bridge', 'info');
    const config: BridgeConfig | undefined = flags.config ? loadBridgeConfig(flags.config) : undefined;
    const key = flags.key ?? path.basename(script, path.extname(script)).replace(/[^A-Za-z0-9_-]/g, '_');
    if (!SCRIPT_KEY.test(key)) throw new CliError(`invalid --key "${key}": use 1-64 of A-Z a-z 0-9 _ -`);
    if (!isKnownEncoding(flags.encoding)) throw new CliError(`unknown --encoding "${flags.encoding}" (examples: utf-8, cp1252, cp1251, utf-16le)`);
    const grace = Number(flags.stopGrace);
    if (!(grace > 0)) throw new CliError(`invalid --stop-grace "${flags.stopGrace}": use a positive number of seconds`);
    const readyTimeout = Number(flags.readyTimeout);
    if (!(readyTimeout > 0)) throw new CliError(`invalid --ready-timeout "${flags.readyTimeout}": use a positive number of seconds`);
    // Everything that would only fail later is checked before a broker is joined or hosted.
    const scriptPath = path.resolve(script);
    const problem = scriptFileProblem(scriptPath);
    if (problem) throw new CliError(problem);
    const interpreter: GivenInterpreters = { explicit: flags.ahk, configured: config?.interpreter, configFile: config?.source };
    try {
      await interpreterFor({ path: scriptPath }, interpreter);
    } catch (err) {
      if (err instanceof InterpreterNotFoundError) throw new CliError(err.message);
      throw err;
    }
    const queueEntries = [...(config?.queues ?? []), ...flags.queue.map((f): QueueEntry => ({ file: path.resolve(f), qos: 1 }))];
    checkQueues(queueEntries);
    const clientId = `bridge.${key}`;
    try {
      await refuseTakenKeys(flags, clientId, [key], log, config?.broker);
    } catch (err) {
      if (err instanceof KeyTakenError) throw keyTakenCliError(err, 'choose another --key');
      if (err instanceof ClientIdTakenError) throw new CliError(`${err.message} (another \`bridge run --key ${key}\`?): stop it first, or choose another --key`);
      throw err;
    }
    const { link } = await openLink(flags, clientId, log, config?.broker);
    const registry = new ScriptRegistry({ link, log, interpreter, scriptFolders: config?.scriptFolders ?? [] });
    let supervisor;
    try {
      supervisor = await registry.add({
        key,
        path: scriptPath,
        args,
        restart: parseRestart(flags.restart, '--restart', config?.restart),
        encoding: flags.encoding,
        stopGrace: grace,
        readyTimeout,
      });
    } catch (err) {
      // Taken since the question above (two bridges starting at once).
      await link.stop();
      if (err instanceof KeyTakenError) throw keyTakenCliError(err, 'choose another --key');
      throw err;
    }
    await registry.serveControl();
    const tailers = await startQueues(queueEntries, link.client, log);

    let finishing = false;
    const finish = async (): Promise<void> => {
      if (finishing) return;
      finishing = true;
      const last = supervisor.status().last_exit;
      await stopQueues(tailers);
      await link.stop();
      process.exit(last ? exitCodeFor(last) : 1);
    };
    // Watching, the script ending (or failing to load) is no reason to exit: a save restarts it.
    const watching = flags.watch ? await watchScripts([{ supervisor, interpreter }], log) : undefined;
    if (!watching) supervisor.on('settled', () => {
      finish().catch((err: unknown) => {
        log.error('could not shut down cleanly', { error: err as Error });
        process.exit(1);
      });
    });
    onShutdownSignal(async () => {
      await watching?.close();
      await supervisor.stop();
      await finish();
    }, log);
    await supervisor.start();
  });
  return cmd;
}
