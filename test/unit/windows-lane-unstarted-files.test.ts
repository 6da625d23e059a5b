import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, describe, expect, it } from 'vitest';
import { unstartedFiles } from '../windows/unstarted-files.mjs';

const run = promisify(execFile);
const SCRIPT = fileURLToPath(new URL('../windows/unstarted-files.mjs', import.meta.url));
const ROOT = '/check/work/main';
const RED = '\x1b[31m';
const OFF = '\x1b[39m';

/** A Windows-lane log's tail as vitest prints it, colours included. */
function laneLog(options: { starts?: string[]; errors?: number; files?: string; tests?: string }): string {
  const starts = (options.starts ?? []).map(
    (files) =>
      `${RED}\x1b[1mError\x1b[22m: [vitest-pool]: Failed to start forks worker for test files ${files}.${OFF}\n` +
      `${RED}\x1b[1mCaused by: Error\x1b[22m: spawn UNKNOWN${OFF}\n`,
  );
  const errors = options.errors ?? starts.length;
  return [
    ' \x1b[32m✓\x1b[39m test/unit/version.test.ts (2 tests) 7ms',
    ...starts,
    '',
    ` \x1b[2m Test Files \x1b[22m ${options.files ?? '\x1b[1m\x1b[32m109 passed\x1b[39m\x1b[22m | \x1b[33m1 skipped\x1b[39m (110)'}`,
    `\x1b[2m      Tests \x1b[22m ${options.tests ?? '\x1b[1m\x1b[32m1868 passed\x1b[39m\x1b[22m | \x1b[33m20 skipped\x1b[39m (1888)'}`,
    errors > 0 ? `\x1b[2m     Errors \x1b[22m \x1b[1m\x1b[31m${errors} error${errors === 1 ? '' : 's'}\x1b[39m\x1b[22m` : '',
    '\x1b[2m   Start at \x1b[22m 19:13:08',
  ].join('\n');
}

describe('Windows lane: files Wine never started', () => {
  it('names the file whose worker Wine could not spawn when that was the run’s only error', () => {
    const log = laneLog({ starts: [`Z:${ROOT}/test/integration/status-page-api.test.ts`] });
    expect(unstartedFiles(log, ROOT)).toEqual(['test/integration/status-page-api.test.ts']);
  });

  it('names every file of every start failure once, a shared worker’s files included', () => {
    const log = laneLog({
      starts: [`Z:${ROOT}/test/unit/a.test.ts, Z:${ROOT}/test/unit/b.test.ts`, `Z:${ROOT}/test/unit/a.test.ts`, `Z:\\check\\work\\main\\test\\windows\\c.test.ts`],
    });
    expect(unstartedFiles(log, ROOT)).toEqual(['test/unit/a.test.ts', 'test/unit/b.test.ts', 'test/windows/c.test.ts']);
  });

  it('runs nothing again when a test failed as well, or a file failed', () => {
    const starts = [`Z:${ROOT}/test/integration/x.test.ts`];
    expect(unstartedFiles(laneLog({ starts, tests: '\x1b[31m1 failed\x1b[39m | 1867 passed (1888)' }), ROOT)).toBeNull();
    expect(unstartedFiles(laneLog({ starts, files: '\x1b[31m1 failed\x1b[39m | 108 passed (110)' }), ROOT)).toBeNull();
  });

  it('runs nothing again when another unhandled error came with the start failure', () => {
    const log = laneLog({ starts: [`Z:${ROOT}/test/integration/x.test.ts`], errors: 2 });
    expect(unstartedFiles(log, ROOT)).toBeNull();
  });

  it('runs nothing again without a start failure, or without the summary of a finished run', () => {
    expect(unstartedFiles(laneLog({ errors: 1 }), ROOT)).toBeNull();
    const cutShort = laneLog({ starts: [`Z:${ROOT}/test/integration/x.test.ts`] }).split(' \x1b[2m Test Files')[0] ?? '';
    expect(cutShort).toContain('Failed to start forks worker');
    expect(cutShort).not.toContain('Test Files');
    expect(unstartedFiles(cutShort, ROOT)).toBeNull();
  });

  it('runs nothing again for a file outside the repository', () => {
    expect(unstartedFiles(laneLog({ starts: ['Z:/elsewhere/x.test.ts'] }), ROOT)).toBeNull();
  });

  describe('as run.sh runs it', () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'unstarted-files-'));
    afterAll(() => rmSync(dir, { recursive: true, force: true }));

    it('prints the files and exits 0, or prints nothing and exits 1', async () => {
      const rerun = path.join(dir, 'rerun.log');
      writeFileSync(rerun, laneLog({ starts: [`Z:${ROOT}/test/integration/status-page-api.test.ts`] }));
      await expect(run(process.execPath, [SCRIPT, rerun, ROOT])).resolves.toMatchObject({
        stdout: 'test/integration/status-page-api.test.ts\n',
        stderr: '',
      });
      const failed = path.join(dir, 'failed.log');
      writeFileSync(failed, laneLog({ starts: [`Z:${ROOT}/test/x.test.ts`], tests: '1 failed | 3 passed (4)' }));
      await expect(run(process.execPath, [SCRIPT, failed, ROOT])).rejects.toMatchObject({ code: 1, stdout: '' });
    });

    it('says how to call it when the arguments are missing', async () => {
      await expect(run(process.execPath, [SCRIPT])).rejects.toMatchObject({
        code: 2,
        stderr: 'usage: unstarted-files.mjs <vitest log> <repository root>\n',
      });
    });
  });
});
