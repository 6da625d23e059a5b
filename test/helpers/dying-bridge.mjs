#!/usr/bin/env node
/**
 * A bridge process that dies of an uncaught exception while it supervises a script that
 * started a child: what a crash of `bridge run` looks like. It runs the built ScriptProcess
 * (dist/, made by `npm test`'s build) with the fake interpreter and fixtures/scripts/
 * grandchild.ahk, prints `pids <script> <grandchild>` once both run, then throws.
 */
import { fileURLToPath } from 'node:url';
import { ScriptProcess } from '../../dist/bridge/supervisor/script-process.js';
import { silentLogger } from '../../dist/src/log/logger.js';

const fake = fileURLToPath(new URL('../../fixtures/fake-ahk/AutoHotkey.mjs', import.meta.url));
const script = fileURLToPath(new URL('../../fixtures/scripts/grandchild.ahk', import.meta.url));
const proc = new ScriptProcess({ file: process.execPath, args: [fake, '/force', '/ErrorStdOut=UTF-8', script], encoding: 'utf-8', log: silentLogger() });
proc.on('stdout', (line) => {
  const m = /^@pub grandchild (\{.*\})$/.exec(line.text);
  if (!m) return;
  process.stdout.write(`pids ${proc.pid} ${JSON.parse(m[1]).pid}\n`);
  setImmediate(() => {
    throw new Error('the bridge crashed');
  });
});
