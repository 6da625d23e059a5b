/**
 * `bridge run <script.ahk> --key <key> [-- args]`: supervise one AutoHotkey script under
 * the broker (joined, or hosted here when none runs) and exit with the script's code. Its
 * arguments and flags are in run-command.ts; this module loads when the command runs.
 */
import path from 'node:path';
import { isKnownEncoding } from '../../src/protocol/text.js';
import { loadBridgeConfig, parseRestart, SCRIPT_KEY, scriptFileProblem, type BridgeConfig } from '../bridge-config.js';
import { CliError } from '../cli-error.js';
import { cliLogger, type LogFlags } from '../connect-options.js';
import { openLink } from '../open-link.js';
import { ClientIdTakenError, keyTakenCliError, refuseTakenKeys } from '../owner-probe.js';
import { checkQueues, startQueues, stopQueues, type QueueEntry } from '../queues.js';
import { interpreterFor, KeyTakenError, ScriptRegistry } from '../script-registry.js';
import { onShutdownSignal } from '../signals.js';
import { resumeOptimization } from '../deferred-optimization.js';
import { InterpreterNotFoundError, type GivenInterpreters } from '../supervisor/interpreter.js';
import type { LastExit } from '../supervisor/script-supervisor.js';
import { watchScripts } from '../supervisor/script-watcher.js';
import { secondsFlag } from '../number-flags.js';

export interface RunFlags extends LogFlags {
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

/** Run `bridge run` with its parsed arguments. */
export async function runRun(script: string, args: string[], flags: RunFlags): Promise<void> {
  const log = cliLogger(flags, 'bridge', 'info');
  const config: BridgeConfig | undefined = flags.config ? loadBridgeConfig(flags.config) : undefined;
  const key = flags.key ?? path.basename(script, path.extname(script)).replace(/[^A-Za-z0-9_-]/g, '_');
  if (!SCRIPT_KEY.test(key)) throw new CliError(`invalid --key "${key}": use 1-64 of A-Z a-z 0-9 _ -`);
  if (!isKnownEncoding(flags.encoding)) throw new CliError(`unknown --encoding "${flags.encoding}" (examples: utf-8, cp1252, cp1251, utf-16le)`);
  const grace = secondsFlag(flags.stopGrace, '--stop-grace');
  const readyTimeout = secondsFlag(flags.readyTimeout, '--ready-timeout');
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
    link.beginStopping();
    await watching?.close();
    await supervisor.stop();
    await finish();
  }, log);
  await supervisor.start();
  // Loaded and started: what runs hot from here on is the scripts' traffic (deferred-optimization.ts).
  resumeOptimization();
}
