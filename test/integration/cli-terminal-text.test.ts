/**
 * Client ids are any 1 to 128 characters, control characters included. What the CLI
 * prints for a terminal (`bridge status`'s table, `bridge sub --format`) shows them
 * escaped, so a newline cannot split a row nor an ESC sequence retitle or recolour the
 * terminal; `--json` keeps them as they are, for programs. Built CLI, real broker.
 */
import { describe, expect, it } from 'vitest';
import { runCli, useCliProcesses, waitOutput } from '../helpers/cli.js';
import { useBrokerPerTest } from '../helpers/test-bed.js';

/** The tester's ids: a newline, a tab, a carriage return, NUL, and an ESC sequence that sets the title and a colour. */
const IDS = ['new\nline', 'tab\tx', 'cr\rx', 'nul\u0000x', 'evil\u001b]0;pwned\u0007\u001b[31mRED'];
/** What the terminal may receive: printable text, and the newlines between lines. */
const CONTROL_BUT_NEWLINE = /[\u0000-\u0009\u000b-\u001f\u007f-\u009f]/;

const shown = (id: string): string => JSON.stringify(id).slice(1, -1);

describe('control characters in client ids', () => {
  const broker = useBrokerPerTest();
  const cli = useCliProcesses();

  it('bridge status shows each client on one aligned row, its id escaped; --json keeps the ids as they are', async () => {
    for (const id of IDS) await broker.connected(id, { client_type: 'raw' });
    const res = await runCli(['status', ...broker.cliArgs]);
    expect(res.code, res.stderr).toBe(0);
    expect(res.stdout).not.toMatch(CONTROL_BUT_NEWLINE);
    const lines = res.stdout.trimEnd().split('\n');
    const header = lines.findIndex((l) => l.startsWith('CLIENT'));
    const rows = lines.slice(header + 1);
    expect(rows.map((r) => r.slice(0, r.indexOf(' ')))).toEqual(expect.arrayContaining(IDS.map(shown)));
    expect(rows).toHaveLength(IDS.length);
    // Every row's TYPE column starts where the header's does.
    const typeAt = lines[header]!.indexOf('TYPE');
    for (const r of rows) expect(r.slice(typeAt, typeAt + 4), r).toBe('raw ');

    const json = await runCli(['status', '--json', ...broker.cliArgs]);
    const ids = (JSON.parse(json.stdout) as { clients: { client_id: string }[] }).clients.map((c) => c.client_id);
    expect(ids).toEqual(expect.arrayContaining(IDS));
  });

  it('bridge sub --format prints a sender and a text payload escaped, one line per message', async () => {
    const sub = cli.start(['sub', 'esc.#', '-C', '1', '--format', '%s|%t|%P', ...broker.cliArgs]);
    await waitOutput(sub.child, sub.stderr, (s) => s.includes('listening on'));
    const evil = await broker.connected(IDS[4]!);
    expect((await evil.call('publish', { topic: 'esc.b', payload: 'x\u001b[31m\nsecond', qos: 1 })).error).toBeUndefined();
    const res = await sub.done;
    expect(res.code, res.stderr).toBe(0);
    expect(res.stdout).toBe(`${shown(IDS[4]!)}|esc.b|x\\u001b[31m\\nsecond\n`);
  });
});
