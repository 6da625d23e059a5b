import { describe, expect, it } from 'vitest';
import { classifyExit } from '../../bridge/supervisor/exit-reason.js';
import { DEFAULT_RESTART, RestartPolicy } from '../../bridge/supervisor/restart-policy.js';

const policy = (over: Partial<typeof DEFAULT_RESTART> = {}) => new RestartPolicy({ ...DEFAULT_RESTART, ...over });

describe('classifyExit', () => {
  const base = { exitCode: 0, signal: null, stopRequested: false, loadError: null, runtimeError: false };
  it('tells clean exit, crash, stop, load failure and failed start apart', () => {
    expect(classifyExit(base)).toBe('clean_exit');
    expect(classifyExit({ ...base, exitCode: 1 })).toBe('crash');
    expect(classifyExit({ ...base, exitCode: null, signal: 'SIGKILL' })).toBe('crash');
    expect(classifyExit({ ...base, exitCode: 2, loadError: { file: 'a.ahk', line: 3, message: 'x' } })).toBe('load_failure');
    expect(classifyExit({ ...base, exitCode: 2 })).toBe('crash');
    expect(classifyExit({ ...base, exitCode: 1, stopRequested: true })).toBe('stopped');
    // Nothing ran, so nothing failed to load: no interpreter, or a file that is not executable.
    expect(classifyExit({ ...base, exitCode: null, spawnFailed: true })).toBe('start_failure');
  });
  it('exit 0 after a runtime error is a crash: AutoHotkey exit codes lie', () => {
    expect(classifyExit({ ...base, runtimeError: true })).toBe('crash');
  });
  it("unless Bridge.ahk's OnExit said why it ends: only its reason Error makes exit 0 a crash", () => {
    expect(classifyExit({ ...base, runtimeError: true, exitAnnounced: 'Exit' })).toBe('clean_exit');
    expect(classifyExit({ ...base, runtimeError: true, exitAnnounced: 'Menu' })).toBe('clean_exit');
    expect(classifyExit({ ...base, runtimeError: true, exitAnnounced: 'Error' })).toBe('crash');
    expect(classifyExit({ ...base, runtimeError: false, exitAnnounced: 'Error' })).toBe('crash');
    expect(classifyExit({ ...base, exitCode: 1, exitAnnounced: 'Exit' })).toBe('crash');
  });
});

describe('RestartPolicy', () => {
  it('never restarts a load failure, a failed start or a requested stop, whatever the mode; none of them is giving up', () => {
    const p = policy({ mode: 'always' });
    expect(p.next('load_failure', 10)).toMatchObject({ restart: false, gaveUp: false });
    expect(p.next('start_failure', 10)).toEqual({ restart: false, why: expect.stringMatching(/could not be started/), gaveUp: false });
    expect(p.next('stopped', 10)).toMatchObject({ restart: false, gaveUp: false });
    expect(policy({ mode: 'never' }).next('crash', 10)).toMatchObject({ restart: false, gaveUp: false });
  });

  it('follows the mode', () => {
    expect(policy({ mode: 'never' }).next('crash', 10).restart).toBe(false);
    expect(policy({ mode: 'on-failure' }).next('crash', 10).restart).toBe(true);
    expect(policy({ mode: 'on-failure' }).next('clean_exit', 10).restart).toBe(false);
    expect(policy({ mode: 'always' }).next('clean_exit', 10).restart).toBe(true);
  });

  it('backs off exponentially up to the maximum', () => {
    const p = policy({ initialDelayMs: 100, maxDelayMs: 500, maxRestarts: 100 });
    const delays = Array.from({ length: 5 }, (_, i) => p.next('crash', 1, i));
    expect(delays.map((d) => (d.restart ? d.delayMs : -1))).toEqual([100, 200, 400, 500, 500]);
    expect(delays.map((d) => (d.restart ? d.attempt : -1))).toEqual([1, 2, 3, 4, 5]);
  });

  it('caps restarts per window, then allows them again once the window passed', () => {
    const p = policy({ maxRestarts: 2, windowMs: 1000 });
    expect(p.next('crash', 1, 0).restart).toBe(true);
    expect(p.next('crash', 1, 10).restart).toBe(true);
    const third = p.next('crash', 1, 20);
    expect(third).toEqual({ restart: false, why: expect.stringMatching(/restart limit/), gaveUp: true });
    expect(p.next('crash', 1, 1500).restart).toBe(true);
  });

  it('a stable run resets the backoff', () => {
    const p = policy({ initialDelayMs: 100, stableAfterMs: 1000, maxRestarts: 100 });
    p.next('crash', 1, 0);
    p.next('crash', 1, 1);
    expect(p.next('crash', 5000, 2)).toMatchObject({ delayMs: 100, attempt: 1 });
  });
});
