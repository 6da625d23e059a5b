/**
 * The Python package `message_broker` (clients/python): its pytest suite, run from
 * `npm test` against our real broker (the suite starts it from this checkout's dist/).
 * One vitest case per pytest file, so a failure names the area.
 *
 * Needs a Python 3.9+ with pytest, pytest-asyncio and a Qt binding: on Debian,
 * `apt-get install python3-pytest python3-pytest-asyncio python3-pyside2.qtcore python3-pyqt5` (what
 * .ci/run installs), or PYTHON_FOR_PYTEST naming such an interpreter. A missing one fails
 * the suite with that instruction: it is never skipped.
 */
import { execFile, execFileSync } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const PACKAGE = fileURLToPath(new URL('../../clients/python/', import.meta.url));
const TESTS = join(PACKAGE, 'tests');
/** The whole of one pytest file may take this long (the seed's quick start sleeps 10 s). */
const FILE_BUDGET_MS = 240_000;

/** The first interpreter that has what the suite needs. */
function findPython(): string {
  const candidates = [process.env.PYTHON_FOR_PYTEST, '/usr/bin/python3', 'python3', 'python'].filter((c): c is string => !!c);
  for (const python of candidates) {
    try {
      execFileSync(python, ['-c', 'import pytest, pytest_asyncio'], { stdio: 'ignore' });
      return python;
    } catch {
      // not this one: try the next
    }
  }
  throw new Error(
    'No Python with pytest and pytest-asyncio was found for the message_broker package tests. ' +
      'On Debian: apt-get install python3-pytest python3-pytest-asyncio python3-pyside2.qtcore python3-pyqt5 ' +
      '(or set PYTHON_FOR_PYTEST to an interpreter that has them).',
  );
}

interface PytestRun {
  code: number;
  output: string;
}

function pytest(python: string, file: string, env: Record<string, string>): Promise<PytestRun> {
  return new Promise((resolve) => {
    execFile(
      python,
      ['-m', 'pytest', '-q', '-p', 'no:cacheprovider', '-rs', join('tests', file)],
      {
        cwd: PACKAGE,
        timeout: FILE_BUDGET_MS,
        maxBuffer: 16 * 1024 * 1024,
        env: { ...process.env, PYTHONDONTWRITEBYTECODE: '1', PYTHONIOENCODING: 'utf-8', QT_QPA_PLATFORM: 'offscreen', ...env },
      },
      (err, stdout, stderr) => {
        const code = err ? (typeof err.code === 'number' ? err.code : 1) : 0;
        resolve({ code, output: `${stdout}${stderr}` });
      },
    );
  });
}

const files = readdirSync(TESTS).filter((f) => /^test_.*\.py$/.test(f)).sort();
/**
 * Runs alone, after the others: it builds the package from its folder, which the other
 * files import from.
 */
const ALONE = 'test_install.py';
/** Each file once as is; the Qt client once more on PyQt5 (the default here is PySide2). */
const runs: [string, Record<string, string>][] = [...files.filter((f) => f !== ALONE).map((f): [string, Record<string, string>] => [f, {}]), ['test_qt_client.py', { QT_API: 'pyqt5' }]];

/**
 * Two pytest files at a time: each mostly waits (on its brokers, its Qt event loops, the
 * seed's sleeps), so two share the two cores without either waiting for CPU, and the
 * suite takes half as long (146 s one at a time on 2026-12-07).
 */
const AT_ONCE = 2;
let running = 0;
const waiting: Array<() => void> = [];
async function inTurn<T>(work: () => Promise<T>): Promise<T> {
  if (running >= AT_ONCE) await new Promise<void>((resolve) => waiting.push(resolve));
  running++;
  try {
    return await work();
  } finally {
    running--;
    waiting.shift()?.();
  }
}

describe('Python package message_broker (pytest)', () => {
  const python = findPython();

  it('has its test files', () => {
    expect(files).toEqual(expect.arrayContaining(['test_client.py', 'test_qt_client.py', 'test_ahk_bridge.py', 'test_broker.py', 'test_install.py', 'test_python_versions.py', 'test_seed_snippets.py']));
  });

  const passes = async (file: string, env: Record<string, string>): Promise<void> => {
    const run = await inTurn(() => pytest(python, file, env));
    // The summary line, e.g. "12 passed in 3.40s"; echoed so the counts show in the log.
    const summary = run.output.trim().split('\n').pop() ?? '';
    console.log(`pytest ${file} ${JSON.stringify(env)}: ${summary}`);
    expect(run.code, run.output).toBe(0);
    expect(summary).toMatch(/^\d+ passed/);
    expect(summary, run.output).not.toMatch(/skipped|xfail|error/);
  };

  it.concurrent.each(runs)('%s %o passes, with nothing skipped', passes, 2 * FILE_BUDGET_MS + 10_000);

  it(`${ALONE} passes, with nothing skipped`, () => passes(ALONE, {}), FILE_BUDGET_MS + 10_000);
});
