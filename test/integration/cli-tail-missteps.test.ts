/**
 * `bridge tail` given something it cannot use, through the real binary against a real
 * broker: each start-up mistake is exit 1 with one message that says what to do (no stack
 * trace, and the process ends), and what goes wrong later (a line no topic can be made
 * of, a line the broker refuses, the queue path turning into a folder) is logged and
 * dead-lettered without holding up the lines behind it.
 */
import { appendFileSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { beforeEach, describe, expect, it } from 'vitest';
import { runCli, useCliProcesses, waitOutput, type CliResult, type StartedCli } from '../helpers/cli.js';
import type { StartedBroker } from '../helpers/broker-fixture.js';
import { ON_WINDOWS } from '../helpers/platform.js';
import { freePort } from '../helpers/ports.js';
import { pace } from '../helpers/processes.js';
import { pollFile } from '../helpers/poll-file.js';
import type { RawClient } from '../helpers/raw-client.js';
import { brokerWithWatcher, subscribe, useTestBed } from '../helpers/test-bed.js';

const bed = useTestBed();
let b: StartedBroker;
let sub: RawClient;
let dir: string;
let queue: string;

beforeEach(async () => {
  ({ broker: b, watcher: sub } = await brokerWithWatcher(bed, { broker: { max_message_size: 4096, max_output_bytes: 128 * 1024 } }));
  dir = bed.tempDir('bridge-tail-missteps-');
  queue = path.join(dir, 'queue.txt');
});
// Registered after the test bed so its hook runs first: the processes stop before the bed removes their folder.
const procs = useCliProcesses();

const connectArgs = (): string[] => ['--host', '127.0.0.1', '--port', String(b.port)];

/** `bridge tail` to completion (a hang fails the test by its timeout). */
const tailOnce = (args: string[]): Promise<CliResult> => runCli(['tail', ...args, ...connectArgs()]);

/** Exit 1 with exactly `message` on stderr (one line unless it shows an excerpt), and no stack trace. */
function expectOneMessage(res: CliResult, message: string | RegExp): void {
  expect(res.code).toBe(1);
  expect(res.stderr).not.toContain('    at ');
  if (typeof message !== 'string' || !message.includes('\n')) expect(res.stderr.trimEnd().split('\n')).toHaveLength(1);
  if (typeof message === 'string') expect(res.stderr).toBe(`bridge: ${message}\n`);
  else expect(res.stderr).toMatch(message);
}

/**
 * Make a file or folder where one was just deleted. On Windows a name deleted while
 * another process has it open (the tailer does, for each read) stays taken until that
 * handle closes, and nothing announces it: retry, bounded. POSIX frees the name at once.
 */
async function createWhereDeleted(create: () => void, timeoutMs = 10_000): Promise<void> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    try {
      create();
      return;
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      // EEXIST, EISDIR: the deleted file or folder is still there; EPERM, EACCES: it is being deleted.
      if (!ON_WINDOWS || !['EEXIST', 'EISDIR', 'EPERM', 'EACCES'].includes(code ?? '') || Date.now() > until) throw err;
    }
    await pace(20);
  }
}

/** Dead-letter file entries as [queue_id offset, reason, raw]; polled (bounded): the file announces nothing. */
function waitDead(file: string, n: number, timeoutMs = 5000): Promise<Array<[number, string, string]>> {
  return pollFile(
    file,
    (text) => {
      const rows = text.split('\n').filter((l) => l !== '');
      if (rows.length < n) return undefined;
      return rows.map((r): [number, string, string] => {
        const [, id, reason, raw] = r.split('\t');
        return [Number(id!.split(':').pop()), reason!, raw!];
      });
    },
    `${n} dead-letter entries`,
    timeoutMs,
  );
}

