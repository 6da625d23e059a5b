/** `bridge up`: supervise every script in bridge.config.json under one broker. */
import { Command } from 'commander';
import { VERSION } from '../../src/version.js';
import { loadBridgeConfig } from '../bridge-config.js';
import { CliError } from '../cli-error.js';
import { cliLogger, openLink, withLogFlags, type LogFlags } from '../connect-options.js';
import { startQueues, stopQueues } from '../queues.js';
import { ScriptRegistry } from '../script-registry.js';
import { onShutdownSignal } from '../signals.js';
import { watchScripts, type WatchSet } from '../supervisor/script-watcher.js';
import { formatSummary, useColour } from '../summary-table.js';

interface UpFlags extends LogFlags {
  config: string;
  ahk?: string;
  host?: string;
  port?: string;
  token?: string;
  stopOnStdinClose?: boolean;
  watch?: boolean;
}

export function upCommand(): Command {
  const cmd = new Command('up')
    .description('supervise every script in a config file under one broker (Ctrl+C stops them all)')
    .option('-c, --config <file>', 'the bridge config file', 'bridge.config.json')
    .option('--ahk <path>', 'AutoHotkey interpreter (overrides the config; env AHK_PATH)')
    .option('-H, --host <host>', 'broker host (default: the config, then localhost)')
    .option('-p, --port <port>', 'broker port (default: the config, then 15234)')
    .option('--token <token>', 'broker token (env BROKER_TOKEN)')
    .option('--watch', 'restart a script when it or a file it #Includes is saved')
    .option('--stop-on-stdin-close', 'stop every script and exit when stdin closes (for a parent process that runs the bridge)');
  withLogFlags(cmd, 'info');
  cmd.addHelpText(
    'after',
    `
bridge.config.json:
  {
    "broker": { "port": 15234 },
    "interpreter": "C:/Program Files/AutoHotkey/v2/AutoHotkey64.exe",
    "script_folders": ["scripts"],
    "scripts": [
      { "key": "cad", "path": "scripts/cad_hotkeys.ahk", "restart": "on-failure" },
      { "key": "saw1", "path": "scripts/saw.ahk", "args": ["--saw", "1"], "encoding": "cp1252" }
    ],
    "queues": [
      { "file": "C:/temp/broker_queue.txt", "topic_map": { "JOB_ACTIVATED": "jobs.activated" } }
    ]
  }`,
  );
  cmd.action(async (flags: UpFlags) => {
    const log = cliLogger(flags, 'bridge', 'info');
    const config = loadBridgeConfig(flags.config);
    // Script folders alone make a host for scripts.run (Python's AHKBridge starts one).
    if (config.scripts.length === 0 && config.queues.length === 0 && config.scriptFolders.length === 0) {
      throw new CliError(`${flags.config} lists no scripts, no queues and no script_folders: add entries under "scripts", "queues" or "script_folders"`);
    }
    const { link, role: linkRole, host, port } = await openLink(flags, 'bridge', log, config.broker);
    const registry = new ScriptRegistry({ link, log, interpreter: flags.ahk ?? config.interpreter, scriptFolders: config.scriptFolders });
    let tailers: Awaited<ReturnType<typeof startQueues>> = [];
    let watching: WatchSet | undefined;
    // Handlers before anything starts: a stop request during start-up still stops what
    // has started instead of leaving Node's default (an exit with the scripts running).
    onShutdownSignal(async () => {
      await watching?.close();
      await stopQueues(tailers);
      await registry.stopAll();
      await link.stop();
      process.exit(0);
    }, log, { stdin: flags.stopOnStdinClose === true ? process.stdin : undefined });
    const supervisors = [];
    for (const entry of config.scripts) supervisors.push(await registry.add(entry));
    await registry.serveControl();
    tailers = await startQueues(config.queues, link.client, log);
    await Promise.all(supervisors.map((s) => s.start()));
    if (flags.watch) watching = await watchScripts(supervisors.map((s, i) => ({ supervisor: s, interpreter: config.scripts[i]?.interpreter ?? flags.ahk ?? config.interpreter })), log);
    const rows = supervisors.map((s) => ({ status: s.status(), restart: s.spec.restart.mode }));
    const role = linkRole === 'hosting' ? 'hosting the broker' : 'joined the broker';
    const queues = config.queues.length > 0 ? `, ${config.queues.length} queue file${config.queues.length === 1 ? '' : 's'}` : '';
    process.stdout.write(`ahk-bridge ${VERSION}: ${role} on ${host}:${port}, ${rows.length} script${rows.length === 1 ? '' : 's'}${queues}\n`);
    if (rows.length > 0) process.stdout.write(formatSummary(rows, useColour(process.stdout)) + '\n');
  });
  return cmd;
}
