/**
 * `bridge broker` loads only what a broker needs (issue 15: idle memory), and `bridge
 * tail` only what a client of one needs (its memory during a backlog). Each command's
 * work is imported when that command runs, iconv-lite on the first frame that is not
 * UTF-8, the status page only with --http, a federation engine only with --upstream, the
 * journal only with persistence on, node:crypto when a request or a credential needs it. The
 * broker runs with a preload that records every module it loads (test/helpers/
 * load-recorder.mjs) and stops cleanly when its stdin closes, so the record is complete.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it, onTestFinished } from 'vitest';
import { BrokerClient, type Message } from '../../src/client/index.js';
import { writeFileSync } from 'node:fs';
import { runCli, useCliProcesses, waitOutput } from '../helpers/cli.js';
import { POSIX_SIGNALS, stopCli } from '../helpers/platform.js';
import { freePort } from '../helpers/ports.js';
import { FAKE_AHK, scriptFixture } from '../helpers/script-fixtures.js';
import { useTempDirs } from '../helpers/temp-dirs.js';

const RECORDER = new URL('../helpers/load-recorder.mjs', import.meta.url).href;

const newTempDir = useTempDirs();
// Registered after the folders' hook, so the processes stop before their folders go.
const { start } = useCliProcesses();

/** A new temporary folder, removed after the test. */
const tempDir = (): string => newTempDir('bridge-loads-');

/** Each loaded URL a rule forbids, as `<why>: <url>`. */
const forbidden = (urls: string[], rules: [pattern: RegExp, what: string][]): string[] =>
  rules.flatMap(([pattern, what]) => urls.filter((u) => pattern.test(u)).map((u) => `${what}: ${u}`));

/**
 * What an idle broker must not load, and why it would. Matched against file URLs (the
 * recorder turns require-cache paths into URLs too), so `/` holds on Windows as well.
 */
