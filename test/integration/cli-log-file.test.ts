/**
 * `--log-file` on the long-running commands: the logs go to the file (created with its
 * folder), stderr stays quiet, and a command that fails says why in the file as well,
 * which is the only place anyone reads for a bridge started hidden at logon; the status
 * page and `bridge logs` answer as ever. And the logon commands refuse, with directions,
 * off Windows.
 */
import { readFileSync, realpathSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { runCli, useCliProcesses, waitOutput } from '../helpers/cli.js';
import { ON_WINDOWS, POSIX_SIGNALS } from '../helpers/platform.js';
import { freePort } from '../helpers/ports.js';
import { pollFile } from '../helpers/poll-file.js';
import { FAKE_AHK, scriptFixture, writeBridgeConfig } from '../helpers/script-fixtures.js';
import { useTempDirs } from '../helpers/temp-dirs.js';

// Before useCliProcesses: its processes stop before their folders are removed.
const newTempDir = useTempDirs();
const procs = useCliProcesses();

function tempDir(): string {
  return realpathSync(newTempDir('bridge-log-file-'));
}

/** `<time> LEVEL component: msg` -> `LEVEL component: msg`. */
const withoutTimes = (text: string): string[] => text.split('\n').filter(Boolean).map((l) => l.replace(/^\d{4}-\d\d-\d\dT[\d:.]+Z (\S+)\s+/, '$1 '));

describe('--log-file', () => {
  it.skipIf(!POSIX_SIGNALS)('bridge broker logs to the file, in the chosen format, and nothing to stderr', async () => {
    const dir = tempDir();
    const file = path.join(dir, 'new', 'folder', 'broker.log');
    const port = await freePort();
    const broker = procs.start(['broker', '--port', String(port), '--log-file', file, '--log-format', 'json']);
    // Its stderr stays quiet, so the listening line is awaited in the file (which announces
    // nothing: polled, bounded). A client started sooner could find nothing listening yet.
    await pollFile(file, (text) => (text.includes('"broker listening"') ? true : undefined), 'the listening line', 10_000);
    const ps = await runCli(['request', 'status', '--port', String(port)]);
    expect(ps.code).toBe(0);
    broker.child.kill('SIGTERM');
    const res = await broker.done;
    expect(res.code).toBe(0);
    expect(res.stderr).toBe('');
    const lines = readFileSync(file, 'utf8').trim().split('\n').map((l) => JSON.parse(l) as { level: string; component: string; msg: string });
    expect(lines[0]).toMatchObject({ level: 'info', component: 'broker', msg: 'broker listening', port });
    expect(lines.at(-1)).toMatchObject({ level: 'info', msg: 'broker stopped' });
  });

  it('bridge up with a broken config: the error is on stderr and in the log file', async () => {
    const dir = tempDir();
    const config = writeBridgeConfig(dir, '{ "scripts": [ }');
    const file = path.join(dir, 'bridge.log');
    writeFileSync(file, 'an earlier line\n');
    const res = await runCli(['up', '--config', config, '--log-file', file]);
    expect(res.code).toBe(1);
    const message = res.stderr.replace(/^bridge: /, '').trimEnd();
    expect(message).toMatch(new RegExp(`^${config.replace(/[\\^$.*+?()[\]{}|]/g, '\\$&')}`));
    const lines = withoutTimes(readFileSync(file, 'utf8'));
    expect(lines[0]).toBe('an earlier line');
    expect(lines.slice(1).join('\n')).toBe(`ERROR bridge: ${message}`);
  });

  it('a log file that cannot be opened: exit 1 naming it, before anything starts', async () => {
    const dir = tempDir();
    const blocker = path.join(dir, 'a-file');
    writeFileSync(blocker, '');
    const port = await freePort();
    const res = await runCli(['broker', '--port', String(port), '--log-file', path.join(blocker, 'broker.log')]);
    expect(res.code).toBe(1);
    expect(res.stderr).toMatch(new RegExp(`^bridge: cannot open --log-file ${path.join(blocker, 'broker.log').replace(/\\/g, '\\\\')}: E[A-Z]+`));
    // Nothing listens: a second broker on that port starts.
    const next = procs.start(['broker', '--port', String(port)]);
    await waitOutput(next.child, next.stderr, (s) => s.includes('broker listening'));
  });
});

describe.skipIf(ON_WINDOWS)('install-startup off Windows', () => {
  it.each([['install-startup'], ['uninstall-startup']])('%s: exit 1 with where to look instead', async (command) => {
    const res = await runCli([command]);
    expect(res.code).toBe(1);
    expect(res.stderr).toBe(
      "bridge: install-startup and uninstall-startup set up a Windows logon: run them on the Windows PC (bridge.exe install-startup). Elsewhere, start `bridge up` from a systemd user unit or your desktop's autostart.\n",
    );
  });
});

describe('--log-file on a bridge that hosts the broker and its status page', () => {
  it('the page and bridge logs answer as ever, and what the bridge logs is in the file', async () => {
    const dir = tempDir();
    const [port, http] = [await freePort(), await freePort()];
    const config = writeBridgeConfig(dir, { broker: { host: '127.0.0.1', port }, interpreter: FAKE_AHK, scripts: [{ key: 'chatty', path: scriptFixture('chatty') }] });
    const file = path.join(dir, 'logs', 'bridge.log');
    const up = procs.start(['up', '--config', config, '--log-file', file, '--http', String(http)]);
    await waitOutput(up.child, up.stdout, (s) => /^chatty +running/m.test(s));

    const res = await fetch(`http://127.0.0.1:${http}/api/scripts`);
    expect(res.status).toBe(200);
    const { scripts } = (await res.json()) as { scripts: { key: string; state: string; bridge: string }[] };
    expect(scripts.map((s) => [s.key, s.state, s.bridge])).toEqual([['chatty', 'running', 'bridge']]);
    const logs = await runCli(['logs', 'chatty', '--host', '127.0.0.1', '--port', String(port)]);
    expect(logs.code, logs.stderr).toBe(0);
    expect(logs.stdout.split('\n').filter((l) => !l.startsWith('[stderr]') && !l.startsWith('--'))).toEqual(['first line', 'second line', '']);

    const down = await runCli(['down', '--host', '127.0.0.1', '--port', String(port)]);
    expect(down.code, down.stderr).toBe(0);
    const done = await up.done;
    expect(done.code).toBe(0);
    expect(done.stderr).toBe('');
    const lines = withoutTimes(readFileSync(file, 'utf8'));
    expect(lines).toContain(`INFO http: status page listening url=http://127.0.0.1:${http}/ sign_in=none`);
    expect(lines.some((l) => l.startsWith('INFO script:chatty: output key=chatty line="first line"'))).toBe(true);
  });
});