describe('bridge tail: mistakes at start-up are exit 1 with one message, before connecting', () => {
  it.each([
    [['--map', 'A=jobs.*'], 'invalid --map "A=jobs.*": "jobs.*" is not a topic lines can be published to: topic contains a wildcard (*, + or #); map to one plain topic, e.g. JOB_ACTIVATED=jobs.activated'],
    [['--map', 'A=jobs..done'], 'invalid --map "A=jobs..done": "jobs..done" is not a topic lines can be published to: topic has an empty level; map to one plain topic, e.g. JOB_ACTIVATED=jobs.activated'],
    [['--map', 'BOOT=system.boot'], 'invalid --map "BOOT=system.boot": "system.boot" is not a topic lines can be published to: it is reserved for the broker (system.* and _internal.*); map to one plain topic, e.g. JOB_ACTIVATED=jobs.activated'],
    [['--prefix', 'legacy', '--map', 'A=b.#'], 'invalid --map "A=b.#": "legacy.b.#" (with --prefix) is not a topic lines can be published to: topic contains a wildcard (*, + or #); map to one plain topic, e.g. JOB_ACTIVATED=jobs.activated'],
    [['--map', 'A|B=jobs.x'], 'invalid --map "A|B=jobs.x": the legacy name "A|B" never matches: it contains "|", which ends the name in a queue line'],
    [['--map', 'A='], 'invalid --map "A=": use LEGACY_NAME=topic, e.g. JOB_ACTIVATED=jobs.activated'],
    [['--prefix', 'cad*'], 'invalid --prefix "cad*": topic contains a wildcard (*, + or #); use plain dot-separated words, e.g. --prefix legacy'],
    [['--prefix', 'system'], 'invalid --prefix "system": it is reserved for the broker (system.* and _internal.*); use plain dot-separated words, e.g. --prefix legacy'],
  ])('%j is exit 1 with the rule', async (flags, message) => {
    const res = await tailOnce([queue, ...flags]);
    expectOneMessage(res, message);
  });

  it('checks the map before connecting: with no broker at all, the map is what it reports', async () => {
    const res = await runCli(['tail', queue, '--map', 'A=jobs.*', '--host', '127.0.0.1', '--port', String(await freePort())]);
    expectOneMessage(res, /^bridge: invalid --map "A=jobs\.\*": /);
  });

  it('a directory is exit 1 at once, naming the file to give instead', async () => {
    const folder = path.join(dir, 'queues');
    mkdirSync(folder);
    const res = await tailOnce([folder]);
    expectOneMessage(res, `${folder} is a directory; give the queue file inside it, e.g. ${path.join(folder, 'broker_queue.txt')}`);
  });

  it('a --position-file or --dead-letter-file that is a directory is exit 1, naming a file to give', async () => {
    expectOneMessage(await tailOnce([queue, '--position-file', dir]), `--position-file ${dir} is a directory; name a file, e.g. ${path.join(dir, 'queue.txt.pos')}`);
    expectOneMessage(await tailOnce([queue, '--dead-letter-file', dir]), `--dead-letter-file ${dir} is a directory; name a file, e.g. ${path.join(dir, 'queue.txt.dead')}`);
  });

  it('a --position-file or --dead-letter-file in a folder that does not exist is exit 1: a position never saved would replay the queue at every start', async () => {
    const missing = path.join(dir, 'nodir');
    for (const flag of ['--position-file', '--dead-letter-file']) {
      const file = path.join(missing, 'q.pos');
      expectOneMessage(await tailOnce([queue, flag, file]), `${flag} ${file} cannot be written: the folder ${missing} does not exist; create it first`);
    }
  });

  it('a --map-file that does not exist is named, with where it was looked for', async () => {
    const res = await tailOnce([queue, '--map-file', 'no-such-map.json']);
    expectOneMessage(res, `cannot read --map-file no-such-map.json: no such file (looked for ${path.resolve('no-such-map.json')})`);
  });

  it('a --map-file that is a directory says so', async () => {
    const res = await tailOnce([queue, '--map-file', dir]);
    expectOneMessage(res, `cannot read --map-file ${dir}: it is a directory; give the JSON file`);
  });

  it('a --map-file with broken JSON says where it breaks and what was expected', async () => {
    const map = path.join(dir, 'map.json');
    writeFileSync(map, '{\r\n  "JOB_ACTIVATED": "jobs.activated",\r\n}\r\n');
    expectOneMessage(await tailOnce([queue, '--map-file', map]), `--map-file ${map} is not valid JSON: a comma before "}" (trailing commas are not JSON) at line 3, column 1\n  }\n  ^`);
    writeFileSync(map, '{"A": "C:\\queue"}');
    expectOneMessage(
      await tailOnce([queue, '--map-file', map]),
      `--map-file ${map} is not valid JSON: invalid escape "\\q" in a string (write each backslash in a path as \\\\, or use /) at column 10\n  {"A": "C:\\queue"}\n           ^`,
    );
    writeFileSync(map, '{"A": "jobs.a"');
    expectOneMessage(await tailOnce([queue, '--map-file', map]), `--map-file ${map} is not valid JSON: unexpected end of input: expected "," or "}" at column 15\n  {"A": "jobs.a"\n                ^`);
  });

  it('a --map-file with the wrong shape or an invalid topic names the entry and the rule', async () => {
    const map = path.join(dir, 'map.json');
    writeFileSync(map, '["jobs.a"]');
    expectOneMessage(await tailOnce([queue, '--map-file', map]), `--map-file ${map}: expected one object of legacy names to topics, e.g. {"JOB_ACTIVATED": "jobs.activated"}`);
    writeFileSync(map, '{"A": 7}');
    expectOneMessage(await tailOnce([queue, '--map-file', map]), `--map-file ${map}: "A" must map to a topic string, e.g. "A": "jobs.activated"`);
    writeFileSync(map, '\ufeff{"A": "jobs.a", "B": "jobs.+"}'); // with the BOM Notepad writes
    expectOneMessage(
      await tailOnce([queue, '--map-file', map]),
      `--map-file ${map}: "B" maps to "jobs.+", which is not a topic lines can be published to: topic contains a wildcard (*, + or #)`,
    );
  });
});

