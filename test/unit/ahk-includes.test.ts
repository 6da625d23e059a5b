/**
 * Which files an AutoHotkey script is made of, as `--watch` sees them: real files in
 * temporary folders, resolved by the rules of AutoHotkey's own loader.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import iconv from 'iconv-lite';
import { describe, expect, it } from 'vitest';
import { Logger } from '../../src/log/logger.js';
import { decodeScriptText, includeDirectives, scanIncludes, type IncludeScanOptions } from '../../bridge/supervisor/ahk-includes.js';
import { useTempDirs } from '../helpers/temp-dirs.js';

const FIXTURE = fileURLToPath(new URL('../../fixtures/includes/', import.meta.url));
const tempDir = useTempDirs();

/** A temporary folder holding `files` (relative path -> text, or bytes as they are). */
function tree(files: Record<string, string | Buffer>): string {
  const root = tempDir('ahk-includes-');
  for (const [rel, content] of Object.entries(files)) {
    const file = path.join(root, rel);
    mkdirSync(path.dirname(file), { recursive: true });
    writeFileSync(file, content);
  }
  return root;
}

/** Scan `main.ahk` in `root`; files and missing paths relative to `root`, `/`-separated. */
async function scan(root: string, opts: Partial<IncludeScanOptions> = {}): Promise<{ files: string[]; missing: string[] }> {
  const res = await scanIncludes({ scriptPath: path.join(root, 'main.ahk'), ...opts });
  const rel = (p: string): string => path.relative(root, p).split(path.sep).join('/');
  return { files: res.files.map(rel), missing: res.missing.map(rel) };
}

describe('scanIncludes: the fixture tree', () => {
  it('finds the relative, %A_LineFile% and <Lib> includes, nested, and notes the absent optional one', async () => {
    expect(await scan(FIXTURE)).toEqual({
      files: ['main.ahk', 'src/helper.ahk', 'src/shared.ahk', 'Lib/Tools.ahk', 'Lib/parts/format.ahk'],
      // retired.ahk is inside a block comment: not even noted.
      missing: ['local-settings.ahk'],
    });
  });
});

