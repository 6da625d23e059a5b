#!/usr/bin/env node
/**
 * Which test files of a Windows-lane run never ran because Wine could not start their
 * worker process, and only those: `node unstarted-files.mjs <vitest log> <repository root>`
 * prints them, one per line and relative to the root, and exits 0 when the run's only
 * errors were such start failures and no test failed; otherwise it prints nothing and
 * exits 1 (the run's exit code stands).
 *
 * Why: under Wine, CreateProcess now and then fails for no reason the test controls
 * (libuv reports `spawn UNKNOWN`, errno -4094); vitest then reports the file as an
 * unhandled error, never runs it, and exits 1 with every test that did run passed. The
 * lane runs such files once more instead of failing on a file that never started. A file
 * that started and failed is never run again here (vitest's own `retry` covers tests).
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

// eslint-disable-next-line no-control-regex -- the log is a terminal's, with its colour codes
const ANSI = /\x1b\[[0-9;]*m/g;
const START_FAILURE = /\[vitest-pool\]: Failed to start \w+ worker for test files (.+)\.$/gm;

/**
 * The files to run again, relative to `root`, or null when the run failed otherwise
 * (a test or file failed, another error, no start failure at all, or a summary missing).
 * @param {string} log the vitest output
 * @param {string} root the repository's Linux path
 * @returns {string[] | null}
 */
export function unstartedFiles(log, root) {
  const text = log.replace(ANSI, '');
  const files = [];
  let failures = 0;
  for (const match of text.matchAll(START_FAILURE)) {
    failures += 1;
    for (const file of (match[1] ?? '').split(', ')) files.push(linuxRelative(file, root));
  }
  if (failures === 0) return null;
  const errors = /^\s*Errors\s+(\d+) errors?\b/m.exec(text);
  const fileSummary = /^\s*Test Files\s+(.*)$/m.exec(text);
  const testSummary = /^\s*Tests\s+(.*)$/m.exec(text);
  if (!errors || !fileSummary || !testSummary) return null;
  if (Number(errors[1]) !== failures) return null;
  if (/\bfailed\b/.test(fileSummary[1] ?? '') || /\bfailed\b/.test(testSummary[1] ?? '')) return null;
  if (files.some((file) => file === '' || file.startsWith('..') || path.posix.isAbsolute(file))) return null;
  return [...new Set(files)];
}

/** `Z:/check/repo/test/x.test.ts` (Wine maps Z: to /) as `test/x.test.ts` under `root`. */
function linuxRelative(file, root) {
  const unix = file.trim().replace(/\\/g, '/').replace(/^[A-Za-z]:(?=\/)/, '');
  return path.posix.relative(root, unix);
}

if (process.argv[1] && fileURLToPath(import.meta.url) === path.resolve(process.argv[1])) {
  const [logPath, root] = process.argv.slice(2);
  if (!logPath || !root) {
    process.stderr.write('usage: unstarted-files.mjs <vitest log> <repository root>\n');
    process.exit(2);
  }
  const files = unstartedFiles(readFileSync(logPath, 'utf8'), root);
  if (!files) process.exit(1);
  process.stdout.write(files.map((file) => `${file}\n`).join(''));
}
