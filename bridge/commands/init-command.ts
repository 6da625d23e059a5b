/** `bridge init [FOLDER]`: its arguments, flags and help; the work is in init.ts, loaded when it runs. */
import { Command } from 'commander';
import type { InitFlags } from './init.js';

export function initCommand(): Command {
  return new Command('init')
    .description('write a bridge.config.json for the .ahk scripts in a folder, ready for bridge up')
    .argument('[folder]', 'the folder of scripts', '.')
    .option('-o, --output <file>', 'where to write the config', 'bridge.config.json')
    .option('-f, --force', 'overwrite the file if it exists')
    .option('-r, --recursive', 'also take scripts in subfolders (not Lib/, hidden folders or node_modules)')
    .option('--ahk <path>', 'AutoHotkey interpreter to write into the config (default: the one bridge run would find)')
    .action(async (folder: string, flags: InitFlags) => (await import('./init.js')).runInit(folder, flags));
}
