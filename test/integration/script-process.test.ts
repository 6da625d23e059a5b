/**
 * ScriptProcess in-process with real child processes: what is left of a script's process
 * tree when it ends by itself, its last line without a newline, and the bridge's one exit
 * hook for all its scripts.
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
