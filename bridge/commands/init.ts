/**
 * `bridge init [FOLDER]`: write a bridge.config.json for the .ahk scripts in a folder,
 * ready for `bridge up` (like `pm2 init`, but filled in). Its arguments and flags are in
 * init-command.ts; this module loads when the command runs.
 */
import { readdirSync, readFileSync, statSync, writeFileSync, type Dirent } from 'node:fs';
import path from 'node:path';
import { SCRIPT_KEY } from '../bridge-config.js';
import { CliError } from '../cli-error.js';
import { makeFolder } from '../make-folder.js';
import { listPackaged } from '../packaged-files.js';
import { pathKey, scanIncludes } from '../supervisor/ahk-includes.js';
import { findInterpreter, InterpreterNotFoundError, requiredMajor, type AhkMajor } from '../supervisor/interpreter.js';
import { DEFAULT_RESTART } from '../supervisor/restart-policy.js';

export interface InitFlags {
  output: string;
  force?: boolean;
  recursive?: boolean;
  ahk?: string;
}

/**
 * Folders `--recursive` does not enter: hidden ones, node_modules, and `Lib`, where
 * AutoHotkey keeps function libraries (#Include'd, never run on their own).
 */
function skippedFolder(name: string): boolean {
  return name.startsWith('.') || name === 'node_modules' || name.toLowerCase() === 'lib';
}

/** The .ahk files in `folder` (and below, with `recursive`), sorted. */
export function findScripts(folder: string, recursive: boolean): string[] {
  const out: string[] = [];
  const walk = (dir: string): void => {
    let entries: Dirent[];
    try {
      entries = readdirSync(dir, { withFileTypes: true });
    } catch (err) {
      throw new CliError(`cannot read ${dir}: ${(err as Error).message}`);
    }
    for (const e of entries) {
      const full = path.join(dir, e.name);
      if (e.isFile() && e.name.toLowerCase().endsWith('.ahk')) out.push(full);
      else if (recursive && e.isDirectory() && !skippedFolder(e.name)) walk(full);
    }
  };
  walk(folder);
  return out.sort();
}

/**
 * A key for each script from its file name, fitted to the key rule; repeats get `_2`, `_3`.
 * A name that is a key as it is keeps it, whatever file comes first (`a_b.ahk` is `a_b`
 * beside `a b.ahk`); a key does not start with `-`, which the CLI would take for a flag
 * (`bridge logs -dash`).
 */
export function scriptKeys(files: string[]): string[] {
  const bases = files.map((file) => {
    const name = path.basename(file, path.extname(file));
    const fitted = name.replace(/[^A-Za-z0-9_-]/g, '_').replace(/^-+/, '').slice(0, 64) || 'script';
    return { fitted, exact: fitted === name };
  });
  // The first file of each exact name owns it; the others are numbered around them.
  const owner = new Map<string, number>();
  bases.forEach((b, i) => {
    if (b.exact && !owner.has(b.fitted)) owner.set(b.fitted, i);
  });
  const used = new Set<string>(owner.keys());
  return bases.map(({ fitted }, i) => {
    let key = fitted;
    if (owner.get(fitted) !== i) for (let n = 2; used.has(key); n++) key = `${fitted.slice(0, 64 - `_${n}`.length)}_${n}`;
    if (!SCRIPT_KEY.test(key)) throw new Error(`bug: made an invalid key "${key}"`);
    used.add(key);
    return key;
  });
}

/** `file` as the config should say it: relative to the config's folder when inside it, `/` separators. */
function configPath(file: string, configDir: string): string {
  const shown = shownFrom(configDir, file);
  // Windows takes `/` too, and it needs no escaping in JSON.
  return path.sep === '\\' ? shown.split('\\').join('/') : shown;
}

/**
 * The interpreter for each script, or the reason none was found. Discovery depends only
 * on the script's `#Requires` major, so it runs once per major (each run may query the
 * Windows registry), in order.
 */
async function interpreters(files: string[], explicit: string | undefined): Promise<(string | Error)[]> {
  const byMajor = new Map<AhkMajor | undefined, string | Error>();
  const out: (string | Error)[] = [];
  for (const file of files) {
    let text = '';
    try {
      text = readFileSync(file, 'utf8');
    } catch (err) {
      throw new CliError(`cannot read ${file}: ${(err as Error).message}`);
    }
    const major = requiredMajor(text);
    if (!byMajor.has(major)) {
      try {
        byMajor.set(major, (await findInterpreter({ explicit, scriptPath: file, scriptText: text })).path);
      } catch (err) {
        if (!(err instanceof InterpreterNotFoundError)) throw err;
        byMajor.set(major, err);
      }
    }
    out.push(byMajor.get(major)!);
  }
  return out;
}

/** The value found most often (the first of equals), or undefined for none. */
function mostCommon(values: string[]): string | undefined {
  const counts = new Map<string, number>();
  for (const v of values) counts.set(v, (counts.get(v) ?? 0) + 1);
  let best: string | undefined;
  for (const [v, n] of counts) if (best === undefined || n > counts.get(best)!) best = v;
  return best;
}

/** Whether `file` is `folder` or below it. */
function isInside(file: string, folder: string): boolean {
  const rel = path.relative(folder, file);
  return !rel.startsWith('..') && !path.isAbsolute(rel);
}

/** `file` relative to `folder` when it is there or below (`.` for the folder itself), else as given. */
function shownFrom(folder: string, file: string): string {
  return isInside(file, folder) ? path.relative(folder, file) || '.' : file;
}

