/**
 * ScriptProcess in-process with real child processes: the last line, without a newline, of
 * a script whose child still holds its output, and the bridge's one exit hook for all its
 * scripts.
 */
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { silentLogger } from '../../src/log/logger.js';
import { ScriptProcess } from '../../bridge/supervisor/script-process.js';

const CHILD = fileURLToPath(new URL('../helpers/scripted-child.mjs', import.meta.url));

const running: ScriptProcess[] = [];
afterEach(async () => {
  for (const proc of running.splice(0)) await proc.stop(1000);
});

/** A ScriptProcess running Node with `args`, stopped after the test. */
function start(args: string[]): ScriptProcess {
  const proc = new ScriptProcess({ file: process.execPath, args, encoding: 'utf-8', log: silentLogger() });
  running.push(proc);
  return proc;
}

/** Resolves with the first stdout line `pred` accepts. */
function line(proc: ScriptProcess, pred: (text: string) => boolean): Promise<string> {
  return new Promise((resolve) => {
    const check = (l: { text: string }): void => {
      if (!pred(l.text)) return;
      proc.off('stdout', check);
      resolve(l.text);
    };
    proc.on('stdout', check);
  });
}

describe('the bridge exit hook', () => {
  it('is one process exit listener for any number of running scripts, and none once they ended', async () => {
    const before = process.listenerCount('exit');
    const warnings: string[] = [];
    const onWarning = (w: Error): void => void warnings.push(`${w.name}: ${w.message}`);
    process.on('warning', onWarning);
    try {
      const procs = Array.from({ length: 12 }, () => start([CHILD, '--ready']));
      await Promise.all(procs.map((p) => line(p, (t) => t === '@ready')));
      expect(process.listenerCount('exit')).toBe(before + 1);
      for (const p of running.splice(0)) await p.stop(5000);
      expect(process.listenerCount('exit')).toBe(before);
      // Node emits the warning on the next tick of the add that crossed the limit.
      await new Promise((resolve) => setImmediate(resolve));
      expect(warnings.filter((w) => w.startsWith('MaxListenersExceededWarning'))).toEqual([]);
    } finally {
      process.off('warning', onWarning);
    }
  });
});

/**
 * Node as the script: starts a child that inherits its stdout and never ends (left
 * running: a program a script starts outlives it, as on Windows), reports the child's pid
 * on stderr, writes a last line without a newline and ends by itself.
 */
const PARTIAL_LINE_SCRIPT = `
  const { spawn } = require('node:child_process');
  const c = spawn(process.execPath, ['-e', 'setInterval(() => {}, 1 << 30)'], { stdio: ['ignore', 'inherit', 'ignore'] });
  c.unref();
  process.stderr.write('child ' + c.pid + '\\n');
  process.stdout.write('partial with grandchild holding pipe');
`;

const leftovers: number[] = [];
afterEach(() => {
  for (const pid of leftovers.splice(0)) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // ESRCH: already gone.
    }
  }
});

describe('the last line, without a newline, of a script whose child holds its output', () => {
  it('is published once when the bridge stops reading, and the child is left running', async () => {
    const proc = start(['-e', PARTIAL_LINE_SCRIPT]);
    const lines: string[] = [];
    proc.on('stdout', (l) => lines.push(l.text));
    const child = await new Promise<number>((resolve) => {
      proc.on('stderr', (l) => {
        const m = /^child (\d+)$/.exec(l.text);
        if (m) resolve(Number(m[1]));
      });
    });
    leftovers.push(child);
    const exit = await proc.exited;
    expect(exit.exitCode).toBe(0);
    expect(lines).toEqual(['partial with grandchild holding pipe']);
    // Under Wine (the Windows lane) a Node child dies with its parent whatever the bridge
    // does, so only POSIX can show that nothing stopped it.
    if (process.platform !== 'win32') expect(() => process.kill(child, 0)).not.toThrow();
  });
});