describe('scanIncludes: paths', () => {
  it('v2: a relative path is relative to the folder of the file that includes it', async () => {
    const root = tree({
      'main.ahk': '#Include sub\\a.ahk\n',
      'sub/a.ahk': '#Include b.ahk\n',
      'sub/b.ahk': '',
      'b.ahk': '',
    });
    expect((await scan(root)).files).toEqual(['main.ahk', 'sub/a.ahk', 'sub/b.ahk']);
  });

  it('v1: a relative path is relative to the working directory the interpreter starts in', async () => {
    const root = tree({
      'main.ahk': '#Requires AutoHotkey v1.1\n#Include inc.ahk\n',
      'inc.ahk': '',
      'cwd/inc.ahk': '#Include, more.ahk\n',
      'cwd/more.ahk': '',
    });
    expect((await scan(root, { workingDir: path.join(root, 'cwd') })).files).toEqual(['main.ahk', 'cwd/inc.ahk', 'cwd/more.ahk']);
    // The same file read as v2 resolves against its own folder.
    expect((await scan(root, { major: 2, workingDir: path.join(root, 'cwd') })).files).toEqual(['main.ahk', 'inc.ahk']);
  });

  it('#Include of a folder changes where later includes look: v2 for the rest of that file only', async () => {
    const root = tree({
      'main.ahk': '#Include a.ahk\n#Include x.ahk\n#Include "%A_ScriptDir%\\d2"\n#Include y.ahk\n',
      'a.ahk': '#Include d1\n#Include z.ahk\n',
      'd1/z.ahk': '',
      'd1/x.ahk': '',
      'x.ahk': '',
      'd2/y.ahk': '',
    });
    expect((await scan(root)).files).toEqual(['main.ahk', 'a.ahk', 'd1/z.ahk', 'x.ahk', 'd2/y.ahk']);
  });

  it('v1: a folder include holds for every later include, in any file', async () => {
    const root = tree({
      'main.ahk': '#Include a.ahk\n#Include x.ahk\n',
      'a.ahk': '#Include d1\n#Include z.ahk\n',
      'd1/z.ahk': '',
      'd1/x.ahk': '',
      'x.ahk': '',
    });
    expect((await scan(root, { major: 1, workingDir: root })).files).toEqual(['main.ahk', 'a.ahk', 'd1/z.ahk', 'd1/x.ahk']);
  });

  it('expands %A_ScriptDir%, %A_LineFile% (the including file) and %A_WorkingDir% case-insensitively', async () => {
    const root = tree({
      'main.ahk': '#Include %a_scriptdir%\\one.ahk\n#Include sub\\two.ahk\n',
      'one.ahk': '',
      'sub/two.ahk': '#Include %A_LineFile%\\..\\three.ahk\n#Include %A_ScriptDir%\\four.ahk\n#Include ..\\d\n#Include %A_WorkingDir%\\five.ahk\n',
      'sub/three.ahk': '',
      'four.ahk': '',
      'd/five.ahk': '',
    });
    expect((await scan(root)).files).toEqual(['main.ahk', 'one.ahk', 'sub/two.ahk', 'sub/three.ahk', 'four.ahk', 'd/five.ahk']);
  });

  it('takes machine folders such as %A_AppData% when known, and skips an include with one it cannot know (debug log)', async () => {
    const root = tree({
      'main.ahk': '#Include %A_AppData%\\cfg.ahk\n#Include %A_Desktop%\\x.ahk\n#Include 100%.ahk\n#Include %NotBuiltIn%.ahk\n',
      'appdata/cfg.ahk': '',
      '100%.ahk': '',
      '%NotBuiltIn%.ahk': '',
    });
    const lines: string[] = [];
    const log = new Logger({ level: 'debug', sink: { write: (l) => lines.push(l) } });
    const res = await scan(root, { builtins: { A_AppData: path.join(root, 'appdata'), A_Desktop: undefined }, log });
    // Percent signs that are no built-in variable are part of the name, as in AutoHotkey.
    expect(res).toEqual({ files: ['main.ahk', 'appdata/cfg.ahk', '100%.ahk', '%NotBuiltIn%.ahk'], missing: [] });
    expect(lines.join('')).toMatch(/cannot evaluate.*line=2 variable=a_desktop/);
  });

  it('notes missing includes, with or without *i (quoted in v2), so that creating one is seen', async () => {
    const root = tree({ 'main.ahk': '#Include *i opt.ahk\n#Include "*i quoted opt.ahk"\n#Include gone.ahk\n#IncludeAgain sub\\again.ahk\n' });
    expect(await scan(root)).toEqual({ files: ['main.ahk'], missing: ['opt.ahk', 'quoted opt.ahk', 'gone.ahk', 'sub/again.ahk'] });
  });

  it('a missing script is all missing', async () => {
    const root = tree({});
    expect(await scan(root)).toEqual({ files: [], missing: ['main.ahk'] });
  });
});

describe('scanIncludes: <Lib>', () => {
  it('searches the local, user and standard Lib folders in that order, then the name before the first underscore', async () => {
    const root = tree({
      'main.ahk': '#Include <Both>\n#Include <UserOnly>\n#Include <StdOnly>\n#Include <Pre_Func>\n#Include <sub\\Deep>\n',
      'Lib/Both.ahk': '',
      'Lib/Pre.ahk': '',
      'Lib/sub/Deep.ahk': '',
      'docs/AutoHotkey/Lib/Both.ahk': '',
      'docs/AutoHotkey/Lib/UserOnly.ahk': '',
      'ahk/Lib/StdOnly.ahk': '',
      'ahk/Lib/UserOnly.ahk': '',
    });
    const res = await scan(root, { builtins: { A_MyDocuments: path.join(root, 'docs') }, ahkPath: path.join(root, 'ahk', 'AutoHotkey64.exe') });
    expect(res).toEqual({
      files: ['main.ahk', 'Lib/Both.ahk', 'docs/AutoHotkey/Lib/UserOnly.ahk', 'ahk/Lib/StdOnly.ahk', 'Lib/Pre.ahk', 'Lib/sub/Deep.ahk'],
      missing: [],
    });
  });

  it('a Lib file includes relative to its own folder; a Lib that is not found is noted in each Lib folder', async () => {
    const root = tree({ 'main.ahk': '#Include <Tool>\n#Include *i <Absent>\n', 'Lib/Tool.ahk': '#Include part.ahk\n', 'Lib/part.ahk': '' });
    // A_MyDocuments given: on Windows it would otherwise be the user's own Documents folder.
    const res = await scan(root, { builtins: { A_MyDocuments: path.join(root, 'docs') } });
    expect(res).toEqual({ files: ['main.ahk', 'Lib/Tool.ahk', 'Lib/part.ahk'], missing: ['Lib/Absent.ahk', 'docs/AutoHotkey/Lib/Absent.ahk'] });
  });

  it('v1: a Lib file includes relative to its Lib folder, and the working directory comes back after it', async () => {
    const root = tree({
      'main.ahk': '#Include <Tool>\n#Include after.ahk\n',
      'Lib/Tool.ahk': '#Include part.ahk\n',
      'Lib/part.ahk': '',
      'cwd/after.ahk': '',
    });
    expect((await scan(root, { major: 1, workingDir: path.join(root, 'cwd') })).files).toEqual(['main.ahk', 'Lib/Tool.ahk', 'Lib/part.ahk', 'cwd/after.ahk']);
  });
});

