/**
 * The files an AutoHotkey script is made of: the script and everything it pulls in with
 * `#Include` / `#IncludeAgain`, recursively, as the interpreter resolves them
 * (AutoHotkey's script.cpp, `IsDirective` / `LoadIncludedFile` / `IncludeLibrary`):
 *
 * - The parameter may be quoted (v2 only) and start with `*i ` (a missing file is no error).
 * - `<Name>` searches the Lib folders: `A_ScriptDir\Lib`, `A_MyDocuments\AutoHotkey\Lib`,
 *   then the interpreter's folder `\Lib`, for `Name.ahk`, then for the part before the
 *   first underscore (`<Pre_Func>` -> `Pre.ahk`).
 * - `%A_...%` built-in variables are expanded; percent signs that are not a variable stay.
 * - v2: a relative path is relative to the including file's folder; `#Include Dir` changes
 *   that folder for the rest of the current file. v1: relative to the working directory the
 *   interpreter started in; `#Include Dir` changes it for every later include in any file,
 *   and a Lib file's includes are relative to its own folder.
 * - `;` comments (a `;` at the start or after a space or tab; `` `; `` is a literal `;`) and
 *   `/* *\/` blocks hide lines (v2 also ends a block at a line that ends with `*\/`).
 *
 * Only what decides which files are read is modelled: continuation sections are not, so
 * an `#Include` line inside one counts (an extra watched file, never a missed one).
 */
import { promises as fs } from 'node:fs';
import path from 'node:path';
import type { Logger } from '../../src/log/logger.js';
import { decodeFrameText } from '../../src/protocol/text.js';
import { requiredMajor, type AhkMajor } from './interpreter.js';

/** One `#Include` line, as written (after comments and quotes are removed). */
export interface IncludeDirective {
  /** 1-based line in its file. */
  line: number;
  /** `#IncludeAgain` rather than `#Include`. */
  again: boolean;
  /** `*i`: a file that cannot be read is skipped. */
  optional: boolean;
  /** `<Name>` without the brackets, for a Lib include. */
  lib?: string;
  /** The file or folder path, variables not yet expanded (undefined for a Lib include). */
  target?: string;
}

/** What {@link scanIncludes} needs to know about the script and its interpreter. */
export interface IncludeScanOptions {
  /** Absolute path of the main script. */
  scriptPath: string;
  /** The language: picks the path and comment rules. Default: the script's `#Requires`, else 2. */
  major?: AhkMajor;
  /** The interpreter (`A_AhkPath`; its folder holds the standard Lib). */
  ahkPath?: string;
  /** v1 only: the working directory the interpreter starts in (default: this process's). */
  workingDir?: string;
  /**
   * Values of built-in variables that come from the machine, by name (case-insensitive):
   * `A_MyDocuments`, `A_AppData`, ... Default: what the environment says on Windows.
   * The script's own (`A_ScriptDir`, `A_LineFile`, `A_WorkingDir`, ...) are always known.
   */
  builtins?: Record<string, string | undefined>;
  log?: Logger;
}

/** The result of a scan. */
export interface IncludeScan {
  /** The script and every file it includes that exists, in load order, without repeats. */
  files: string[];
  /** Files an include names that do not exist (yet): creating one changes the script. */
  missing: string[];
}

const onWindows = process.platform === 'win32';

/** Windows file names ignore case; elsewhere they do not. */
export function pathKey(p: string): string {
  return onWindows ? path.resolve(p).toLowerCase() : path.resolve(p);
}

/**
 * Decode a script file the way AutoHotkey reads it: a UTF-16 LE or UTF-8 BOM decides;
 * without one, UTF-8 when the bytes are valid UTF-8, else the ANSI code page (Windows-1252).
 */
export function decodeScriptText(bytes: Buffer): string {
  if (bytes.length >= 2 && bytes[0] === 0xff && bytes[1] === 0xfe) return bytes.toString('utf16le', 2);
  return decodeFrameText(bytes); // strips a UTF-8 BOM
}

