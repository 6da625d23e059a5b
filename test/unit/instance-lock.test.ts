/**
 * The per-computer lock of `bridge up`: one holder per user, client id and broker
 * address, loopback spellings being one address; a second taker is told the holder's
 * pid; a released (or ended) holder frees the name at once. Real named pipes on Windows,
 * abstract sockets on Linux.
 */
import { describe, expect, it } from 'vitest';
import { InstanceRunningError, instanceLockName, lockInstance } from '../../bridge/instance-lock.js';
import { runTool } from '../../bridge/startup/run-tool.js';

describe('instanceLockName', () => {
  it('is one name for every spelling of loopback, and another for another id, host or port', () => {
    const name = instanceLockName('bridge', 'localhost', 15234, 'linux');
    expect(instanceLockName('bridge', '127.0.0.1', 15234, 'linux')).toBe(name);
    expect(instanceLockName('bridge', '::1', 15234, 'linux')).toBe(name);
    expect(instanceLockName('bridge.office', 'localhost', 15234, 'linux')).not.toBe(name);
    expect(instanceLockName('bridge', 'saw-pc', 15234, 'linux')).not.toBe(name);
    expect(instanceLockName('bridge', 'localhost', 15235, 'linux')).not.toBe(name);
    // Ids and hosts are hashed, not joined: no two pairs can meet in one name.
    expect(instanceLockName('till', '2-srv', 1, 'linux')).not.toBe(instanceLockName('till-2', 'srv', 1, 'linux'));
  });

  it('another BRIDGE_LOCK_SCOPE (the tests\' stand-in for another computer) is another name', () => {
    const name = instanceLockName('bridge', 'localhost', 15234, 'linux');
    process.env.BRIDGE_LOCK_SCOPE = 'another-computer';
    try {
      expect(instanceLockName('bridge', 'localhost', 15234, 'linux')).not.toBe(name);
    } finally {
      delete process.env.BRIDGE_LOCK_SCOPE;
    }
    expect(instanceLockName('bridge', 'localhost', 15234, 'linux')).toBe(name);
  });

  it('is a named pipe on Windows and an abstract socket on Linux', () => {
    expect(instanceLockName('bridge', 'localhost', 15234, 'win32')).toMatch(/^\\\\\.\\pipe\\ahk-bridge-up-[0-9a-f]{24}$/);
    expect(instanceLockName('bridge', 'localhost', 15234, 'linux')).toMatch(/^\0ahk-bridge-up-[0-9a-f]{24}$/);
  });
});

describe('lockInstance', () => {
  it('a second taker learns the holder pid; after release the name is free again', async () => {
    const id = `lock-test-${process.pid}-${Date.now()}`;
    const lock = await lockInstance(id, 'localhost', 1);
    const second = await lockInstance(id, '127.0.0.1', 1).catch((err: unknown) => err);
    expect(second).toBeInstanceOf(InstanceRunningError);
    expect((second as InstanceRunningError).pid).toBe(process.pid);
    expect((second as Error).message).toBe(`another bridge up runs on this computer as "${id}" (pid ${process.pid})`);
    // Another address is another lock.
    const other = await lockInstance(id, 'localhost', 2);
    await other.release();
    await lock.release();
    const again = await lockInstance(id, 'localhost', 1);
    await again.release();
  });
});

describe('runTool', () => {
  it('gives the exit code and the output', async () => {
    const res = await runTool(process.execPath)(['-e', "process.stdout.write('out '); process.stderr.write('err'); process.exit(3)"]);
    expect(res).toEqual({ code: 3, output: 'out err' });
  });

  it('a tool that hangs is stopped after its time, and says so', async () => {
    const res = await runTool(process.execPath, 300)(['-e', 'setTimeout(() => {}, 30000)']);
    expect(res).toEqual({ code: null, output: `${process.execPath} did not finish within 0.3 s and was stopped` });
  });

  it('a tool that is not there is a result, not a throw', async () => {
    const res = await runTool('/no/such/tool.exe')([]);
    expect(res.code).toBeNull();
    expect(res.output).toMatch(/^cannot run \/no\/such\/tool\.exe: .*ENOENT/);
  });
});