const NOT_FOR_A_BROKER: [pattern: RegExp, what: string][] = [
  [/\/node_modules\/chokidar\//, 'chokidar (file IPC: bridge tail, queues)'],
  [/\/node_modules\/tree-kill\//, 'tree-kill (stopping a script tree on Windows)'],
  [/\/node_modules\/@nats-io\//, 'the NATS client (federation, only with --upstream nats://)'],
  [/\/node_modules\/mqtt\//, 'the MQTT client (federation, only with --upstream mqtt://)'],
  [/\/node_modules\/iconv-lite\//, 'iconv-lite (only for a legacy encoding other than Windows-1252)'],
  [/\/dist\/bridge\/status-page\//, 'the status page (only with --http)'],
  [/\/dist\/file-ipc\//, 'file IPC'],
  [/\/dist\/bridge\/supervisor\/script-(supervisor|process)\.js$/, 'the script supervisor'],
  [/\/dist\/bridge\/commands\/(?!broker(-command|-flags)?\.js$)[\w-]+(?<!-command)\.js$/, "another command's implementation"],
  [/\/dist\/bridge\/commands\/(?!broker-command\.js$)[\w-]+-command\.js$/, "another command's definition (command-definitions.ts)"],
  [/\/dist\/src\/broker\/persistence\/(?!errors\.js$)/, 'the journal (only with persistence on)'],
  [/^node:crypto$/, 'node:crypto (on first need: crypto-on-demand.ts)'],
  [/^node:vm$/, 'node:vm (on first need: memory-release.ts)'],
  [/^node:module$/, 'node:module (on first need: iconv-lite in protocol/text.ts)'],
  [/\/node_modules\/commander\//, 'commander (an everyday broker command line is read without it: broker-flags.ts)'],
];

describe('what bridge broker loads', () => {

  /** Run a broker with `extra` flags until it listens, stop it by closing stdin, and return the URLs it loaded. */
  async function modulesLoadedBy(extra: string[]): Promise<string[]> {
    const dir = tempDir();
    const record = path.join(dir, 'loaded.txt');
    const port = await freePort();
    const proc = start(['broker', '--host', '127.0.0.1', '--port', String(port), '--stop-on-stdin-close', '--log-level', 'info', ...extra], {
      NODE_OPTIONS: `--import=${RECORDER}`,
      LOAD_RECORD: record,
    });
    await waitOutput(proc.child, proc.stderr, (s) => s.includes('broker listening'));
    proc.child.stdin.end();
    const res = await proc.done;
    expect(res.code, res.stderr).toBe(0);
    const urls = readFileSync(record, 'utf8').split('\n').filter((u) => u !== '');
    // The recorder sees both kinds of module, or the absences below would prove nothing.
    expect(urls.some((u) => u.endsWith('/dist/src/broker/broker.js')), 'an ES module of the broker is recorded').toBe(true);
    return urls;
  }

  it('an idle broker loads no other command, no supervisor, file IPC, status page, federation engine or iconv-lite', async () => {
    const urls = await modulesLoadedBy([]);
    expect(forbidden(urls, NOT_FOR_A_BROKER)).toEqual([]);
  });

  it('loads iconv-lite for a legacy encoding it must check, and the status page with --http', async () => {
    const urls = await modulesLoadedBy(['--legacy-encoding', 'cp1251', '--http', String(await freePort())]);
    // iconv-lite is loaded through createRequire, which the loader hooks never see: only
    // the require cache read at the exit records it. The rules for CommonJS modules (here
    // and for bridge run, which loads none on Linux) rely on that read.
    expect(urls.some((u) => u.includes('/node_modules/iconv-lite/'))).toBe(true);
    expect(urls.some((u) => u.endsWith('/dist/bridge/status-page/status-page.js'))).toBe(true);
    // --http takes an optional value, which commander reads (and so the recorder sees a
    // CommonJS module, or the absence of commander above would prove nothing).
    expect(urls.some((u) => u.includes('/node_modules/commander/')), 'a CommonJS module (commander) is recorded').toBe(true);
  });
});

/** A `bridge broker` on a free port, and a client of it, disconnected after the test. */
async function brokerWithWatcher(clientId: string): Promise<{ port: number; watcher: BrokerClient }> {
  const port = await freePort();
  const broker = start(['broker', '--host', '127.0.0.1', '--port', String(port), '--log-level', 'info']);
  await waitOutput(broker.child, broker.stderr, (s) => s.includes('broker listening'));
  const watcher = new BrokerClient(clientId, { host: '127.0.0.1', port, autoReconnect: false });
  await watcher.connect();
  onTestFinished(() => watcher.disconnect());
  return { port, watcher };
}

/** What `bridge tail`, a client of the broker, must not load. */
const NOT_FOR_A_TAIL: [pattern: RegExp, what: string][] = [
  [/\/dist\/src\/broker\/broker\.js$/, 'the broker (hosting is for run, up and demo)'],
  [/\/dist\/src\/broker\/(dispatcher|router|session-store)\.js$/, "the broker's internals"],
  [/\/dist\/bridge\/broker-link\.js$/, 'BrokerLink (join or host)'],
  [/\/dist\/bridge\/status-page\//, 'the status page'],
  [/\/dist\/bridge\/supervisor\/script-(supervisor|process)\.js$/, 'the script supervisor'],
  [/\/node_modules\/@nats-io\//, 'the NATS client'],
  [/\/node_modules\/mqtt\//, 'the MQTT client'],
  [/\/dist\/bridge\/commands\/(?!tail(-command|-flags)?\.js$)[\w-]+(?<!-command)\.js$/, "another command's implementation"],
  [/\/node_modules\/iconv-lite\//, 'iconv-lite (Windows-1252, the default code page, is decoded by its own table)'],
  [/\/node_modules\/commander\//, 'commander (an everyday tail command line is read without it: tail-flags.ts)'],
];

describe('what bridge tail loads', () => {

  it('a tail publishing a Windows-1252 line loads file IPC and the client, not the broker, the status page, the supervisor or iconv-lite', async () => {
    const dir = tempDir();
    const { port, watcher } = await brokerWithWatcher('loads-watcher');
    let onDelivery!: (m: Message) => void;
    const delivered = new Promise<Message>((resolve) => (onDelivery = resolve));
    await watcher.subscribe('JOB', (m) => onDelivery(m));
    const queue = path.join(dir, 'queue.txt');
    // Windows-1252, as AutoHotkey's FileAppend writes by default: 0x80 is the euro sign.
    writeFileSync(queue, Buffer.concat([Buffer.from('JOB|{"n":1,"price":"5'), Buffer.from([0x80]), Buffer.from('"}\r\n')]));
    const record = path.join(dir, 'loaded.txt');
    const tail = start(['tail', queue, '--host', '127.0.0.1', '--port', String(port), '--log-level', 'info'], {
      NODE_OPTIONS: `--import=${RECORDER}`,
      LOAD_RECORD: record,
    });
    // Once the line arrives, the whole publishing path has been loaded.
    expect((await delivered).payload).toMatchObject({ n: 1, price: '5€' });
    await stopCli(tail);
    const urls = readFileSync(record, 'utf8').split('\n').filter((u) => u !== '');
    expect(urls.some((u) => u.endsWith('/dist/file-ipc/tailer.js')), 'the tailer is recorded').toBe(true);
    expect(urls.some((u) => u.endsWith('/dist/src/client/client.js')), 'the client is recorded').toBe(true);
    // CommonJS modules are recorded at a clean exit, which Ctrl+C is not on Windows (the
    // child is terminated). iconv-lite is CommonJS (loaded through createRequire), so its
    // rule below can fail only where the tail exits cleanly: on Linux, as in CI. Commander
    // is imported through its ES module wrapper, which is recorded either way.
    if (POSIX_SIGNALS) expect(urls, 'the require cache is read at a clean exit').toContain('recorder:exit');
    expect(forbidden(urls, NOT_FOR_A_TAIL)).toEqual([]);
  });
});

/**
 * What a `bridge run` that joined a running broker must not load: it is a client with a
 * supervisor, one process per script (the hosting bridge loads the broker when it hosts).
 */
const NOT_FOR_A_JOINED_RUN: [pattern: RegExp, what: string][] = [
  [/\/dist\/src\/broker\/broker\.js$/, 'the broker (loaded by a bridge that hosts it)'],
  [/\/dist\/src\/broker\/(dispatcher|router|session-store)\.js$/, "the broker's internals"],
  [/\/dist\/bridge\/status-page\//, 'the status page (served by the process hosting the broker)'],
  [/\/dist\/file-ipc\/(?!line-parser\.js$)/, 'file IPC beyond the queue checks (no --queue given)'],
  [/\/node_modules\/chokidar\//, 'chokidar (only with --watch)'],
  [/\/node_modules\/iconv-lite\//, 'iconv-lite (Windows-1252 is decoded by its own table)'],
  [/\/node_modules\/commander\//, 'commander (an everyday run command line is read without it: run-flags.ts)'],
  [/\/node_modules\/(p-queue|eventemitter3)\//, 'p-queue and its eventemitter3 (start, stop and restart queue in serial-tasks.ts)'],
  [/\/node_modules\/tree-kill\//, 'tree-kill (loaded on the first tree stopped on Windows)'],
  [/\/node_modules\//, 'a package: a joined run needs none (its client, supervisor and decoders are its own)'],
];

describe('what bridge run loads', () => {
  it('a joined bridge run loads no broker, status page, queue tailer or package from node_modules, and reads ANSI output as cp1252 without iconv-lite', async () => {
    const dir = tempDir();
    const { port, watcher } = await brokerWithWatcher('loads-run-watcher');
    const lines: string[] = [];
    let onLines!: () => void;
    const twoLines = new Promise<void>((resolve) => (onLines = resolve));
    await watcher.subscribe('scripts.ansi.output', (m) => {
      lines.push((m.payload as { line: string }).line);
      if (lines.length === 2) onLines();
    });
    const record = path.join(dir, 'loaded.txt');
    const run = start(['run', scriptFixture('ansi'), '--key', 'ansi', '--ahk', FAKE_AHK, '--encoding', 'cp1252', '--host', '127.0.0.1', '--port', String(port)], {
      NODE_OPTIONS: `--import=${RECORDER}`,
      LOAD_RECORD: record,
    });
    await twoLines;
    expect(lines).toEqual(['Café Müller', 'Preis: 5 € – „geprüft“']);
    // The script ends by itself, and so does bridge run: a clean exit, which records the CommonJS modules too.
    expect((await run.done).code).toBe(0);
    const urls = readFileSync(record, 'utf8').split('\n').filter((u) => u !== '');
    expect(urls.some((u) => u.endsWith('/dist/bridge/supervisor/line-decoder.js')), 'the line decoder is recorded').toBe(true);
    // The require cache is read at the clean exit (that it lists CommonJS modules is shown
    // by the broker's --http case above), so the rules for iconv-lite, loaded through
    // createRequire, and for the CommonJS packages below can fail.
    expect(urls, 'the require cache is read at a clean exit').toContain('recorder:exit');
    expect(urls.some((u) => u.endsWith('/dist/bridge/broker-link.js')), 'BrokerLink is recorded').toBe(true);
    expect(forbidden(urls, NOT_FOR_A_JOINED_RUN)).toEqual([]);
  });
});


describe('what bridge pub loads', () => {
  it('a bridge pub, started once per message, loads no package from node_modules: not even commander', async () => {
    const dir = tempDir();
    const { port, watcher } = await brokerWithWatcher('loads-pub-watcher');
    let onDelivery!: (m: Message) => void;
    const delivered = new Promise<Message>((resolve) => (onDelivery = resolve));
    await watcher.subscribe('jobs.#', (m) => onDelivery(m));
    const record = path.join(dir, 'loaded.txt');
    const res = await runCli(['pub', 'jobs.activated', '{"job_id":"12345"}', '-q', '1', '--host', '127.0.0.1', '--port', String(port)], {
      NODE_OPTIONS: `--import=${RECORDER}`,
      LOAD_RECORD: record,
    });
    expect(res.code).toBe(0);
    expect(res.stdout).toMatch(/^published jobs\.activated to 1 subscriber \(message_id \S+\)\n$/);
    expect((await delivered).payload).toEqual({ job_id: '12345' });
    const urls = readFileSync(record, 'utf8').split('\n').filter((u) => u !== '');
    // It ends by itself: a clean exit, at which the require cache is read, so a CommonJS package would be seen.
    expect(urls, 'the require cache is read at a clean exit').toContain('recorder:exit');
    expect(urls.some((u) => u.endsWith('/dist/bridge/commands/pub.js')), 'the command is recorded').toBe(true);
    expect(forbidden(urls, [[/\/node_modules\//, 'a package (commander: an everyday pub command line is read without it, pub-flags.ts)']])).toEqual([]);
  });
});