const isBlank = (c: string | undefined): boolean => c === ' ' || c === '\t';

/** The line without its `;` comment, as AutoHotkey's GetLine cuts it (trimmed). */
function stripLineComment(t: string): string {
  if (t.startsWith(';')) return '';
  let s = t;
  for (let i = s.indexOf(';'); i >= 0; i = s.indexOf(';', i + 1)) {
    if (isBlank(s[i - 1])) return s.slice(0, i).trimEnd();
    let j = i - 1;
    while (j >= 0 && s[j] === '`') j--;
    // An odd number of backticks escapes the semicolon: drop the last one.
    if ((i - 1 - j) % 2 === 1) {
      s = s.slice(0, i - 1) + s.slice(i);
      i--;
    }
  }
  return s;
}

/** Tracks `/* *\/` block comments line by line; returns the code left on a line, or null. */
function blockCommentFilter(major: AhkMajor): (t: string) => string | null {
  let inBlock = false;
  return (t) => {
    if (major === 2) {
      if (t.startsWith('/*')) inBlock = true;
      if (!inBlock) return t;
      if (t.startsWith('*/')) {
        inBlock = false;
        const rest = t.slice(2).trimStart();
        return rest === '' ? null : rest;
      }
      if (t.length >= 2 && t.endsWith('*/')) inBlock = false;
      return null;
    }
    // v1: only `*/` at the start of a line ends a block (and is ignored outside one).
    if (t.startsWith('*/') && (inBlock || !t.startsWith('*/::'))) {
      inBlock = false;
      const rest = t.slice(2).trimStart();
      if (rest === '') return null;
      t = rest;
    } else if (inBlock) {
      return null;
    }
    if (t.startsWith('/*')) {
      inBlock = true;
      return null;
    }
    return t;
  };
}

/** The `#Include` / `#IncludeAgain` lines of one file's text, in order. */
export function includeDirectives(text: string, major: AhkMajor): IncludeDirective[] {
  const out: IncludeDirective[] = [];
  const code = blockCommentFilter(major);
  const head = major === 2 ? /^#include(again)?(?=[ \t]|$)/i : /^#include(again)?(?=[ \t,]|$)/i;
  const lines = text.split(/\r\n|\n|\r/);
  for (let i = 0; i < lines.length; i++) {
    const visible = code(lines[i]!.replace(/^[ \t]+|[ \t]+$/g, ''));
    if (visible === null) continue;
    const t = stripLineComment(visible);
    const m = head.exec(t);
    if (!m) continue;
    let param = t.slice(m[0].length).trimStart();
    if (major === 1 && param.startsWith(',')) param = param.slice(1).trimStart();
    if (major === 2 && (param.startsWith('"') || param.startsWith("'")) && param.length >= 2 && param.endsWith(param[0]!)) {
      param = param.slice(1, -1);
    }
    let optional = false;
    if (param[0] === '*' && (param[1] === 'i' || param[1] === 'I') && isBlank(param[2])) {
      optional = true;
      param = param.slice(3);
    }
    if (param === '') continue; // a load error in AutoHotkey; nothing to read
    const directive: IncludeDirective = { line: i + 1, again: m[1] !== undefined, optional };
    const close = param.indexOf('>');
    if (param.startsWith('<') && close === param.length - 1) directive.lib = param.slice(1, -1);
    else directive.target = param;
    out.push(directive);
  }
  return out;
}

/** Built-in variables whose names do not start with `A_` (v1's legacy ones). */
const V1_PLAIN_BUILTINS = new Set(['programfiles', 'comspec', 'clipboard', 'clipboardall']);

