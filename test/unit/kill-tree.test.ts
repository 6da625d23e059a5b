import { spawn, type ChildProcess } from 'node:child_process';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { killTree, loadedOnFirstCall, realKillDeps, spawnOptionsForTree, terminateOnly, TreeKillError, type KillDeps } from '../../bridge/supervisor/kill-tree.js';
import { assertGone, isGone } from '../helpers/processes.js';

/** Deps that record calls; `groupError`/`treeError` make the stubs fail. */
function stubDeps(
  platform: NodeJS.Platform,
  opts: { groupError?: NodeJS.ErrnoException; treeError?: Error & { code?: unknown }; killError?: NodeJS.ErrnoException } = {},
): KillDeps & { calls: unknown[][] } {
  const calls: unknown[][] = [];
  return {
    platform,
    calls,
    killProcessGroup: (pid, signal) => {
      calls.push(['group', pid, signal]);
      if (opts.groupError) throw opts.groupError;
    },
    treeKill: (pid, signal, cb) => {
      calls.push(['tree', pid, signal]);
      // Asynchronous like the real one (it runs taskkill).
      setImmediate(() => cb(opts.treeError));
    },
    killProcess: (pid, signal) => {
      calls.push(['process', pid, signal]);
      if (opts.killError) throw opts.killError;
    },
  };
}

function errno(code: string): NodeJS.ErrnoException {
  return Object.assign(new Error(`kill ${code}`), { code });
}

describe('killTree with stubbed deps', () => {
  it('Windows: tree-kill (taskkill /T /F) with the pid; no process-group call', async () => {
    const deps = stubDeps('win32');
    await killTree(4242, 'SIGTERM', deps);
    expect(deps.calls).toEqual([['tree', 4242, 'SIGTERM']]);
  });

  it('Windows: taskkill "not found" (exit 128) is success, other failures reject', async () => {
    await expect(killTree(4242, 'SIGKILL', stubDeps('win32', { treeError: Object.assign(new Error('ERROR: The process "4242" not found.'), { code: 128 }) }))).resolves.toBeUndefined();
  });

  it('Windows: when taskkill /T fails (Wine refuses /T, access denied) the process itself is terminated, so a stop ends', async () => {
    const refused = Object.assign(new Error('ERROR: Invalid argument/option - /T\n'), { code: 1 });
    const deps = stubDeps('win32', { treeError: refused });
    const err = await killTree(4242, 'SIGTERM', deps).then(
      () => null,
      (e: unknown) => e,
    );
    expect(deps.calls).toEqual([
      ['tree', 4242, 'SIGTERM'],
      ['process', 4242, 'SIGKILL'],
    ]);
    expect(err).toBeInstanceOf(TreeKillError);
    expect(err).toMatchObject({ rootKilled: true, cause: refused, message: expect.stringMatching(/terminated pid 4242 itself, processes it started may survive/) });
    // Already gone when we tried ourselves: what we wanted.
    await expect(killTree(4242, 'SIGKILL', stubDeps('win32', { treeError: refused, killError: errno('ESRCH') }))).resolves.toBeUndefined();
    // Nothing worked: said so, not hidden.
    await expect(killTree(4242, 'SIGKILL', stubDeps('win32', { treeError: refused, killError: errno('EPERM') }))).rejects.toMatchObject({
      rootKilled: false,
      message: expect.stringContaining('could not be terminated'),
    });
  });

  it.each(['linux', 'darwin'] as const)('%s: signals the process group, not tree-kill', async (platform) => {
    const deps = stubDeps(platform);
    await killTree(4242, 'SIGTERM', deps);
    expect(deps.calls).toEqual([['group', 4242, 'SIGTERM']]);
  });

  it('POSIX: the real dep signals the NEGATIVE pid (the group)', async () => {
    const kill = vi.spyOn(process, 'kill').mockImplementation(() => true);
    try {
      await killTree(4242, 'SIGINT', { ...realKillDeps, platform: 'linux' });
      expect(kill).toHaveBeenCalledTimes(1);
      expect(kill).toHaveBeenCalledWith(-4242, 'SIGINT');
    } finally {
      kill.mockRestore();
    }
  });

  it('POSIX: ESRCH (nothing left in the group) is success; EPERM rejects', async () => {
    await expect(killTree(4242, 'SIGTERM', stubDeps('linux', { groupError: errno('ESRCH') }))).resolves.toBeUndefined();
    await expect(killTree(4242, 'SIGTERM', stubDeps('linux', { groupError: errno('EPERM') }))).rejects.toMatchObject({ code: 'EPERM' });
  });

  it.each([0, 1, -1, -4242, 1.5, Number.NaN])('refuses pid %s without signalling anything', async (pid) => {
    // -0 would be our own process group and -1 every process we may signal.
    for (const platform of ['linux', 'win32'] as const) {
      const deps = stubDeps(platform);
      await expect(killTree(pid, 'SIGKILL', deps)).rejects.toBeInstanceOf(RangeError);
      expect(deps.calls).toEqual([]);
    }
  });
});

