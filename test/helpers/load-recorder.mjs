/**
 * Preload (`node --import <this file's URL>`) that records every module the process loads,
 * one URL a line, into the file named by the LOAD_RECORD environment variable: ES modules as
 * they load (through a loader hook, which runs on Node's hooks thread), and CommonJS ones
 * (commander, iconv-lite through createRequire, ...) from the require cache when the process
 * exits. The exit must be a clean one (process.exit or the event loop ending); a process
 * killed by a signal records only its ES modules. The exit's record ends with the line
 * `recorder:exit`: where no CommonJS module was loaded, that line shows the require cache
 * was read all the same. Used by cli-lazy-loading.test.ts.
 */
// Built-ins by process.getBuiltinModule, not import: Node's loader hook sees a built-in
// the first time it is imported, so a built-in imported here would never be recorded
// when the process under test imports it too.
const { appendFileSync } = process.getBuiltinModule('node:fs');
const { createRequire, register } = process.getBuiltinModule('node:module');
const { pathToFileURL } = process.getBuiltinModule('node:url');

const file = process.env.LOAD_RECORD;
if (!file) throw new Error('load-recorder.mjs: set LOAD_RECORD to the file to record into');

register('./load-recorder-hooks.mjs', import.meta.url, { data: { file } });

process.on('exit', () => {
  const cached = Object.keys(createRequire(import.meta.url).cache).map((p) => pathToFileURL(p).href);
  appendFileSync(file, [...cached, 'recorder:exit'].map((u) => `${u}\n`).join(''));
});