/** What the machine says for the built-ins AutoHotkey takes from the system, on Windows. */
function machineBuiltins(env: NodeJS.ProcessEnv): Record<string, string | undefined> {
  if (!onWindows) return {};
  const get = (name: string): string | undefined => {
    const hit = Object.keys(env).find((k) => k.toLowerCase() === name.toLowerCase());
    return hit === undefined || env[hit] === '' ? undefined : env[hit];
  };
  const profile = get('USERPROFILE');
  return {
    a_appdata: get('APPDATA'),
    a_appdatacommon: get('ProgramData'),
    a_mydocuments: profile && path.win32.join(profile, 'Documents'),
    a_temp: get('TMP') ?? get('TEMP'),
    a_windir: get('SystemRoot') ?? get('windir'),
    a_programfiles: get('ProgramFiles'),
    a_username: get('USERNAME'),
    a_computername: get('COMPUTERNAME'),
    a_comspec: get('ComSpec'),
  };
}

/** Raised inside a scan for a variable that cannot be evaluated here. */
class UnknownVariable {
  constructor(readonly name: string) {}
}

/** The folder (v2: per file; v1: one for the whole load) that relative includes use. */
interface WorkingDir {
  dir: string;
}

class Scanner {
  private readonly files: string[] = [];
  private readonly missing = new Map<string, string>();
  private readonly seen = new Set<string>();
  private readonly builtins: Record<string, string | undefined>;
  private readonly scriptDir: string;
  private major: AhkMajor = 2;
  private v1Dir: WorkingDir = { dir: '' };

  constructor(private readonly opts: IncludeScanOptions) {
    this.scriptDir = path.dirname(opts.scriptPath);
    const given = Object.fromEntries(Object.entries(opts.builtins ?? {}).map(([k, v]) => [k.toLowerCase(), v]));
    this.builtins = { ...machineBuiltins(process.env), ...given };
  }

  async run(): Promise<IncludeScan> {
    const main = path.resolve(this.opts.scriptPath);
    const text = await this.load(main);
    if (text !== undefined) {
      this.major = this.opts.major ?? requiredMajor(text) ?? 2;
      this.v1Dir = { dir: path.resolve(this.opts.workingDir ?? process.cwd()) };
      await this.walk(main, text, this.major === 2 ? { dir: this.scriptDir } : this.v1Dir);
    }
    return { files: this.files, missing: [...this.missing.values()] };
  }

