/**
 * `bridge pub`, `sub`, `request` and `reply` as a user types them (issue 12), through the
 * built CLI against a real broker: JSON payloads and `--string`, `pub -l`, topics and
 * patterns checked before connecting, `sub -C/-W/-v/--format`, the `reply` responder, and
 * what `request` says when nobody answers.
 */
import { spawn } from 'node:child_process';
import { closeSync, existsSync, mkdtempSync, openSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { beforeEach, describe, expect, it } from 'vitest';
import { CLI, runCli, useCliProcesses, waitOutput, type CliResult, type StartedCli } from '../helpers/cli.js';
import { encodeFrame } from '../../src/protocol/framing.js';
import { captureBodies, payloadBytes } from '../helpers/frame-bytes.js';
import { ON_WINDOWS, stopCli } from '../helpers/platform.js';
import { freePort } from '../helpers/ports.js';
import { RawClient } from '../helpers/raw-client.js';
import { useBrokerPerTest } from '../helpers/test-bed.js';

const NO_BROKER_HINT = 'npx bridge broker';

/** Occurrences of `needle` in `text`. */
const count = (text: string, needle: string): number => text.split(needle).length - 1;

/**
 * Starts CLI processes for the tests of the current describe block, each stopped after
 * its test if still running: a test that fails before it stops a `sub` or `reply` itself
 * must not leave one behind.
 */
let cli: ReturnType<typeof useCliProcesses>;

/** Run `bridge <args>` with `input` on its stdin. */
function runWithStdin(args: string[], input: string | Buffer): Promise<CliResult> {
  const proc = cli.start(args);
  proc.child.stdin.end(input);
  return proc.done;
}

/** Start `bridge sub|reply ...` and wait until it says it listens. */
async function listening(args: string[]): Promise<StartedCli> {
  const proc = cli.start(args);
  await waitOutput(proc.child, proc.stderr, (s) => /listening on|answering requests on/.test(s));
  return proc;
}

describe('checked before connecting (no broker running)', () => {
  const processes = useCliProcesses();
  beforeEach(() => {
    cli = processes;
  });
  let args: string[];
  beforeEach(async () => {
    args = ['--host', '127.0.0.1', '--port', String(await freePort())];
  });

  // Windows opens no folder as a file, and its shells refuse `< folder` themselves.
  it.skipIf(ON_WINDOWS)('a folder as stdin (`< folder`): exit 1 saying so, for every command that reads it, before connecting', async () => {
    const folder = mkdtempSync(path.join(tmpdir(), 'bridge-stdin-'));
    const fd = openSync(folder, 'r');
    try {
      for (const command of [['pub', 'notes.x', '-'], ['pub', 'notes.x', '-l'], ['request', 'svc.x', '-'], ['reply', 'svc.x', '-']]) {
        const res = await new Promise<{ code: number | null; stderr: string }>((resolve, reject) => {
          const child = spawn(process.execPath, [CLI, ...command, ...args], { stdio: [fd, 'ignore', 'pipe'] });
          let stderr = '';
          child.stderr!.setEncoding('utf8').on('data', (t: string) => (stderr += t));
          child.once('error', reject);
          child.once('close', (code) => resolve({ code, stderr }));
        });
        expect({ command, ...res }).toEqual({ command, code: 1, stderr: 'bridge: stdin is a folder, not a file: redirect a file (< payload.json) or pipe the payload in\n' });
      }
    } finally {
      closeSync(fd);
      rmSync(folder, { recursive: true });
    }
  });

  it('pub: a payload that is not JSON shows where it breaks and mentions --string', async () => {
    const word = await runCli(['pub', 'notes.x', 'hello', ...args]);
    expect(word.code).toBe(1);
    expect(word.stderr).toContain('the payload is not valid JSON');
    expect(word.stderr).toContain('unexpected word "hello"');
    expect(word.stderr).toContain('at column 1\n  hello\n  ^\n');
    expect(word.stderr).toContain('--string (-s)');
    expect(word.stderr).toContain(`'"hello"'`);
    expect(word.stderr).not.toContain(NO_BROKER_HINT);

    const comma = await runCli(['pub', 'jobs.x', '{"job_id":"1",}', ...args]);
    expect(comma.code).toBe(1);
    expect(comma.stderr).toContain('trailing commas are not JSON) at column 15\n  {"job_id":"1",}\n                ^\n');
    expect(comma.stderr).toContain('--string');

    // PowerShell strips the inner quotes: the key is where it breaks.
    const unquoted = await runCli(['pub', 'jobs.x', '{job_id:1}', ...args]);
    expect(unquoted.stderr).toContain('expected a property name in double quotes, found "j" at column 2\n  {job_id:1}\n   ^');
  });

  it("mosquitto's -h HOST is not taken for help with exit 0: it is exit 1 naming -H; -h alone is still help", async () => {
    const pub = await runCli(['pub', '-h', '127.0.0.1', 'jobs.x', '1']);
    expect(pub.code).toBe(1);
    expect(pub.stdout).toBe('');
    expect(pub.stderr).toBe("bridge: -h is --help here; the broker's host is -H (--host): e.g. bridge pub -H 127.0.0.1 ...\n");
    const sub = await runCli(['sub', 'jobs.#', '-h', 'localhost']);
    expect(sub.code).toBe(1);
    expect(sub.stderr).toContain('bridge sub jobs.# -H localhost');
    const help = await runCli(['pub', '-h']);
    expect(help.code).toBe(0);
    expect(help.stdout).toMatch(/^Usage: bridge pub /);
  });

  it('pub: stdin that is not JSON gives the line and column', async () => {
    const res = await runWithStdin(['pub', 'jobs.x', '-', ...args], '{\n  "a": 1,\n  "b": nope\n}\n');
    expect(res.code).toBe(1);
    expect(res.stderr).toContain('stdin is not valid JSON: unexpected word "nope"');
    expect(res.stderr).toContain('at line 3, column 8\n    "b": nope\n         ^');
  });

  it.each([
    ['jobs activated', 'topic contains a space'],
    ['jobs.*', 'topic contains a wildcard'],
    ['jobs.#', 'topic contains a wildcard'],
    ['jobs..activated', 'topic has an empty level'],
    ['.jobs', 'topic has an empty level'],
    ['jobs.', 'topic has an empty level'],
  ])('pub and request refuse the topic %j with the rule, before looking for a broker', async (topic, reason) => {
    for (const cmd of ['pub', 'request']) {
      const res = await runCli([cmd, topic, '1', ...args]);
      expect(res.code, cmd).toBe(1);
      expect(res.stderr, cmd).toContain(`invalid topic ${JSON.stringify(topic)}: ${reason}`);
      expect(res.stderr, cmd).toContain('A topic is dot-separated levels, e.g. jobs.activated: no spaces, no wildcards (* + #), no empty level');
      expect(res.stderr, cmd).not.toContain(NO_BROKER_HINT);
    }
  });

  it('pub refuses the reserved system. and _internal. topics, as the broker would', async () => {
    for (const topic of ['system.broker.ready', '_internal.x']) {
      const res = await runCli(['pub', topic, '1', ...args]);
      expect(res.code).toBe(1);
      expect(res.stderr).toContain(`topic "${topic}" is reserved for the broker: clients may not send on topics starting with "system." or "_internal."`);
    }
  });

  it('a good topic and payload still get the no-broker message', async () => {
    for (const extra of [['{"a":1}'], ['--string', 'hello world']]) {
      const res = await runCli(['pub', 'notes.x', ...extra, ...args]);
      expect(res.code).toBe(1);
      expect(res.stderr).toContain(NO_BROKER_HINT);
    }
  });

  it('sub and reply refuse an invalid pattern with the rule, before looking for a broker', async () => {
    for (const cmd of ['sub', 'reply']) {
      const res = await runCli([cmd, 'a#', ...args]);
      expect(res.code, cmd).toBe(1);
      expect(res.stderr, cmd).toContain('invalid pattern "a#" (level "a#" mixes a wildcard with other characters)');
      expect(res.stderr, cmd).toContain('# (only as the whole last level) for any depth');
      expect(res.stderr, cmd).not.toContain(NO_BROKER_HINT);
    }
  });

  it('reply checks its answer like pub checks a payload', async () => {
    const bad = await runCli(['reply', 'svc.x', '{ok:true}', ...args]);
    expect(bad.code).toBe(1);
    expect(bad.stderr).toContain('the answer is not valid JSON');
    expect(bad.stderr).toContain('--string (-s)');
    expect(bad.stderr).not.toContain(NO_BROKER_HINT);
    const nul = await runCli(['reply', 'svc.x', 'null', ...args]);
    expect(nul.code).toBe(1);
    expect(nul.stderr).toContain('a null answer does not answer a request');
  });

  it('numbers people type that Number() would take: each a usage error naming the flag, exit 1, before connecting', async () => {
    const script = path.join(mkdtempSync(path.join(tmpdir(), 'bridge-num-')), 'x.ahk');
    const cases: [string[], string][] = [
      // "" and " " were 0: a publish without its ttl, a count of nothing.
      [['pub', 'a.b', '1', '--ttl', '', ...args], 'bridge: invalid --ttl "": use seconds, 0 or more\n'],
      [['sub', 'a', '-C', ' ', ...args], 'bridge: invalid --count " ": use a positive whole number\n'],
      // Infinity and 1e9 s overflowed the timer, which then fired at once.
      [['sub', 'a', '-W', 'Infinity', ...args], 'bridge: invalid --timeout "Infinity": use seconds, more than 0 and at most 2147483\n'],
      [['run', script, '--stop-grace', '1e9', ...args], 'bridge: invalid --stop-grace "1e9": use seconds, more than 0 and at most 2147483\n'],
      [['run', script, '--ready-timeout', '3000000', ...args], 'bridge: invalid --ready-timeout "3000000": use seconds, more than 0 and at most 2147483\n'],
      [['tail', script, '--flush-timeout', '-1', ...args], 'bridge: invalid --flush-timeout "-1": use seconds, more than 0 and at most 2147483\n'],
      // Hex and exponents: nobody means 16 by 0x10.
      [['request', 'svc.x', '-t', '0x10', ...args], 'bridge: invalid --timeout "0x10": use seconds, more than 0 and at most 300\n'],
      [['pub', 'a.b', '1', '--host', '127.0.0.1', '--port', '0x3b82'], 'bridge: invalid port "0x3b82": use a number from 1 to 65535 (--port or BROKER_PORT)\n'],
      [['sub', 'a', '-n', '1e3', ...args], 'bridge: invalid -n "1e3": use a positive whole number\n'],
    ];
    for (const [command, stderr] of cases) {
      const res = await runCli(command);
      expect({ command, code: res.code, stderr: res.stderr }).toEqual({ command, code: 1, stderr });
    }
  });

  it('sub: bad --count, --timeout and --format are usage errors', async () => {
    expect((await runCli(['sub', 'a', '-C', '0', ...args])).stderr).toContain('invalid --count "0"');
    expect((await runCli(['sub', 'a', '-W', 'soon', ...args])).stderr).toContain('invalid --timeout "soon"');
    const fmt = await runCli(['sub', 'a', '--format', '%t %x', ...args]);
    expect(fmt.code).toBe(1);
    expect(fmt.stderr).toContain('unknown placeholder "%x"');
  });

  it('reply has the log flags of every long-running command', async () => {
    const help = await runCli(['reply', '--help']);
    expect(help.code).toBe(0);
    for (const flag of ['--log-level', '--log-format', '--port', '--echo', '--count', '--string']) expect(help.stdout).toContain(flag);
  });
});

describe('with a broker', () => {
  const broker = useBrokerPerTest();
  const processes = useCliProcesses();
  beforeEach(() => {
    cli = processes;
  });

  /** Publish as a raw client (faster than starting the CLI each time). */
  async function publish(...messages: [topic: string, payload: unknown][]): Promise<void> {
    const c = await RawClient.connected(broker.current.port, 'publisher');
    for (const [topic, payload] of messages) expect((await c.call('publish', { topic, payload })).result).toBeDefined();
    c.close();
  }

  it('pub --string sends the text verbatim as a JSON string', async () => {
    const sub = await listening(['sub', 'notes.#', '-C', '3', ...broker.cliArgs]);
    expect((await runCli(['pub', 'notes.a', '--string', 'hello world', ...broker.cliArgs])).code).toBe(0);
    expect((await runCli(['pub', 'notes.b', '-s', '{"not":"parsed"}', ...broker.cliArgs])).code).toBe(0);
    expect((await runWithStdin(['pub', 'notes.c', '-s', '-', ...broker.cliArgs], 'from stdin\n')).code).toBe(0);
    const res = await sub.done;
    expect(res.code).toBe(0);
    expect(res.stdout.trim().split('\n')).toEqual(['notes.a "hello world"', 'notes.b "{\\"not\\":\\"parsed\\"}"', 'notes.c "from stdin"']);
  });

  it('pub -l publishes each stdin line (JSON, or text with --string), skipping blank ones', async () => {
    const sub = await listening(['sub', 'lines.*', '-C', '5', ...broker.cliArgs]);
    const json = await runWithStdin(['pub', 'lines.json', '-l', ...broker.cliArgs], '{"n":1}\n\n"two"\r\n3\n');
    expect(json.code, json.stderr).toBe(0);
    expect(json.stdout).toBe('published 3 messages on lines.json\n');
    const text = await runWithStdin(['pub', 'lines.text', '-l', '-s', ...broker.cliArgs], 'first line\nsecond: not JSON\n');
    expect(text.code, text.stderr).toBe(0);
    expect(text.stdout).toBe('published 2 messages on lines.text\n');
    const res = await sub.done;
    expect(res.stdout.trim().split('\n')).toEqual([
      'lines.json {"n":1}',
      'lines.json "two"',
      'lines.json 3',
      'lines.text "first line"',
      'lines.text "second: not JSON"',
    ]);
  });

  it('pub reads stdin that is not UTF-8 as a Windows user sends it: ANSI (Windows-1252) or UTF-16 with its mark', async () => {
    const sub = await listening(['sub', 'enc.*', '-C', '5', '--json', ...broker.cliArgs]);
    // `type note.txt | bridge pub enc.ansi -` of a file Notepad saved as ANSI.
    const ansi = Buffer.from([0x22, 0x43, 0x61, 0x66, 0xe9, 0x20, 0x96, 0x20, 0x35, 0x80, 0x22, 0x0d, 0x0a]); // "Café – 5€"
    expect((await runWithStdin(['pub', 'enc.ansi', '-', ...broker.cliArgs], ansi)).code).toBe(0);
    // A file PowerShell 5.1 wrote with `>`: UTF-16LE with its byte order mark.
    const utf16 = Buffer.concat([Buffer.from([0xff, 0xfe]), Buffer.from('{"t":"5€ 😀"}\r\n', 'utf16le')]);
    expect((await runWithStdin(['pub', 'enc.utf16', '-', ...broker.cliArgs], utf16)).code).toBe(0);
    // Lines: an ANSI line among UTF-8 ones, each read on its own.
    const lines = Buffer.concat([Buffer.from('"é in UTF-8"\n', 'utf8'), Buffer.from([0x22, 0xe9, 0x80, 0x22, 0x0a]), Buffer.from('"ü"\n', 'utf8')]);
    const res = await runWithStdin(['pub', 'enc.lines', '-l', ...broker.cliArgs], lines);
    expect(res.code, res.stderr).toBe(0);
    const got = await sub.done;
    expect(got.stdout.trim().split('\n').map((l) => JSON.parse(l).payload)).toEqual(['Café – 5€', { t: '5€ 😀' }, 'é in UTF-8', 'é€', 'ü']);
  });

  it('pub -l stops at a bad line: the lines before it arrive, the count is reported, nothing after', async () => {
    const sub = await listening(['sub', 'lines.bad', '-C', '3', ...broker.cliArgs]);
    const res = await runWithStdin(['pub', 'lines.bad', '-l', ...broker.cliArgs], '1\n{"n":2}\noops\n4\n');
    expect(res.code).toBe(1);
    expect(res.stderr).toContain('line 3 of stdin is not valid JSON: unexpected word "oops"');
    expect(res.stderr).toContain('at column 1\n  oops\n  ^');
    expect(res.stderr).toContain('Stopped at line 3: 2 messages before it were published, nothing after it.');
    expect(res.stderr).toContain('--string (-s)');
    // Published after pub exited: line 4, had it been sent, would have come before it.
    await publish(['lines.bad', 'marker']);
    const got = await sub.done;
    expect(got.code).toBe(0);
    expect(got.stdout.trim().split('\n')).toEqual(['lines.bad 1', 'lines.bad {"n":2}', 'lines.bad "marker"']);
  });

  it('sub -C N exits 0 after N messages', async () => {
    const sub = await listening(['sub', 'c.*', '-C', '2', ...broker.cliArgs]);
    await publish(['c.m1', 1], ['c.m2', 2], ['c.m3', 3]);
    const res = await sub.done;
    expect(res.code).toBe(0);
    expect(res.stdout.trim().split('\n')).toEqual(['c.m1 1', 'c.m2 2']);
  });

  it('sub -W exits 27 with a note when the time runs out', async () => {
    const sub = await listening(['sub', 'w.*', '-C', '10', '-W', '4', ...broker.cliArgs]);
    await publish(['w.m1', 1], ['w.m2', 2], ['w.m3', 3]);
    await waitOutput(sub.child, sub.stdout, (s) => s.split('\n').length === 4);
    const res = await sub.done;
    expect(res.code).toBe(27);
    expect(res.stdout.trim().split('\n')).toHaveLength(3);
    expect(res.stderr).toContain('bridge sub: timed out after 4 s with 3 of 10 messages\n');
    const alone = await runCli(['sub', 'nothing.here', '-W', '0.3', ...broker.cliArgs]);
    expect(alone.code).toBe(27);
    expect(alone.stderr).toContain('bridge sub: timed out after 0.3 s with 0 messages\n');
  });

  it('sub -W with -C: the count reached first exits 0', async () => {
    const started = Date.now();
    const sub = await listening(['sub', 'wc.*', '-C', '2', '-W', '15', ...broker.cliArgs]);
    await publish(['wc.a', 1], ['wc.b', 2]);
    const res = await sub.done;
    expect(res.code).toBe(0);
    expect(res.stderr).not.toContain('timed out');
    expect(Date.now() - started).toBeLessThan(15_000);
  });

  it('sub -v is accepted (the topic is always printed), and -n is --count', async () => {
    const sub = await listening(['sub', '-v', 'v.x', '-n', '1', ...broker.cliArgs]);
    await publish(['v.x', { a: 1 }]);
    const res = await sub.done;
    expect(res.code).toBe(0);
    expect(res.stdout).toBe('v.x {"a":1}\n');
  });

  it('sub --format fills in the placeholders and escapes', async () => {
    const pub = await RawClient.connected(broker.current.port, 'ds_pas');
    const sent = await pub.call('publish', { topic: 'fmt.text', payload: 'a "quoted" word', qos: 1, retain: true });
    const res = await runCli(['sub', 'fmt.*', '-C', '1', '--format', '%t|%p|%P|%s|%q|%r|%i|100%%\\t%T\\n--', ...broker.cliArgs]);
    expect(res.code, res.stderr).toBe(0);
    const [line, next] = res.stdout.split('\n');
    const fields = line!.split('|');
    expect(fields.slice(0, 7)).toEqual(['fmt.text', '"a \\"quoted\\" word"', 'a "quoted" word', 'ds_pas', '1', '1', sent.result.message_id]);
    expect(fields[7]).toMatch(/^100%\t\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}\+00:00$/);
    expect(next).toBe('--');
    // %P of a payload that is not a string is its JSON.
    const obj = await listening(['sub', 'fmt.obj', '-C', '1', '-F', '%P', ...broker.cliArgs]);
    await publish(['fmt.obj', { a: [1, 2] }]);
    expect((await obj.done).stdout).toBe('{"a":[1,2]}\n');
    pub.close();
  });

  it('sub: an invalid pattern is reported once, with the rule, no reconnecting, exit 1', async () => {
    for (const pattern of ['jobs..x', 'a#', 'jobs.* scripts.#']) {
      const res = await runCli(['sub', pattern, ...broker.cliArgs]);
      expect(res.code, pattern).toBe(1);
      expect(count(res.stderr, 'invalid pattern'), res.stderr).toBe(1);
      expect(res.stderr).toContain('A pattern is dot-separated levels');
      expect(res.stderr).not.toMatch(/reconnect/i);
      expect(res.stderr).not.toContain('listening');
    }
  });

  it('sub: a subscription the broker refuses (permissions) is reported once, exit 1', async () => {
    await broker.restart({ clients: [{ id: 'viewer', secret: 'viewer-secret', subscribe: ['jobs.#'] }] });
    const auth = [...broker.cliArgs, '--client-id', 'viewer', '--token', 'viewer-secret'];
    const res = await runCli(['sub', 'secret.#', '-W', '5', ...auth]);
    expect(res.code).toBe(1);
    expect(count(res.stderr, 'subscribe failed'), res.stderr).toBe(1);
    expect(res.stderr).toContain('Not allowed: viewer may not subscribe to "secret.#"');
    expect(res.stderr).not.toMatch(/reconnect|connection lost/i);
    const reply = await runCli(['reply', 'secret.q', ...auth]);
    expect(reply.code).toBe(1);
    expect(count(reply.stderr, 'subscribe failed')).toBe(1);
  });

  it('a command the broker refuses says so in one line, exit 1, and leaves no session behind', async () => {
    await broker.restart({ anonymous_permissions: { subscribe: ['jobs.#'] } });
    for (const args of [['ps'], ['ps', '--watch'], ['start', 'x'], ['logs', 'x', '--follow']]) {
      const res = await runCli([...args, ...broker.cliArgs]);
      expect(res.code, args.join(' ')).toBe(1);
      expect(res.stderr, args.join(' ')).toMatch(/^bridge: Not allowed: anonymous may not subscribe to "[^"]+".* \(error -32003\)\n$/);
    }
    const watcher = await broker.connected('watcher');
    const status = (await watcher.call('status')).result as { clients: Array<{ client_id: string }> };
    expect(status.clients.map((c) => c.client_id)).toEqual(['watcher']);
  });

  it('a sub whose reader goes away (| head -1) and a start of an unknown key leave no session: later publishes count no subscriber', async () => {
    const sub = await listening(['sub', 'jobs.#', '--client-id', 'headless', ...broker.cliArgs]);
    sub.child.stdout.destroy(); // what `| head -1` does once it has its line
    expect((await runCli(['pub', 'jobs.a', '1', ...broker.cliArgs])).code).toBe(0);
    expect((await runCli(['pub', 'jobs.b', '2', ...broker.cliArgs])).code).toBe(0);
    expect((await sub.done).code).toBe(0);
    const typo = await runCli(['stop', 'nokey', '--client-id', 'typo', ...broker.cliArgs]);
    expect(typo.code).toBe(1);
    const last = await runCli(['pub', 'jobs.c', '3', '--qos', '1', ...broker.cliArgs]);
    expect(last.stdout).toMatch(/^published jobs\.c to 0 subscribers /);
    const watcher = await broker.connected('watcher');
    const status = (await watcher.call('status')).result as { clients: Array<{ client_id: string }> };
    expect(status.clients.map((c) => c.client_id)).toEqual(['watcher']);
  });

  it('a --client-id the broker could not take is a usage error, not a stack trace', async () => {
    for (const id of ['', 'x'.repeat(129)]) {
      const res = await runCli(['pub', 'a.b', '1', '--client-id', id, ...broker.cliArgs]);
      expect(res.code).toBe(1);
      expect(res.stderr).toMatch(/^bridge: invalid --client-id "(x{40}\.\.\.)?" \((0|129) characters\): use 1 to 128\n$/);
    }
  });

  it.skipIf(!existsSync('/dev/full'))('an output it cannot write (a full disk) ends the command with one line, exit 1, and no session left', async () => {
    const full = openSync('/dev/full', 'w');
    let child: ReturnType<typeof spawn> | undefined;
    try {
      // stdout on a device that is always full: every write fails with ENOSPC.
      const sub = spawn(process.execPath, [CLI, 'sub', 'jobs.#', '--client-id', 'full', ...broker.cliArgs], { stdio: ['ignore', full, 'pipe'] });
      child = sub;
      let stderr = '';
      const listeningNow = new Promise<void>((resolve) =>
        sub.stderr!.setEncoding('utf8').on('data', (d: string) => {
          stderr += d;
          if (stderr.includes('listening on')) resolve();
        }),
      );
      const exited = new Promise<number | null>((resolve) => sub.on('close', resolve));
      await listeningNow;
      expect((await runCli(['pub', 'jobs.a', '1', ...broker.cliArgs])).code).toBe(0);
      expect(await exited).toBe(1);
      expect(stderr).toContain('bridge: cannot write the output: ENOSPC');
      expect(stderr).not.toMatch(/\n\s+at /);
    } finally {
      closeSync(full);
      child?.kill();
    }
    const watcher = await broker.connected('watcher');
    const status = (await watcher.call('status')).result as { clients: Array<{ client_id: string }> };
    expect(status.clients.map((c) => c.client_id)).toEqual(['watcher']);
  });

  it("request shows a responder's error escaped, and its data: nothing it sends acts on the terminal", async () => {
    const svc = await broker.connected('svc');
    await svc.call('subscribe', { patterns: ['e.x'] });
    const asked = runCli(['request', 'e.x', ...broker.cliArgs]);
    const req = await svc.waitDelivery('e.x');
    await svc.call('reply', { reply_to: req.reply_to, error: { code: 42, message: '\u001b[31mred\nline2', data: { why: 'tab\there' } } });
    const res = await asked;
    expect(res.code).toBe(1);
    expect(res.stderr).toBe('bridge: request to e.x failed (42): \\u001b[31mred\\nline2\n  data: {"why":"tab\\there"}\n');
  });

  it("logs, start and stop answered by a responder that is not a bridge (bridge reply '#') say so, exit 1, no stack trace", async () => {
    const everything = await listening(['reply', '#', ...broker.cliArgs]);
    const logs = await runCli(['logs', 'nokey', ...broker.cliArgs]);
    expect(logs.code).toBe(1);
    expect(logs.stderr).toBe(`bridge: the answer for the log of "nokey" is not a bridge's log (is a responder other than a bridge subscribed to scripts.nokey.logs?)\n`);
    for (const op of ['start', 'stop']) {
      const res = await runCli([op, 'nokey', ...broker.cliArgs]);
      expect(res.code, op).toBe(1);
      expect(res.stdout, op).toBe('');
      expect(res.stderr, op).toBe(`bridge: ${op} nokey: the answer is not a bridge's script status (is a responder other than a bridge subscribed to scripts.nokey.${op}?)\n`);
    }
    await stopCli(everything);
  });

  it('reply answers bridge request with its answer, prints each message, and stops after --count', async () => {
    const reply = await listening(['reply', 'svc.*', '--count', '2', ...broker.cliArgs]);
    expect(reply.stderr()).toContain('answering requests on svc.* with {"ok":true}');
    const first = await runCli(['request', 'svc.status', '{"script_id":"saw1"}', ...broker.cliArgs]);
    expect(first.code, first.stderr).toBe(0);
    expect(JSON.parse(first.stdout)).toEqual({ ok: true });
    // A plain message is printed, not answered, and not counted.
    expect((await runCli(['pub', 'svc.note', '5', ...broker.cliArgs])).code).toBe(0);
    const second = await runCli(['request', 'svc.other', ...broker.cliArgs]);
    expect(second.code).toBe(0);
    const res = await reply.done;
    expect(res.code).toBe(0);
    const lines = res.stdout.trim().split('\n');
    expect(lines).toHaveLength(3);
    expect(lines[0]).toMatch(/^svc\.status bridge-cli-\d+ \{"script_id":"saw1"\}$/);
    expect(lines[1]).toMatch(/^svc\.note bridge-cli-\d+ 5 {2}\(a message, not a request: not answered\)$/);
    expect(lines[2]).toMatch(/^svc\.other bridge-cli-\d+ null$/);
  });

  it('reply --echo answers with the request payload', async () => {
    const echo = await listening(['reply', 'echo.x', '--echo', '-C', '1', '--json', ...broker.cliArgs]);
    const res = await runCli(['request', 'echo.x', '{"items":[1,2,3]}', ...broker.cliArgs]);
    expect(JSON.parse(res.stdout)).toEqual({ items: [1, 2, 3] });
    const printed = await echo.done;
    expect(printed.code).toBe(0);
    expect(JSON.parse(printed.stdout)).toMatchObject({ topic: 'echo.x', payload: { items: [1, 2, 3] }, request: true });
  });

  it('pub, request and reply carry payloads as written: 1e400, -0, 1.0 and big integers are not respelled', async () => {
    const spelled = '{"f":1e400,"z":[-0,1.0],"big":12345678901234567890}';
    // What pub sends, byte for byte, as a raw subscriber sees it.
    const watcher = await RawClient.open(broker.current.port);
    const bodies = captureBodies(watcher);
    expect((await watcher.call('connect', { client_id: 'byte-watcher' })).error).toBeUndefined();
    expect((await watcher.call('subscribe', { patterns: ['exact.#'] })).error).toBeUndefined();
    expect((await runCli(['pub', 'exact.pub', ` ${spelled.replace(',"z"', ', "z"')}\n`, ...broker.cliArgs])).code).toBe(0);
    await watcher.waitDelivery('exact.pub');
    expect(payloadBytes(bodies.at(-1)!, 'exact.pub', spelled.length + 1).toString()).toBe(spelled.replace(',"z"', ', "z"'));
    watcher.close();

    // A responder's echo and what request prints, one line (--pretty lays it out).
    const echo = await listening(['reply', 'exact.echo', '--echo', '-C', '2', ...broker.cliArgs]);
    const asked = await runCli(['request', 'exact.echo', spelled, ...broker.cliArgs]);
    expect(asked.stdout).toBe(`${spelled}\n`);
    const pretty = await runCli(['request', 'exact.echo', '--pretty', '[1.0, -0]', ...broker.cliArgs]);
    expect(pretty.stdout).toBe('[\n  1.0,\n  -0\n]\n');
    const printed = await echo.done;
    expect(printed.stdout.trim().split('\n').map((l) => l.replace(/^exact\.echo bridge-cli-\d+ /, ''))).toEqual([spelled, '[1.0,-0]']);
  });

  it('sub shows payloads as their publisher wrote them, on one line: the default line, --json and --format %p', async () => {
    const written = '{ "f" : 1e400,\n "big":12345678901234567890, "z":[-0, 1.0] }';
    const line = '{"f":1e400,"big":12345678901234567890,"z":[-0,1.0]}';
    const plain = await listening(['sub', 'shown.#', '-C', '1', ...broker.cliArgs]);
    const json = await listening(['sub', 'shown.#', '-C', '1', '--json', ...broker.cliArgs]);
    const format = await listening(['sub', 'shown.#', '-C', '1', '--format', '%t|%p|%P', ...broker.cliArgs]);
    const pub = await RawClient.connected(broker.current.port, 'publisher');
    const answer = pub.waitFor((f) => f.id === 100);
    pub.writeRaw(encodeFrame(`{"jsonrpc":"2.0","method":"publish","params":{"topic":"shown.x","payload":${written}},"id":100}`));
    expect((await answer).error).toBeUndefined();
    pub.close();

    expect((await plain.done).stdout).toBe(`shown.x ${line}\n`);
    const record = (await json.done).stdout;
    expect(record).toContain(`"payload":${line},"sender":"publisher"`);
    expect(record.trim().split('\n')).toHaveLength(1);
    expect((await format.done).stdout).toBe(`shown.x|${line}|${line}\n`);
  });

  it('reply sends a given answer, and with --string the text, as is', async () => {
    const fixed = await listening(['reply', 'fixed.x', '{"running":true,"pid":42}', '-C', '1', ...broker.cliArgs]);
    expect(JSON.parse((await runCli(['request', 'fixed.x', ...broker.cliArgs])).stdout)).toEqual({ running: true, pid: 42 });
    expect((await fixed.done).code).toBe(0);

    const text = await listening(['reply', 'text.x', '--string', 'pong', '-C', '1', ...broker.cliArgs]);
    expect((await runCli(['request', 'text.x', ...broker.cliArgs])).stdout).toBe('"pong"\n');
    expect((await text.done).code).toBe(0);
  });

  it('request with only a listening sub: says the subscriber got it but nobody answered, and how to get an answer', async () => {
    const sub = await listening(['sub', 'quiet.topic', ...broker.cliArgs]);
    const res = await runCli(['request', 'quiet.topic', '{"q":1}', '--timeout', '0.5', ...broker.cliArgs]);
    expect(res.code).toBe(1);
    expect(res.stderr).toContain('request to quiet.topic failed (-32002 timeout): 1 subscriber received it but nobody answered within 0.5 s.');
    expect(res.stderr).toContain('`bridge reply quiet.topic`');
    expect(res.stderr).toContain('only listens');
    sub.child.kill('SIGTERM');
    await sub.done;
  });

  it('request with nobody subscribed: says so, exit 1', async () => {
    const res = await runCli(['request', 'nobody.home', ...broker.cliArgs]);
    expect(res.code).toBe(1);
    expect(res.stderr).toContain('request to nobody.home failed (-32005 no responders): nobody is subscribed to nobody.home');
    expect(res.stderr).toContain('`bridge reply nobody.home`');
  });
});
