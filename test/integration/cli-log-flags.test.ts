/**
 * The flags every long-running command shares: `--log-level` and `--log-format`, through
 * the real binary; and one wording for a port out of range, whichever command reads it.
 */
import { describe, expect, it } from 'vitest';
import { runCli } from '../helpers/cli.js';
import { freePort } from '../helpers/ports.js';
import { FAKE_AHK, scriptFixture } from '../helpers/script-fixtures.js';

/** The non-empty lines of `text`, each parsed as JSON (a line that does not parse fails the test). */
function jsonLines(text: string): Record<string, unknown>[] {
  return text
    .split('\n')
    .filter((l) => l.trim() !== '')
    .map((l) => {
      try {
        return JSON.parse(l) as Record<string, unknown>;
      } catch {
        throw new Error(`not a JSON log line: ${l}`);
      }
    });
}

describe('--log-level and --log-format', () => {
  it.each(['broker', 'run', 'up', 'tail', 'sub', 'reply', 'demo'])('%s --help lists both', async (command) => {
    const res = await runCli([command, '--help']);
    expect(res.code).toBe(0);
    expect(res.stdout).toMatch(/--log-level <\w+>/);
    expect(res.stdout).toMatch(/--log-format <format>/);
  });

  it('run --log-format json writes one JSON object per log line, at the level asked for', async () => {
    const port = await freePort();
    const res = await runCli(['run', scriptFixture('hello'), '--key', 'hello', '--ahk', FAKE_AHK, '--host', '127.0.0.1', '--port', String(port), '--log-format', 'json', '--log-level', 'debug']);
    expect(res.code, res.stderr).toBe(0);
    const lines = jsonLines(res.stderr);
    expect(lines.some((l) => l.level === 'debug')).toBe(true);
    expect(lines).toContainEqual(expect.objectContaining({ level: 'info', msg: 'script started', key: 'hello' }));
    expect(lines).toContainEqual(expect.objectContaining({ msg: 'script stopped', key: 'hello', reason: 'clean_exit' }));
  });

  it('run --log-level warning keeps the info lines out', async () => {
    const port = await freePort();
    const res = await runCli(['run', scriptFixture('hello'), '--key', 'hello', '--ahk', FAKE_AHK, '--host', '127.0.0.1', '--port', String(port), '--log-format', 'json', '--log-level', 'warning']);
    expect(res.code, res.stderr).toBe(0);
    for (const line of jsonLines(res.stderr)) expect(['warning', 'error', 'critical']).toContain(line.level);
  });

  it('an unknown --log-format or --log-level is a usage error naming the choices', async () => {
    const format = await runCli(['sub', 'a.b', '--log-format', 'xml']);
    expect(format.code).toBe(1);
    expect(format.stderr).toMatch(/--log-format.*xml.*text, json/s);
    const level = await runCli(['run', scriptFixture('hello'), '--key', 'x', '--ahk', FAKE_AHK, '--log-level', 'loud']);
    expect(level.code).toBe(1);
    expect(level.stderr).toMatch(/invalid log level "loud": use debug, info, warning, error or silent/);
  });
});

describe('port out of range', () => {
  it('says the same range in the broker and in the client commands', async () => {
    const broker = await runCli(['broker', '--port', '70000']);
    const pub = await runCli(['pub', '--port', '70000', 'a.b', '1']);
    const run = await runCli(['run', scriptFixture('hello'), '--key', 'x', '--ahk', FAKE_AHK, '--port', '0']);
    for (const res of [broker, pub, run]) {
      expect(res.code).toBe(1);
      expect(res.stderr).toMatch(/from 1 to 65535/);
      expect(res.stderr).not.toMatch(/0 to 65535/);
    }
    expect(broker.stderr).toMatch(/0: any free port/);
  });
});
