/**
 * Finding the AutoHotkey interpreter for a script, and the command line that runs it.
 *
 * Order: a script's own `"interpreter"` (its entry in the config file), `--ahk <path>`,
 * `AHK_PATH`, `"interpreter"` at the top of the config file, then on Windows
 * the registry (`InstallDir` under HKLM/HKCU `SOFTWARE\AutoHotkey`) and the standard
 * install folders. The script's `#Requires AutoHotkey v1|v2` line picks the major
 * version; without one v2 is preferred and v1 is the fallback.
 *
 * All Windows path handling goes through `path.win32`, whatever the host, so the whole
 * search is testable on Linux with a stub {@link DiscoveryProbe}.
 */
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { isSea } from 'node:sea';
import { packageRoot } from '../package-root.js';

/** An AutoHotkey major version. v1 and v2 are different languages. */
export type AhkMajor = 1 | 2;

/** Where the interpreter came from. */
export type InterpreterSource = 'flag' | 'env' | 'config' | 'registry' | 'standard';

/** The interpreter chosen for a script. */
export interface InterpreterChoice {
  /** Absolute path of the executable (or of the fake interpreter script). */
  path: string;
  /** Its major version when the file name or folder tells; undefined when it does not. */
  major: AhkMajor | undefined;
  source: InterpreterSource;
  /** True for a `.js`/`.mjs`/`.cjs` file (the test fixture), which is run with Node. */
  isFixture: boolean;
}

/** Everything discovery reads from the machine; tests pass a stub. */
export interface DiscoveryProbe {
  platform: NodeJS.Platform;
  env: NodeJS.ProcessEnv;
  /** True when `path` is an existing file. */
  exists(path: string): boolean;
  /** A registry string value, or undefined when the key or value is missing. Never throws. */
  readRegistryValue(key: string, value: string): Promise<string | undefined>;
  /**
   * Whether a Node script can be run as the interpreter (the tests' stand-in): not inside
   * bridge.exe, whose own executable is the bridge, not Node. Absent means it can.
   */
  runsNodeScripts?: boolean;
}

/**
 * The interpreter paths a user gave, each kept apart so that a missing one is reported
 * with where it came from. `AHK_PATH` is not here: {@link findInterpreter} reads it.
 */
export interface GivenInterpreters {
  /** The script's own `"interpreter"` (its `scripts` entry); wins over all others. */
  own?: string;
  /** `--ahk <path>`. */
  explicit?: string;
  /** `"interpreter"` at the top of the config file; after `AHK_PATH`. */
  configured?: string;
  /** The config file `own` and `configured` came from, named in messages. */
  configFile?: string;
}

/** No interpreter was found, or a configured one does not exist. */
export class InterpreterNotFoundError extends Error {
  override name = 'InterpreterNotFoundError';
}

/** How a user points the bridge at an interpreter; part of every not-found message. */
const HOW_TO_SET = 'give one with --ahk <path>, the AHK_PATH environment variable, or "interpreter" in bridge.config.json';

/** Look up an environment variable the way Windows does: names are case-insensitive. */
function envGet(env: NodeJS.ProcessEnv, name: string): string | undefined {
  if (env[name] !== undefined) return env[name];
  const lower = name.toLowerCase();
  for (const [k, v] of Object.entries(env)) if (k.toLowerCase() === lower) return v;
  return undefined;
}

/** Expand `%NAME%` from `env`; unknown names stay as they are, as in cmd.exe. */
export function expandWindowsEnv(text: string, env: NodeJS.ProcessEnv): string {
  return text.replace(/%([^%]+)%/g, (whole, name: string) => envGet(env, name) ?? whole);
}

/**
 * The data of `value` in `reg query "<key>" /v <value>` output, e.g.
 *
 *     HKEY_LOCAL_MACHINE\SOFTWARE\AutoHotkey
 *         InstallDir    REG_SZ    C:\Program Files\AutoHotkey
 *
 * REG_EXPAND_SZ data has its `%VARS%` expanded from `env`. Returns undefined when the
 * value is absent, empty or not a string type.
 */