  /**
   * Read a file not read before and count it as part of the script. Undefined when it was
   * read already, does not exist (noted as missing) or cannot be read now.
   */
  private async load(file: string): Promise<string | undefined> {
    const key = pathKey(file);
    if (this.seen.has(key)) return undefined;
    let bytes: Buffer;
    try {
      bytes = await fs.readFile(file);
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code === 'ENOENT' || code === 'ENOTDIR') {
        this.noteMissing(file);
        return undefined;
      }
      // Locked or no access right now: still part of the script, so still watched.
      this.opts.log?.debug('cannot read a script file; watching it without its includes', { file, error: err as Error });
      this.seen.add(key);
      this.files.push(file);
      return undefined;
    }
    this.seen.add(key);
    this.missing.delete(key);
    this.files.push(file);
    return decodeScriptText(bytes);
  }

  private noteMissing(file: string): void {
    const key = pathKey(file);
    if (!this.seen.has(key)) this.missing.set(key, file);
  }

  private async walk(file: string, text: string, cwd: WorkingDir): Promise<void> {
    for (const d of includeDirectives(text, this.major)) {
      if (d.lib !== undefined) {
        await this.includeLib(d.lib);
        continue;
      }
      let target: string;
      try {
        target = this.expand(d.target ?? '', file, cwd.dir);
      } catch (err) {
        if (!(err instanceof UnknownVariable)) throw err;
        this.opts.log?.debug('#Include uses a variable the bridge cannot evaluate; not watching it', { file, line: d.line, variable: err.name });
        continue;
      }
      const resolved = path.resolve(cwd.dir, onWindows ? target : target.replace(/\\/g, '/'));
      const kind = await stat(resolved);
      if (kind === 'dir') {
        cwd.dir = resolved;
        continue;
      }
      if (kind === 'missing') {
        this.noteMissing(resolved);
        continue;
      }
      await this.include(resolved, this.major === 2 ? undefined : cwd);
    }
  }

  /** Load an included file once; `cwd` is v1's shared working directory (v2: the file's own). */
  private async include(file: string, cwd: WorkingDir | undefined): Promise<void> {
    // #IncludeAgain of a file already read adds no file: reading it again could only loop.
    const text = await this.load(file);
    if (text !== undefined) await this.walk(file, text, cwd ?? { dir: path.dirname(file) });
  }

  private libFolders(): string[] {
    const folders = [path.join(this.scriptDir, 'Lib')];
    const docs = this.builtins.a_mydocuments;
    if (docs) folders.push(path.join(docs, 'AutoHotkey', 'Lib'));
    if (this.opts.ahkPath) folders.push(path.join(path.dirname(this.opts.ahkPath), 'Lib'));
    return folders;
  }

  private async includeLib(name: string): Promise<void> {
    const folders = this.libFolders();
    const fileName = (n: string): string => (onWindows ? n : n.replace(/\\/g, '/')) + '.ahk';
    const underscore = name.indexOf('_');
    const names = underscore > 0 ? [name, name.slice(0, underscore)] : [name];
    for (const n of names) {
      for (const folder of folders) {
        const candidate = path.join(folder, fileName(n));
        if ((await stat(candidate)) !== 'file') continue;
        if (this.major === 2) return this.include(candidate, undefined);
        // v1 loads a Lib file with the working directory set to its Lib folder, then restores it.
        const saved = this.v1Dir.dir;
        this.v1Dir.dir = folder;
        try {
          await this.include(candidate, this.v1Dir);
        } finally {
          this.v1Dir.dir = saved;
        }
        return;
      }
    }
    // Not found: any of the first names would be picked up once it exists.
    for (const folder of folders) this.noteMissing(path.join(folder, fileName(name)));
  }

  /** `%Name%` references to built-in variables replaced, as AutoHotkey's DerefInclude does. */
  private expand(raw: string, lineFile: string, workingDir: string): string {
    let out = '';
    let i = 0;
    while (i < raw.length) {
      const c = raw[i]!;
      if (c === '%') {
        const end = raw.indexOf('%', i + 1);
        const name = end > i + 1 ? raw.slice(i + 1, end) : '';
        const value = name === '' ? undefined : this.builtin(name.toLowerCase(), lineFile, workingDir);
        if (value !== undefined) {
          out += value;
          i = end + 1;
          continue;
        }
      }
      out += c;
      i++;
    }
    return out;
  }

  /** The value of a built-in; undefined when `name` is not one; throws when it is one we cannot know. */
  private builtin(name: string, lineFile: string, workingDir: string): string | undefined {
    switch (name) {
      case 'a_scriptdir':
        return this.scriptDir;
      case 'a_scriptfullpath':
        return path.resolve(this.opts.scriptPath);
      case 'a_scriptname':
        return path.basename(this.opts.scriptPath);
      case 'a_linefile':
        return lineFile;
      case 'a_workingdir':
        return workingDir;
      case 'a_space':
        return ' ';
      case 'a_tab':
        return '\t';
      case 'a_ahkpath':
        if (this.opts.ahkPath) return this.opts.ahkPath;
        break;
      default: {
        const known = this.builtins[name];
        if (known !== undefined) return known;
      }
    }
    if (name.startsWith('a_') || (this.major === 1 && V1_PLAIN_BUILTINS.has(name))) throw new UnknownVariable(name);
    return undefined;
  }
}

/** What is at `p`. A path that cannot be examined (no access) counts as a file: reading it will tell. */
async function stat(p: string): Promise<'file' | 'dir' | 'missing'> {
  try {
    return (await fs.stat(p)).isDirectory() ? 'dir' : 'file';
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    return code === 'ENOENT' || code === 'ENOTDIR' ? 'missing' : 'file';
  }
}

/**
 * Every file `opts.scriptPath` is made of, and the include targets that do not exist yet.
 * Never throws for the script's content: what cannot be resolved is skipped (debug log).
 */
export function scanIncludes(opts: IncludeScanOptions): Promise<IncludeScan> {
  return new Scanner(opts).run();
}