describe('loadedOnFirstCall (tree-kill on demand)', () => {
  const call = (treeKill: KillDeps['treeKill'], pid: number): Promise<Error | undefined> => new Promise((resolve) => treeKill(pid, 'SIGTERM', resolve));

  it('loads nothing until the first call, then once for every call, passing each its own arguments and callback', async () => {
    let loads = 0;
    const calls: unknown[][] = [];
    const treeKill = loadedOnFirstCall(async () => {
      loads++;
      return (pid, signal, cb) => {
        calls.push([pid, signal]);
        cb(pid === 2 ? new Error('taskkill failed') : undefined);
      };
    });
    expect(loads).toBe(0);
    const [first, second] = await Promise.all([call(treeKill, 1), call(treeKill, 2)]);
    expect(first).toBeUndefined();
    expect(second).toMatchObject({ message: 'taskkill failed' });
    expect(await call(treeKill, 3)).toBeUndefined();
    expect(loads).toBe(1);
    expect(calls).toEqual([
      [1, 'SIGTERM'],
      [2, 'SIGTERM'],
      [3, 'SIGTERM'],
    ]);
  });

  it('a load that fails fails that call, saying so, and the next call loads again', async () => {
    let loads = 0;
    const missing = new Error("Cannot find package 'tree-kill'");
    const treeKill = loadedOnFirstCall(async () => {
      if (++loads === 1) throw missing;
      return (_pid, _signal, cb) => cb();
    });
    const err = await call(treeKill, 1);
    expect(err).toMatchObject({ message: "could not load tree-kill: Cannot find package 'tree-kill'", cause: missing });
    expect(await call(treeKill, 1)).toBeUndefined();
    expect(loads).toBe(2);
  });
});

describe('terminateOnly', () => {
  it('kills the pid alone, never through taskkill /T; gone already is success, access denied throws', () => {
    const deps = stubDeps('win32');
    terminateOnly(4242, deps);
    expect(deps.calls).toEqual([['process', 4242, 'SIGKILL']]);
    expect(() => terminateOnly(4242, stubDeps('win32', { killError: errno('ESRCH') }))).not.toThrow();
    expect(() => terminateOnly(4242, stubDeps('win32', { killError: errno('EPERM') }))).toThrow(expect.objectContaining({ code: 'EPERM' }));
    for (const pid of [0, 1, -4242, 1.5]) expect(() => terminateOnly(pid, deps)).toThrow(RangeError);
    expect(deps.calls).toHaveLength(1);
  });
});

describe('spawnOptionsForTree', () => {
  it('POSIX: detached (own process group); Windows: not detached, hidden window', () => {
    expect(spawnOptionsForTree('linux')).toEqual({ detached: true, windowsHide: true });
    expect(spawnOptionsForTree('darwin')).toEqual({ detached: true, windowsHide: true });
    expect(spawnOptionsForTree('win32')).toEqual({ detached: false, windowsHide: true });
  });
});



