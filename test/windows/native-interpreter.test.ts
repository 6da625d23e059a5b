/**
 * Windows lane only: `bridge run` with a native stand-in for AutoHotkey.exe
 * (interp-stub.exe, built with MinGW) that starts a child of its own, as a script that
 * `Run`s a program does. A stop must always end and leave no process behind, whether the
 * script honours `exit` (its child is found by the process snapshot taken before) or
 * ignores it (the tree is killed after the grace period; where `taskkill /T` is refused,
 * as under Wine, the script itself is terminated and its child found the same way).
 */
import { existsSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { startCli } from '../helpers/cli.js';
import { isGone, waitGone } from '../helpers/processes.js';
import type { StartedBroker } from '../helpers/broker-fixture.js';
import type { Frame, RawClient } from '../helpers/raw-client.js';
import { useTestBed } from '../helpers/test-bed.js';

const BIN = process.env.WINDOWS_LANE_BIN;
const STUB = BIN ? path.join(BIN, 'interp-stub.exe') : '';
const HAVE_STUB = process.platform === 'win32' && STUB !== '' && existsSync(STUB);
const SCRIPT = fileURLToPath(new URL('../../fixtures/scripts/hello.ahk', import.meta.url));

const bed = useTestBed();
let b: StartedBroker;
let watcher: RawClient;
const procs: ReturnType<typeof startCli>[] = [];

beforeEach(async () => {
  b = await bed.broker();
  watcher = await bed.connected(b.port, 'watcher');
  await watcher.call('subscribe', { patterns: ['scripts.#'] });
});
afterEach(async () => {
  for (const p of procs.splice(0)) {
    if (p.child.exitCode === null) {
      p.child.kill();
      await p.done;
    }
  }
});

function run(key: string, args: string[]): ReturnType<typeof startCli> {
  const p = startCli(['run', SCRIPT, '--key', key, '--ahk', STUB, '--host', '127.0.0.1', '--port', String(b.port), '--stop-grace', '0.5', '--', ...args]);
  procs.push(p);
  return p;
}

const event = (topic: string): Promise<Frame> => watcher.waitDelivery(topic, () => true, 30_000);

describe.runIf(HAVE_STUB)('bridge run with a native interpreter that starts a child', () => {
  it.each([
    ['honours exit', 'polite', ['--child'], false],
    ['ignores exit', 'deaf', ['--child', '--ignore-exit'], true],
  ] as const)('a stop of a script that %s ends, and its child is gone too', async (_what, key, args, forced) => {
    const p = run(key, [...args]);
    const child = (await event(`scripts.${key}.child`)).payload.pid as number;
    await event(`scripts.${key}.ready`);
    expect(isGone(child)).toBe(false);
    const res = await watcher.call('request', { topic: `scripts.${key}.stop`, timeout: 60 }, 65_000);
    expect(res.result, JSON.stringify(res.error)).toMatchObject({ key, running: false });
    const stopped = await event(`scripts.${key}.stopped`);
    expect(stopped.payload.reason).toBe('stopped');
    if (forced) expect(stopped.payload.duration_ms).toBeGreaterThanOrEqual(500);
    expect(await waitGone(child, 15_000)).toBe(true);
    await p.done;
  });
});
