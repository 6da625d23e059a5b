/**
 * When the bridge process itself dies (an uncaught exception), the script it supervised
 * and every process that script started die with it: nothing keeps running unsupervised.
 */
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { waitGone } from '../helpers/processes.js';

const DYING_BRIDGE = fileURLToPath(new URL('../helpers/dying-bridge.mjs', import.meta.url));

describe('a bridge that dies', () => {
  it('takes its script and the script\'s children down with it', async () => {
    const child = spawn(process.execPath, [DYING_BRIDGE], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (out += d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => (err += d));
    const code = await new Promise<number | null>((resolve) => child.on('close', resolve));
    expect(err).toContain('the bridge crashed');
    expect(code).not.toBe(0);
    const m = /^pids (\d+) (\d+)$/m.exec(out);
    expect(m, `no pids line in: ${out}\n${err}`).not.toBeNull();
    const [script, grandchild] = [Number(m![1]), Number(m![2])];
    expect(await waitGone(script, 10_000)).toBe(true);
    expect(await waitGone(grandchild, 10_000)).toBe(true);
  });
});
