/** `bridge up`: its flags and help; the work is in up.ts, loaded when it runs. */
import { Command } from 'commander';
import { withHttpFlag, withLogFileFlag, withLogFlags } from '../connect-flags.js';
import type { UpFlags } from './up.js';

export function upCommand(): Command {
  const cmd = new Command('up')
    .description('supervise every script in a config file under one broker (Ctrl+C stops them all)')
    .option('-c, --config <file>', 'the bridge config file', 'bridge.config.json')
    .option('-i, --client-id <id>', 'the id this bridge connects as (per-client credentials name it; two bridges on one broker need two ids)', 'bridge')
    .option('--ahk <path>', 'AutoHotkey interpreter (overrides the config; env AHK_PATH)')
    .option('-H, --host <host>', 'broker host (default: the config, then localhost)')
    .option('-p, --port <port>', 'broker port (default: the config, then 15234)')
    .option('--token <token>', 'broker token (env BROKER_TOKEN)')
    .option('--watch', 'restart a script when it or a file it #Includes is saved')
    .option('--stop-on-stdin-close', 'stop every script and exit when stdin closes (for a parent process that runs the bridge)');
  withHttpFlag(cmd);
  withLogFlags(cmd, 'info');
  withLogFileFlag(cmd);
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
  cmd.action(async (flags: UpFlags) => (await import('./up.js')).runUp(flags, cmd));
  return cmd;
}