export function parseRegQuery(stdout: string, value: string, env: NodeJS.ProcessEnv = {}): string | undefined {
  const escaped = value.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
  // reg.exe separates name, type and data with four spaces; names may contain spaces.
  const re = new RegExp(`^\\s+${escaped} {4}(REG_SZ|REG_EXPAND_SZ) {4}(.*)$`, 'i');
  for (const raw of stdout.split(/\r?\n/)) {
    const m = re.exec(raw.replace(/\r$/, ''));
    if (!m) continue;
    const data = m[2]!.trim();
    if (data === '') return undefined;
    return m[1]!.toUpperCase() === 'REG_EXPAND_SZ' ? expandWindowsEnv(data, env) : data;
  }
  return undefined;
}

/** What `reg query <key> /v <value>` printed, or undefined when it failed (no such key or value, no reg.exe, a timeout). */
function regQuery(key: string, value: string): Promise<string | undefined> {
  return new Promise((resolve) => {
    execFile('reg', ['query', key, '/v', value], { timeout: 10_000, windowsHide: true }, (err, stdout) => resolve(err ? undefined : stdout));
  });
}

/** The real machine. `readRegistryValue` answers only on Windows. */
export const realProbe: DiscoveryProbe = {
  platform: process.platform,
  env: process.env,
  runsNodeScripts: !isSea(),
  exists(p: string): boolean {
    try {
      return fs.statSync(p).isFile();
    } catch {
      return false;
    }
  },
  async readRegistryValue(key: string, value: string): Promise<string | undefined> {
    if (process.platform !== 'win32') return undefined;
    // reg.exe prints in the OEM code page; install paths are practically always ASCII,
    // and a garbled one fails the exists() check and discovery moves on.
    const stdout = await regQuery(key, value);
    return stdout === undefined ? undefined : parseRegQuery(stdout, value, process.env);
  },
};

/** Lines of AutoHotkey source that are code: `;` comment lines and `/* *\/` blocks removed. */
function codeLines(text: string): string[] {
  const out: string[] = [];
  let inBlock = false;
  for (const raw of text.split(/\r?\n/)) {
    const t = raw.trim();
    if (inBlock) {
      // v1 needs `*/` at the start of a line; v2 also accepts it at the end.
      if (t.startsWith('*/') || t.endsWith('*/')) inBlock = false;
      continue;
    }
    if (t.startsWith('/*')) {
      inBlock = !(t.length >= 4 && t.endsWith('*/'));
      continue;
    }
    if (t === '' || t.startsWith(';')) continue;
    out.push(t);
  }
  return out;
}

/**
 * The AutoHotkey major version a script asks for with `#Requires AutoHotkey v2.0`,
 * `#Requires AutoHotkey v1.1.33+`, `#Requires AutoHotkey >=2.0-beta`, ...
 * (case-insensitive; commented-out lines do not count). Undefined when it does not say.
 */
export function requiredMajor(scriptText: string): AhkMajor | undefined {
  for (const line of codeLines(scriptText)) {
    const m = /^#Requires\s+AutoHotkey\s+(?:[<>=]{1,2}\s*)?v?(\d+)/i.exec(line);
    if (m) return m[1] === '2' ? 2 : m[1] === '1' ? 1 : undefined;
    // Only the first #Requires AutoHotkey line counts; other #Requires lines are skipped.
  }
  return undefined;
}