describe('scanIncludes: comments', () => {
  it('skips ; comment lines and cuts ; comments after a space; `; is a literal semicolon', async () => {
    const root = tree({
      'main.ahk': ['; #Include no1.ahk', '   ;#Include no2.ahk', '#Include yes1.ahk ; #Include no3.ahk', '#Include semi`;colon.ahk', 'x := 1 ; #Include no4.ahk', ''].join('\r\n'),
      'yes1.ahk': '',
      'semi;colon.ahk': '',
    });
    expect(await scan(root)).toEqual({ files: ['main.ahk', 'yes1.ahk', 'semi;colon.ahk'], missing: [] });
  });

  it('skips lines inside /* */ blocks; v2 also ends a block at a line ending in */', async () => {
    const text = [
      '/*',
      '#Include no1.ahk',
      '*/ #Include yes1.ahk',
      '/* one line */',
      '#Include yes2.ahk',
      '/*',
      'still a comment */',
      '#Include v2only.ahk',
      '*/',
      '#Include yes3.ahk',
      '',
    ].join('\n');
    const root = tree({ 'main.ahk': text, 'yes1.ahk': '', 'yes2.ahk': '', 'yes3.ahk': '', 'v2only.ahk': '' });
    expect((await scan(root)).files).toEqual(['main.ahk', 'yes1.ahk', 'yes2.ahk', 'v2only.ahk', 'yes3.ahk']);
    // v1 needs */ at the start of a line: "/* one line */" opens a block that runs to the next "*/".
    expect((await scan(root, { major: 1, workingDir: root })).files).toEqual(['main.ahk', 'yes1.ahk', 'yes3.ahk']);
  });

  it('includeDirectives reads #Include/#IncludeAgain, quotes (v2), *i and <Lib> as AutoHotkey does', () => {
    expect(includeDirectives('#include a.ahk\n#IncludeAgain "b c.ahk"\n#Include *i <L>\n#Includes x\n#Include\n', 2)).toEqual([
      { line: 1, again: false, optional: false, target: 'a.ahk' },
      { line: 2, again: true, optional: false, target: 'b c.ahk' },
      { line: 3, again: false, optional: true, lib: 'L' },
    ]);
    // v1 takes a comma after the directive and no quotes.
    expect(includeDirectives('#Include, a.ahk\n#Include "b.ahk"\n', 1)).toEqual([
      { line: 1, again: false, optional: false, target: 'a.ahk' },
      { line: 2, again: false, optional: false, target: '"b.ahk"' },
    ]);
  });
});

describe('scanIncludes: cycles and encodings', () => {
  it('reads each file once, whatever includes it again', async () => {
    const root = tree({
      'main.ahk': '#Include a.ahk\n#IncludeAgain a.ahk\n',
      'a.ahk': '#Include b.ahk\n#IncludeAgain a.ahk\n',
      'b.ahk': '#Include main.ahk\n#Include a.ahk\n',
    });
    expect(await scan(root)).toEqual({ files: ['main.ahk', 'a.ahk', 'b.ahk'], missing: [] });
  });

  it('decodes UTF-16 LE with BOM, UTF-8 with and without BOM, and Windows-1252', async () => {
    const root = tree({
      'main.ahk': Buffer.concat([Buffer.from([0xff, 0xfe]), Buffer.from('; UTF-16\r\n#Include ütf16.ahk\r\n', 'utf16le')]),
      'ütf16.ahk': Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from('#Include bom-ü.ahk\n')]),
      'bom-ü.ahk': '#Include plain-ü.ahk\n',
      'plain-ü.ahk': iconv.encode('; Windows-1252\n#Include café.ahk\n', 'windows-1252'),
      'café.ahk': '',
    });
    expect((await scan(root)).files).toEqual(['main.ahk', 'ütf16.ahk', 'bom-ü.ahk', 'plain-ü.ahk', 'café.ahk']);
    expect(decodeScriptText(iconv.encode('café', 'windows-1252'))).toBe('café');
  });
});