/**
 * The folders inside `folder` where a script's `#Include` (`lib\Bridge.ahk`,
 * `%A_ScriptDir%\lib\Bridge.ahk`, `<Bridge>`, ...) looks for one of the libraries
 * `bridge lib export` writes and finds none: init writes only the config, so `bridge up`
 * would stop there with `#Include file ... cannot be opened`. Resolved as the interpreter
 * resolves them (ahk-includes.ts). A missing library outside the folder (an absolute path,
 * the Documents Lib of `<Bridge>`) is the user's own layout, not named here.
 */
async function foldersMissingLibraries(files: string[], found: (string | Error)[], folder: string): Promise<string[]> {
  const libraries = new Set((await listPackaged('scripts/lib')).map((name) => name.toLowerCase()));
  // By pathKey: `lib` and `Lib` are one folder on Windows.
  const folders = new Map<string, string>();
  for (const [i, file] of files.entries()) {
    const ahk = found[i];
    const scan = await scanIncludes({ scriptPath: file, ahkPath: typeof ahk === 'string' ? ahk : undefined });
    for (const missing of scan.missing) {
      const lib = path.dirname(missing);
      if (libraries.has(path.basename(missing).toLowerCase()) && isInside(missing, folder) && !folders.has(pathKey(lib))) folders.set(pathKey(lib), lib);
    }
  }
  return [...folders.values()].sort();
}

/** A folder as a command line should give it: relative to here when below, quoted when it has spaces. */
function folderArgument(dir: string): string {
  const shown = shownFrom(process.cwd(), dir);
  return /\s/.test(shown) ? `"${shown}"` : shown;
}

/** Run `bridge init` with its parsed arguments. */
export async function runInit(folder: string, flags: InitFlags): Promise<void> {
  const dir = path.resolve(folder);
  let isDir = false;
  try {
    isDir = statSync(dir).isDirectory();
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw new CliError(`cannot read ${folder}: ${(err as Error).message}`);
  }
  if (!isDir) throw new CliError(`${folder} is not a folder: give the folder that holds your .ahk scripts`);
  const files = findScripts(dir, flags.recursive === true);
  if (files.length === 0) throw new CliError(`no .ahk scripts in ${folder}${flags.recursive ? '' : ' (--recursive looks in subfolders too)'}`);
  const output = path.resolve(flags.output);
  // --force overwrites what --output names: never a script (one it lists, most likely).
  if (path.extname(output).toLowerCase() === '.ahk') {
    throw new CliError(`--output ${flags.output} is an AutoHotkey script, not a config: write the config to a .json file (bridge.config.json by default)`);
  }
  const configDir = path.dirname(output);
  const keys = scriptKeys(files);
  const found = await interpreters(files, flags.ahk);
  // A path the user typed must exist; discovery finding nothing is only a note.
  const refused = flags.ahk === undefined ? undefined : found.find((f): f is Error => f instanceof Error);
  if (refused) throw new CliError(refused.message);
  const paths = found.filter((f): f is string => typeof f === 'string');
  const shared = mostCommon(paths);
  const missing = found.flatMap((f, i) => (f instanceof Error ? [{ key: keys[i]!, reason: f.message }] : []));
  const note =
    missing.length === 0
      ? undefined
      : `no AutoHotkey interpreter found${missing.length === files.length ? '' : ` for ${missing.map((m) => m.key).join(', ')}`}: ${missing[0]!.reason}`;
  const config: Record<string, unknown> = {};
  if (note) config._comment = note;
  if (shared) config.interpreter = configPath(shared, configDir);
  config.restart = {
    mode: DEFAULT_RESTART.mode,
    initial_delay: DEFAULT_RESTART.initialDelayMs / 1000,
    max_delay: DEFAULT_RESTART.maxDelayMs / 1000,
    max_restarts: DEFAULT_RESTART.maxRestarts,
    window: DEFAULT_RESTART.windowMs / 1000,
  };
  config.script_folders = [configPath(dir, configDir)];
  config.scripts = files.map((file, i) => {
    const entry: Record<string, unknown> = { key: keys[i], path: configPath(file, configDir) };
    // A script whose #Requires picks another AutoHotkey than most.
    const own = found[i];
    if (typeof own === 'string' && own !== shared) entry.interpreter = configPath(own, configDir);
    return entry;
  });

  try {
    await makeFolder(configDir);
    writeFileSync(output, JSON.stringify(config, null, 2) + '\n', { flag: flags.force ? 'w' : 'wx' });
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'EEXIST') throw new CliError(`${flags.output} already exists: use --force to overwrite it`);
    throw new CliError(`cannot write ${flags.output}: ${(err as Error).message}`);
  }
  if (note) process.stderr.write(`bridge init: ${note}\n`);
  const libFolders = await foldersMissingLibraries(files, found, dir);
  const width = Math.max(...keys.map((k) => k.length));
  const lines = [
    `wrote ${flags.output}: ${files.length} script${files.length === 1 ? '' : 's'} from ${folder}${shared ? `, interpreter ${shared}` : ''}`,
    ...keys.map((k, i) => `  ${k.padEnd(width)}  ${configPath(files[i]!, configDir)}`),
    ...libFolders.map((lib) => `${folderArgument(lib)} lacks the ahk-bridge libraries the scripts #Include: write them with: bridge lib export ${folderArgument(lib)}`),
    `start them with: bridge up${output === path.resolve('bridge.config.json') ? '' : ` --config ${flags.output}`}`,
  ];
  process.stdout.write(lines.join('\n') + '\n');
}
