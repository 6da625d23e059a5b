/** `bridge lib export [DIR]`: its arguments, flags and help; the work is in lib.ts, loaded when it runs. */
import { Command } from 'commander';
import type { LibExportFlags } from './lib.js';

export function libCommand(): Command {
  const lib = new Command('lib').description("the AutoHotkey libraries (Bridge.ahk, BrokerClient.ahk, BridgeJson.ahk) for scripts to #Include");
  lib
    .command('export')
    .description('write the AutoHotkey libraries into a folder (default: lib, beside your scripts)')
    .argument('[dir]', 'the folder to write them into; created if missing', 'lib')
    .option('-f, --force', 'overwrite library files that differ from this version (your edits to them are lost)')
    .addHelpText(
      'after',
      `
Run it in the folder of your scripts, then start a script with:
  #Include lib\\Bridge.ahk          (scripts run by bridge run / bridge up)
  #Include lib\\BrokerClient.ahk    (scripts that talk to the broker themselves)`,
    )
    .action(async (dir: string, flags: LibExportFlags) => (await import('./lib.js')).runLibExport(dir, flags));
  return lib;
}
