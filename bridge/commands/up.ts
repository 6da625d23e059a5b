/**
 * `bridge up`: supervise every script in bridge.config.json under one broker. Its flags
 * are in up-command.ts; this module loads when the command runs.
 */
import type { Command } from 'commander';
import { VERSION } from '../../src/version.js';
import { ConfigNotFoundError, loadBridgeConfig, scriptFileProblem, type BridgeConfig } from '../bridge-config.js';
import { CliError } from '../cli-error.js';
import { cliLogger, type LogFlags } from '../connect-options.js';
import { linkAddress, openLink } from '../open-link.js';
import { ClientIdTakenError, keyTakenCliError, refuseTakenKeys } from '../owner-probe.js';
import { InstanceRunningError, lockInstance, type InstanceLock } from '../instance-lock.js';
import { resumeOptimization } from '../deferred-optimization.js';
import { checkQueues, startQueues, stopQueues } from '../queues.js';
import { interpreterFor, KeyTakenError, ScriptRegistry } from '../script-registry.js';
import { onShutdownSignal, type ShutdownHandle } from '../signals.js';
import { SHUTDOWN_TOPIC, type ShutdownAnswer } from '../shutdown-request.js';
import type { BrokerLink } from '../broker-link.js';
import type { Logger } from '../../src/log/logger.js';
import { startupSettled } from '../startup-settle.js';
import { watchScripts, type WatchSet } from '../supervisor/script-watcher.js';
import { formatSummary, useColour } from '../summary-table.js';
import { InterpreterNotFoundError, type GivenInterpreters } from '../supervisor/interpreter.js';

/** The definition, importable from here too: a unit test builds it to read its help. */
export { upCommand } from './up-command.js';

export interface UpFlags extends LogFlags {
  config: string;
  clientId: string;
  ahk?: string;
  host?: string;
  port?: string;
  token?: string;
  stopOnStdinClose?: boolean;
  watch?: boolean;
  http?: string | boolean;
  upstream?: string;
}

/** The config, or an error that says how to make one when the default file is missing. */
function loadConfig(file: string, isDefault: boolean): BridgeConfig {
  try {
    return loadBridgeConfig(file);
  } catch (err) {
    if (err instanceof ConfigNotFoundError && isDefault) {
      throw new CliError(`no bridge.config.json in ${process.cwd()}: create one with \`bridge init\` (writes one for the scripts in a folder), or give --config FILE`);
    }
    throw err;
  }
}

/**
 * Refuse, before joining a broker or starting anything, a config whose scripts cannot
 * start: a path that is missing or a folder, or no interpreter. Every such script is named.
 */
async function checkScripts(config: BridgeConfig, interpreter: GivenInterpreters): Promise<void> {
  const problems: string[] = [];
  for (const entry of config.scripts) {
    const problem = scriptFileProblem(entry.path);
    if (problem) problems.push(`${config.source}: key ${entry.key}: ${problem}`);
  }
  if (problems.length > 0) throw new CliError(problems.join('\n'));
  // Scripts that share the interpreter share its message: one line for all of them.
  const missing = new Map<string, string[]>();
  for (const entry of config.scripts) {
    try {
      await interpreterFor(entry, interpreter);
    } catch (err) {
      if (!(err instanceof InterpreterNotFoundError)) throw err;
      missing.set(err.message, [...(missing.get(err.message) ?? []), entry.key]);
    }
  }
  if (missing.size > 0) {
    throw new CliError([...missing].map(([message, keys]) => `no interpreter for key${keys.length > 1 ? 's' : ''} ${keys.join(', ')}: ${message}`).join('\n'));
  }
}

/**
 * The config `bridge up` would run, refused with every reason before anything starts: no
 * file, nothing in it, a script or interpreter missing, a queue map that cannot work.
 * `bridge install-startup` asks the same before it registers a logon entry.
 */
export async function loadRunnableConfig(file: string, isDefault: boolean, ahk: string | undefined): Promise<{ config: BridgeConfig; interpreter: GivenInterpreters }> {
  const config = loadConfig(file, isDefault);
  // Script folders alone make a host for scripts.run (Python's AHKBridge starts one).
  if (config.scripts.length === 0 && config.queues.length === 0 && config.scriptFolders.length === 0) {
    throw new CliError(`${file} lists no scripts, no queues and no script_folders: add entries under "scripts", "queues" or "script_folders"`);
  }
  const interpreter: GivenInterpreters = { explicit: ahk, configured: config.interpreter, configFile: config.source };
  await checkScripts(config, interpreter);
  checkQueues(config.queues);
  return { config, interpreter };
}

/**
 * A second `bridge up` for a bridge already running: it exits, changing nothing, and says
 * so (in its log file too, where a copy started at logon is read).
 */
function secondCopyError(running: string, clientId: string): CliError {
  const down = `bridge down${clientId === 'bridge' ? '' : ` ${clientId}`}`;
  return new CliError(
    `${running}: this \`bridge up\` exits and changes nothing; the running one keeps the broker and its scripts. To restart it, \`${down}\` first; to run a second bridge beside it, give this one its own --client-id`,
  );
}

/**
 * Make sure this is the only `bridge up` for its client id: first on this computer (a
 * lock file, which two copies started at the same moment cannot both take), then on the
 * broker (a bridge elsewhere with this id, or one holding one of our keys). Returns the
 * lock, held until the bridge stops.
 */