/** The major version an interpreter's file name or folder tells, if any. */
export function majorFromPath(p: string): AhkMajor | undefined {
  const base = path.win32.basename(p).toLowerCase();
  // v2 ships AutoHotkey64.exe / AutoHotkey32.exe; v1 AutoHotkeyU64.exe, U32, A32.
  if (/^autohotkey(64|32)\.(exe|m?js|cjs)$/.test(base)) return 2;
  if (/^autohotkey[ua](32|64)\.(exe|m?js|cjs)$/.test(base)) return 1;
  const dirs = path.win32.dirname(p.replace(/\//g, '\\')).toLowerCase().split('\\');
  if (dirs.includes('v2') || dirs.some((d) => /^v2\.\d/.test(d))) return 2;
  if (dirs.some((d) => /^v1\.\d/.test(d))) return 1;
  return undefined;
}

/**
 * Executables to try inside an AutoHotkey folder, best first. Never the launcher
 * (`UX\AutoHotkeyUX.exe`, what the .ahk file association runs): it starts the real
 * interpreter as a separate process and stays in between, so killing the process we
 * spawned would leave the script running and its pipes would not be the script's.
 */
const EXECUTABLES: Record<AhkMajor, string[]> = {
  2: ['v2\\AutoHotkey64.exe', 'v2\\AutoHotkey32.exe', 'AutoHotkey64.exe', 'AutoHotkey32.exe'],
  1: ['AutoHotkeyU64.exe', 'AutoHotkeyU32.exe', 'AutoHotkey.exe'],
};

const REGISTRY_KEYS = [
  'HKLM\\SOFTWARE\\AutoHotkey',
  'HKCU\\SOFTWARE\\AutoHotkey',
  // A 32-bit installer (v1's) on 64-bit Windows writes here (verify on a real box).
  'HKLM\\SOFTWARE\\WOW6432Node\\AutoHotkey',
];

/** The standard install folders, from the probe's environment, without duplicates. */
function standardDirs(env: NodeJS.ProcessEnv): string[] {
  const roots = [
    envGet(env, 'ProgramFiles'),
    // Set when Node itself is 32-bit and ProgramFiles points at the x86 folder.
    envGet(env, 'ProgramW6432'),
    envGet(env, 'ProgramFiles(x86)'),
  ].filter((r): r is string => !!r).map((r) => path.win32.join(r, 'AutoHotkey'));
  const local = envGet(env, 'LocalAppData');
  if (local) roots.push(path.win32.join(local, 'Programs', 'AutoHotkey'));
  const seen = new Set<string>();
  return roots.filter((r) => {
    const k = r.toLowerCase();
    if (seen.has(k)) return false;
    seen.add(k);
    return true;
  });
}

const FIXTURE = /\.(m|c)?js$/i;

/**
 * The fake interpreter, as a path to type after `--ahk`: relative to the working
 * directory when it is below it (the usual checkout), else absolute.
 */
function standInPath(): string {
  const root = packageRoot();
  if (!root) return 'fixtures/fake-ahk/AutoHotkey.mjs';
  const abs = path.join(root, 'fixtures', 'fake-ahk', 'AutoHotkey.mjs');
  const rel = path.relative(process.cwd(), abs);
  return rel.startsWith('..') || path.isAbsolute(rel) ? abs : rel.split(path.sep).join('/');
}

function choice(p: string, source: InterpreterSource, major?: AhkMajor): InterpreterChoice {
  return { path: p, major: major ?? majorFromPath(p), source, isFixture: FIXTURE.test(p) };
}

function readScript(scriptPath: string): string | undefined {
  try {
    return fs.readFileSync(scriptPath, 'utf8');
  } catch {
    // A missing script is the supervisor's error to report, not discovery's.
    return undefined;
  }
}

/**
 * Find the interpreter for `scriptPath`. `scriptText` (read from the file when omitted)
 * supplies the `#Requires` line.
 * @throws InterpreterNotFoundError when a given path does not exist (naming where it came
 *   from) or nothing was found (saying how to set one)
 */
export async function findInterpreter(
  opts: GivenInterpreters & { scriptPath: string; scriptText?: string },
  probe: DiscoveryProbe = realProbe,
): Promise<InterpreterChoice> {
  const pm = probe.platform === 'win32' ? path.win32 : path.posix;
  const file = opts.configFile ?? 'the config file';
  const given: [string | undefined, InterpreterSource, string][] = [
    [opts.own, 'config', `the script's "interpreter" in ${file}`],
    [opts.explicit, 'flag', '--ahk'],
    [envGet(probe.env, 'AHK_PATH'), 'env', 'AHK_PATH'],
    [opts.configured, 'config', `"interpreter" in ${file}`],
  ];
  for (const [raw, source, label] of given) {
    if (raw === undefined || raw.trim() === '') continue;
    const p = pm.isAbsolute(raw) ? raw : pm.resolve(raw);
    // A path the user gave is never second-guessed: missing means an error, not a search.
    if (!probe.exists(p)) throw new InterpreterNotFoundError(`AutoHotkey interpreter from ${label} not found: ${p}`);
    if (FIXTURE.test(p) && probe.runsNodeScripts === false) {
      throw new InterpreterNotFoundError(
        `the interpreter from ${label} is a Node script (${p}), the tests' stand-in for AutoHotkey; bridge.exe has no Node to run it: give AutoHotkey itself, e.g. --ahk "C:\\Program Files\\AutoHotkey\\v2\\AutoHotkey64.exe"`,
      );
    }
    return choice(p, source);
  }

  if (probe.platform !== 'win32') {
    throw new InterpreterNotFoundError(
      `AutoHotkey runs only on Windows; on ${probe.platform}, ${HOW_TO_SET}; ` +
        `to try scripts here, use the stand-in the tests use: --ahk ${standInPath()}`,
    );
  }

  const required = requiredMajor(opts.scriptText ?? readScript(opts.scriptPath) ?? '');
  const places: { dir: string; source: InterpreterSource }[] = [];
  for (const key of REGISTRY_KEYS) {
    const dir = await probe.readRegistryValue(key, 'InstallDir');
    if (dir) places.push({ dir, source: 'registry' });
  }
  for (const dir of standardDirs(probe.env)) places.push({ dir, source: 'standard' });

  const search = (major: AhkMajor): InterpreterChoice | undefined => {
    for (const { dir, source } of places) {
      for (const exe of EXECUTABLES[major]) {
        const p = path.win32.join(dir, exe);
        if (probe.exists(p)) return choice(p, source, major);
      }
    }
    return undefined;
  };

  // Each major is searched through every place before the other major: a v2 script
  // should find a per-user v2 before a machine-wide v1.
  const order: AhkMajor[] = required === 1 ? [1] : required === 2 ? [2] : [2, 1];
  for (const major of order) {
    const found = search(major);
    if (found) return found;
  }

  const looked = places.map((p) => p.dir).join(', ') || '(no install folders known)';
  if (required !== undefined) {
    const other = search(required === 2 ? 1 : 2);
    if (other) {
      throw new InterpreterNotFoundError(
        `the script requires AutoHotkey v${required}, but only v${other.major} was found (${other.path}); ` +
          `install v${required} from https://www.autohotkey.com or ${HOW_TO_SET}.`,
      );
    }
  }
  throw new InterpreterNotFoundError(
    `AutoHotkey${required ? ` v${required}` : ''} not found (looked in ${looked}); ` +
      `install it from https://www.autohotkey.com or ${HOW_TO_SET}.`,
  );
}

/** The switches every run gets (docs/autohotkey.md, "Launching a script"). */
const SWITCHES = [
  // v2's default #SingleInstance Prompt would otherwise open a modal dialog.
  '/force',
  // Load-time errors go to stderr as `path (line) : ==> message` instead of a dialog.
  '/ErrorStdOut=UTF-8',
];

/**
 * The command that runs `scriptPath` with `args` (its A_Args). The fake interpreter is a
 * Node script and is run through `process.execPath`: Windows has no shebangs.
 */
export function interpreterCommand(choice: InterpreterChoice, scriptPath: string, args: string[]): { file: string; args: string[] } {
  if (choice.isFixture) return { file: process.execPath, args: [choice.path, ...SWITCHES, scriptPath, ...args] };
  return { file: choice.path, args: [...SWITCHES, scriptPath, ...args] };
}
