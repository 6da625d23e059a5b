/** `bridge logs KEY`: its arguments, flags and help; the work is in logs.ts, loaded when it runs. */
import { Command } from 'commander';
import { withConnectFlags } from '../connect-flags.js';
import { DEFAULT_LOG_LINES } from '../supervisor/output-ring.js';
import type { LogsFlags } from './logs.js';

export function logsCommand(): Command {
  const cmd = new Command('logs')
    .description("print a script's recent output and stderr, with its starts and stops (--follow for live lines)")
    .argument('<key>', 'the script key (bridge ps lists them)')
    .option('-n, --lines <n>', `how many of the newest lines (the bridge keeps up to 1000)`, String(DEFAULT_LOG_LINES))
    .option('-f, --follow', 'go on printing new lines until Ctrl+C')
    .option('-t, --timestamps', 'put the time of each line in front of it')
    .option('--json', 'one JSON object per line: {seq, stream, text, timestamp} (seq null for a line the bridge did not number)');
  return withConnectFlags(cmd).action(async (key: string, flags: LogsFlags) => (await import('./logs.js')).runLogs(key, flags));
}