// A parent that starts a grandchild which never ends by itself, prints its pid, and stays.
const PARENT = `
const { spawn } = require('node:child_process');
const g = spawn(process.execPath, ['-e', 'setInterval(() => {}, 1 << 30)'], { stdio: 'ignore' });
process.stdout.write(g.pid + '\\n');
setInterval(() => {}, 1 << 30);
`;

describe.skipIf(process.platform === 'win32')('killTree on real processes (POSIX)', () => {
  const spawned: number[] = [];
  afterEach(() => {
    // Never leave processes behind when an assertion failed half-way.
    for (const pid of spawned.splice(0)) {
      try {
        process.kill(-pid, 'SIGKILL');
      } catch {
        // already gone
      }
    }
  });

  async function startTree(): Promise<{ parent: ChildProcess; grandchild: number; exited: Promise<[number | null, NodeJS.Signals | null]> }> {
    const parent = spawn(process.execPath, ['-e', PARENT], { stdio: ['ignore', 'pipe', 'inherit'], ...spawnOptionsForTree(process.platform) });
    spawned.push(parent.pid!);
    const exited = new Promise<[number | null, NodeJS.Signals | null]>((r) => parent.on('exit', (code, signal) => r([code, signal])));
    const line = await new Promise<string>((resolve, reject) => {
      let buf = '';
      parent.stdout!.on('data', (d: Buffer) => {
        buf += d.toString();
        if (buf.includes('\n')) resolve(buf.trim());
      });
      parent.on('exit', () => reject(new Error(`parent exited early; output: ${buf}`)));
    });
    const grandchild = Number(line);
    expect(Number.isInteger(grandchild) && grandchild > 1).toBe(true);
    return { parent, grandchild, exited };
  }

  it('SIGTERM to the group ends the parent and its grandchild', async () => {
    const { parent, grandchild, exited } = await startTree();
    expect(isGone(parent.pid!)).toBe(false);
    expect(isGone(grandchild)).toBe(false);
    await killTree(parent.pid!, 'SIGTERM');
    expect(await exited).toEqual([null, 'SIGTERM']);
    await assertGone(grandchild);
  });

  it('reaches an orphaned grandchild after the parent alone has died', async () => {
    const { parent, grandchild, exited } = await startTree();
    // Only the parent: the grandchild is re-parented but stays in the group.
    process.kill(parent.pid!, 'SIGKILL');
    expect(await exited).toEqual([null, 'SIGKILL']);
    expect(isGone(grandchild)).toBe(false);
    await killTree(parent.pid!, 'SIGKILL');
    await assertGone(grandchild);
  });

  it("the real tree-kill dep, loaded on its first call, ends a tree; its errors reach the callback", async () => {
    // Windows' path (taskkill /T): the package walks child processes with `ps` (`pgrep` on
    // macOS) here instead, so this shows the real import and the call through it, not
    // taskkill.
    const { parent, grandchild, exited } = await startTree();
    const treeKill = (pid: number): Promise<Error | undefined> => new Promise((resolve) => realKillDeps.treeKill(pid, 'SIGKILL', resolve));
    expect(await treeKill(parent.pid!)).toBeUndefined();
    expect(await exited).toEqual([null, 'SIGKILL']);
    await assertGone(grandchild);
    expect(await treeKill(Number.NaN)).toMatchObject({ message: 'pid must be a number' });
  });

  it('a tree that has already ended resolves', async () => {
    const child = spawn(process.execPath, ['-e', ''], { stdio: 'ignore', ...spawnOptionsForTree(process.platform) });
    const [code] = await new Promise<[number | null]>((r) => child.on('exit', (c) => r([c])));
    expect(code).toBe(0);
    await expect(killTree(child.pid!, 'SIGTERM')).resolves.toBeUndefined();
  });
});