describe('bridge tail: what goes wrong while it runs', () => {
  /** `bridge tail` left running. */
  function tail(file: string, extra: string[] = []): StartedCli {
    return procs.start(['tail', file, ...connectArgs(), '--log-level', 'info', ...extra]);
  }
  const watching = (p: StartedCli): Promise<string> => waitOutput(p.child, p.stderr, (s) => s.includes('tail: tailing queue file'));

  it('a line whose topic is invalid after --map and --prefix is dead-lettered with the rule; the next line is published', async () => {
    writeFileSync(queue, 'A|1\nbad*name|2\nB|3\n');
    await subscribe(sub, 'legacy.#', 'bridge.queue.invalid');
    const p = tail(queue, ['--prefix', 'legacy', '--map', 'A=jobs.a']);
    await sub.waitDelivery('legacy.B', () => true, 10_000);
    expect(await waitDead(`${queue}.dead`, 1)).toEqual([[4, 'invalid topic "legacy.bad*name": topic contains a wildcard (*, + or #)', 'bad*name|2']]);
    expect(sub.deliveries().map((d) => d.topic)).toEqual(['legacy.jobs.a', 'bridge.queue.invalid', 'legacy.B']);
    await waitOutput(p.child, p.stderr, (s) => /WARNING +tail: queue line not publishable; dead-lettered .*reason="invalid topic \\"legacy\.bad\*name\\"/.test(s));
  });

  it('a dead-letter file that cannot be written: the line is reported, logged as not dead-lettered, and the lines after it published', async () => {
    writeFileSync(queue, 'jobs.first|1\n');
    await subscribe(sub, 'jobs.#', 'bridge.queue.invalid');
    const p = tail(queue);
    await watching(p);
    await sub.waitDelivery('jobs.first', () => true, 10_000);
    // The dead-letter file's name taken by a folder once the tail runs.
    mkdirSync(`${queue}.dead`);
    appendFileSync(queue, 'no bar here\njobs.after|2\n');
    await sub.waitDelivery('jobs.after', () => true, 10_000);
    expect(sub.deliveries().map((d) => d.topic)).toEqual(['jobs.first', 'bridge.queue.invalid', 'jobs.after']);
    const text = await waitOutput(p.child, p.stderr, (s) => s.includes('queue line not publishable'));
    expect(text).toMatch(/WARNING +queue: cannot write the dead-letter file .*error=/);
    expect(text).toMatch(/WARNING +tail: queue line not publishable; not dead-lettered: its file could not be written .*reason="no \\"\|\\" between topic and payload"/);
    expect(text).not.toContain('; dead-lettered');
  });

  it('a line the broker refuses for good (over its max_message_size) is dead-lettered with its reason, not retried forever', async () => {
    const big = 'x'.repeat(5000);
    writeFileSync(queue, `jobs.before|1\njobs.big|${big}\njobs.after|2\n`);
    await subscribe(sub, 'jobs.#', 'bridge.queue.invalid');
    const p = tail(queue);
    await sub.waitDelivery('jobs.after', () => true, 10_000);
    const dead = await waitDead(`${queue}.dead`, 1);
    expect(dead).toHaveLength(1);
    expect(dead[0]![0]).toBe(14);
    expect(dead[0]![1]).toMatch(/^the broker refused it: "publish" is \d+ bytes, over the broker's max_message_size of 4096$/);
    expect(dead[0]![2]).toBe(`jobs.big|${big}`);
    const report = await sub.waitDelivery('bridge.queue.invalid', () => true, 10_000);
    expect(report.payload).toMatchObject({ file: queue, offset: 14, reason: dead[0]![1], line_truncated: true, line_chars: 5009 });
    expect(report.payload.line).toBe(`jobs.big|${big}`.slice(0, 1000));
    // The report follows the batch: the refusal is known only once the broker answered it.
    expect(sub.deliveries().map((d) => d.topic)).toEqual(['jobs.before', 'jobs.after', 'bridge.queue.invalid']);
    await waitOutput(p.child, p.stderr, (s) => s.includes('queue line not publishable; dead-lettered'));
    expect(p.stderr()).not.toContain('retrying the same lines');
  });

  it('a queue path that turns into a folder is one WARNING, then the file is read again when it is back', async () => {
    writeFileSync(queue, 'jobs.first|1\n');
    await subscribe(sub, 'jobs.#');
    const p = tail(queue);
    await watching(p);
    await sub.waitDelivery('jobs.first', () => true, 10_000);
    rmSync(queue);
    await createWhereDeleted(() => mkdirSync(queue));
    await waitOutput(p.child, p.stderr, (s) => /WARNING +queue: the queue path is a directory, not a file; waiting for a file there/.test(s));
    rmSync(queue, { recursive: true });
    await createWhereDeleted(() => writeFileSync(queue, 'jobs.back|2\n'));
    await sub.waitDelivery('jobs.back', () => true, 10_000);
    expect(p.stderr().match(/the queue path is a directory/g)).toHaveLength(1);
    expect(p.child.exitCode).toBeNull();
  });
});
