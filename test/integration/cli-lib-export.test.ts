/**
 * `bridge lib export [DIR]` through the built binary: the AutoHotkey libraries written
 * byte for byte, an unchanged run that changes nothing, an edited copy kept (and nothing
 * written) unless --force, and the mistakes people make: a file as DIR, no subcommand.
 */
import { existsSync, readdirSync, readFileSync, unlinkSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { runCli } from '../helpers/cli.js';
import { useTempDirs } from '../helpers/temp-dirs.js';

const LIB = fileURLToPath(new URL('../../scripts/lib/', import.meta.url));
const SHIPPED = readdirSync(LIB).filter((n) => n.endsWith('.ahk')).sort();

describe('bridge lib export', () => {
  const newTempDir = useTempDirs();
  const tempDir = (): string => newTempDir('lib-export-');

  it('writes every shipped library into a new folder, byte for byte, and says how to include them', async () => {
    expect(SHIPPED).toEqual(['Bridge.ahk', 'BridgeJson.ahk', 'BrokerClient.ahk']);
    const target = path.join(tempDir(), 'scripts', 'lib');
    // From a folder the target is not below, so the include line shows its full path.
    const res = await runCli(['lib', 'export', target], {}, tempDir());
    expect(res.code, res.stderr).toBe(0);
    for (const name of SHIPPED) {
      expect(readFileSync(path.join(target, name)).equals(readFileSync(path.join(LIB, name))), name).toBe(true);
      expect(res.stdout).toContain(`wrote ${path.join(target, name)}`);
    }
    expect(res.stdout).toContain(`#Include ${path.join(target, 'Bridge.ahk')}`);
  });

  it('defaults to lib beside the scripts, shown as a script writes the include', async () => {
    const cwd = tempDir();
    const res = await runCli(['lib', 'export'], {}, cwd);
    expect(res.code, res.stderr).toBe(0);
    expect(readdirSync(path.join(cwd, 'lib')).sort()).toEqual(SHIPPED);
    expect(res.stdout.trimEnd().split('\n').at(-1)).toBe('scripts include them with: #Include lib\\Bridge.ahk');
  });

  it('a second run finds them unchanged', async () => {
    const target = tempDir();
    await runCli(['lib', 'export', target]);
    const res = await runCli(['lib', 'export', target]);
    expect(res.code, res.stderr).toBe(0);
    expect(res.stdout.split('\n').filter((l) => l.startsWith('unchanged '))).toHaveLength(SHIPPED.length);
    expect(res.stdout).not.toMatch(/^(wrote|replaced) /m);
  });

  it('keeps an edited library and writes nothing at all unless --force', async () => {
    const target = tempDir();
    await runCli(['lib', 'export', target]);
    const edited = path.join(target, 'Bridge.ahk');
    writeFileSync(edited, '; my own changes\n');
    unlinkSync(path.join(target, 'BrokerClient.ahk'));

    const refused = await runCli(['lib', 'export', target]);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toBe(`bridge: ${edited} differs from this version's library; nothing was written. Keep your copy, or run again with --force to replace it\n`);
    expect(readFileSync(edited, 'utf8')).toBe('; my own changes\n');
    expect(existsSync(path.join(target, 'BrokerClient.ahk')), 'nothing written, not even a missing file').toBe(false);

    const forced = await runCli(['lib', 'export', target, '--force']);
    expect(forced.code, forced.stderr).toBe(0);
    expect(forced.stdout).toContain(`replaced ${edited}`);
    expect(forced.stdout).toContain(`wrote ${path.join(target, 'BrokerClient.ahk')}`);
    expect(readFileSync(edited).equals(readFileSync(path.join(LIB, 'Bridge.ahk')))).toBe(true);
  });

  it('a file given as the folder is refused with what to give instead', async () => {
    const file = path.join(tempDir(), 'Bridge.ahk');
    writeFileSync(file, 'x');
    const res = await runCli(['lib', 'export', file]);
    expect(res.code).toBe(1);
    expect(res.stderr).toBe(`bridge: ${file} is a file, not a folder; give the folder to write the libraries into (e.g. lib)\n`);
    expect(readFileSync(file, 'utf8')).toBe('x');
  });

  it('a folder that cannot be made is refused at once with why: under a file; under /proc, where Node\'s recursive mkdir spins forever', async () => {
    const file = path.join(tempDir(), 'notes.txt');
    writeFileSync(file, 'x');
    const under = await runCli(['lib', 'export', path.join(file, 'sub', 'lib')]);
    expect(under.code).toBe(1);
    expect(under.stderr).toBe(`bridge: cannot create ${path.join(file, 'sub', 'lib')}: ${file} is a file, not a folder\n`);
    if (process.platform !== 'linux') return;
    const proc = await runCli(['lib', 'export', '/proc/ahk-bridge-nope/lib']);
    expect(proc.code).toBe(1);
    expect(proc.stderr).toMatch(/^bridge: cannot create \/proc\/ahk-bridge-nope\/lib: ENOENT: no such file or directory, mkdir '\/proc\/ahk-bridge-nope'\n$/);
  });

  it('lib without a subcommand, or an unknown one, prints the usage and exits 1', async () => {
    const bare = await runCli(['lib']);
    expect(bare.code).toBe(1);
    expect(bare.stderr).toContain('export [options] [dir]');
    const unknown = await runCli(['lib', 'import', 'x']);
    expect(unknown.code).toBe(1);
    expect(unknown.stderr).toMatch(/unknown command 'import'/);
  });
});