async function claimInstance(flags: UpFlags, config: BridgeConfig, log: Logger): Promise<InstanceLock> {
  const { host, port } = linkAddress(flags, config.broker);
  let lock: InstanceLock;
  try {
    lock = await lockInstance(flags.clientId, host, port);
  } catch (err) {
    if (err instanceof InstanceRunningError) throw secondCopyError(err.message, flags.clientId);
    throw err;
  }
  try {
    await refuseTakenKeys(flags, flags.clientId, config.scripts.map((s) => s.key), log, config.broker);
    return lock;
  } catch (err) {
    await lock.release();
    // A bridge with our own id holding our key is this same `bridge up` running already
    // (on another computer sharing the broker, or started before the lock existed).
    if (err instanceof KeyTakenError && err.holder.bridge === flags.clientId) {
      throw secondCopyError(`${new ClientIdTakenError(flags.clientId).message}${err.holder.pid === undefined ? '' : ` (pid ${err.holder.pid})`}`, flags.clientId);
    }
    if (err instanceof KeyTakenError) throw keyTakenCliError(err, `choose another key in ${flags.config}`);
    if (err instanceof ClientIdTakenError) throw secondCopyError(err.message, flags.clientId);
    throw err;
  }
}

/** Run `bridge up` with its parsed flags; `cmd` tells a given --config from the default. */
export async function runUp(flags: UpFlags, cmd: Command): Promise<void> {
  const log = cliLogger(flags, 'bridge', 'info');
  const { config, interpreter } = await loadRunnableConfig(flags.config, cmd.getOptionValueSource('config') === 'default', flags.ahk);
  const lock = await claimInstance(flags, config, log);
  await superviseAll(flags, config, interpreter, log, lock);
}

/**
 * Join or host the broker and supervise the config's scripts and queues until stopped.
 * Whatever fails on the way stops what had started, and frees the lock, before the error
 * goes up: a half-started bridge must not stay connected with its scripts and no lock.
 */
async function superviseAll(flags: UpFlags, config: BridgeConfig, interpreter: GivenInterpreters, log: Logger, lock: InstanceLock): Promise<void> {
  let opened;
  try {
    opened = await openLink(flags, flags.clientId, log, config.broker);
  } catch (err) {
    await lock.release();
    throw err;
  }
  const { link, role: linkRole, host, port } = opened;
  const registry = new ScriptRegistry({ link, log, interpreter, scriptFolders: config.scriptFolders });
  let tailers: Awaited<ReturnType<typeof startQueues>> = [];
  let watching: WatchSet | undefined;
  const stopEverything = async (): Promise<void> => {
    link.beginStopping();
    await watching?.close();
    await stopQueues(tailers);
    await registry.stopAll();
    await link.stop();
    await lock.release();
  };
  // Handlers before anything starts: a stop request during start-up still stops what
  // has started instead of leaving Node's default (an exit with the scripts running).
  const shutdown = onShutdownSignal(async () => {
    await stopEverything();
    process.exit(0);
  }, log, { stdin: flags.stopOnStdinClose === true ? process.stdin : undefined });
  let supervisors;
  try {
    supervisors = await registry.addAll(config.scripts);
    await registry.serveControl();
    await serveShutdownRequests(link, flags.clientId, supervisors.length, log, shutdown);
    tailers = await startQueues(config.queues, link.client, log);
  } catch (err) {
    shutdown();
    await stopEverything();
    // Taken since the question above (two bridges starting at once).
    if (err instanceof KeyTakenError) throw keyTakenCliError(err, `choose another key in ${flags.config}`);
    throw err;
  }
  // Listening before the starts, so no @ready is missed.
  const settled = startupSettled(supervisors);
  await Promise.all(supervisors.map((s) => s.start()));
  if (flags.watch) watching = await watchScripts(supervisors.map((s, i) => ({ supervisor: s, interpreter: { ...interpreter, own: config.scripts[i]?.interpreter } })), log);
  // Loaded (the watcher too) and started: what runs hot from here on is the scripts'
  // traffic (deferred-optimization.ts).
  resumeOptimization();
  const role = linkRole === 'hosting' ? 'hosting the broker' : 'joined the broker';
  const queues = config.queues.length > 0 ? `, ${config.queues.length} queue file${config.queues.length === 1 ? '' : 's'}` : '';
  process.stdout.write(`ahk-bridge ${VERSION}: ${role} on ${host}:${port}, ${supervisors.length} script${supervisors.length === 1 ? '' : 's'}${queues}\n`);
  // The table once states have settled: "running" right after the spawn says nothing
  // about a script that fails to load a moment later.
  await settled;
  const rows = supervisors.map((s) => ({ status: s.status(), restart: s.spec.restart.mode }));
  if (rows.length > 0) process.stdout.write(formatSummary(rows, useColour(process.stdout)) + '\n');
}

/** Answer `bridge down`: reply first, then stop as Ctrl+C would. */
async function serveShutdownRequests(link: BrokerLink, clientId: string, scripts: number, log: Logger, shutdown: ShutdownHandle): Promise<void> {
  let requested = false;
  await link.subscribe([SHUTDOWN_TOPIC], (msg): ShutdownAnswer | undefined => {
    // Another bridge's request: no answer, so that bridge's own is the one the asker gets.
    if ((msg.payload as { client_id?: unknown } | null)?.client_id !== clientId) return undefined;
    log.info('stop requested', { sender: msg.sender });
    // After this handler's reply is written; a repeated request changes nothing (a second
    // Ctrl+C would exit at once, leaving scripts behind).
    if (!requested) setImmediate(() => shutdown.now('request'));
    requested = true;
    return { stopping: true, pid: process.pid, scripts };
  });
}
