/**
 * `npm run bench:unread`: the broker's memory under clients that pipeline requests and
 * never read the answers, measured from outside on a broker process started through the
 * real CLI. For each attack it prints RSS before, at the peak, and after the attacker is
 * gone, and whether the broker closed the attacker (`output_limit`).
 *
 * Attacks: pings whose answers stay below `max_output_bytes` (the connection is owed its
 * answers and stays open until the attacker leaves), and pings far past the limit (the
 * broker must close the attacker). RSS after is sampled until it settles.
 */
import net from 'node:net';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { encodeJsonFrame } from '../src/protocol/framing.js';
import { HOST } from './client.js';
import { startBroker } from './broker-process.js';
import { rssMB } from './proc-stats.js';
import { sleep } from './run-phases.js';

const here = path.dirname(fileURLToPath(import.meta.url));
const cliPath = path.resolve(here, '../bridge/cli.js');
const SAMPLE_MS = 25;

interface Attack {
  name: string;
  /** Bytes of pipelined `ping` requests to send. */
  sendBytes: number;
}

const ATTACKS: Attack[] = [
  { name: 'pings, 8.8 MB sent, never read', sendBytes: 8.8e6 },
  { name: 'pings, 30 MB sent, never read', sendBytes: 30e6 },
  { name: 'pings, 120 MB sent, never read', sendBytes: 120e6 },
];

async function openConnected(port: number, clientId: string): Promise<net.Socket> {
  const socket = net.connect({ host: HOST, port });
  await new Promise<void>((resolve, reject) => {
    socket.once('connect', resolve);
    socket.once('error', reject);
  });
  socket.on('error', () => {
    // The broker closing the attacker surfaces as ECONNRESET: that is the expected outcome.
  });
  const answered = new Promise<void>((resolve) => socket.once('data', () => resolve()));
  socket.write(encodeJsonFrame({ jsonrpc: '2.0', method: 'connect', params: { client_id: clientId, client_type: 'bench' }, id: 0 }));
  await answered;
  return socket;
}

/** Until `socket` drains or closes, or `maxMs` passed (the broker may have stopped reading). */
function drainedOrClosed(socket: net.Socket, maxMs: number): Promise<void> {
  return new Promise((resolve) => {
    const done = (): void => {
      clearTimeout(timer);
      socket.off('drain', done);
      socket.off('close', done);
      resolve();
    };
    const timer = setTimeout(done, maxMs);
    socket.on('drain', done);
    socket.on('close', done);
  });
}

/** Sample RSS until it has not moved by more than 1 MiB for `quietMs`, or `maxMs` passed. */
async function settledRss(pid: number, quietMs = 3000, maxMs = 20_000): Promise<number> {
  const start = Date.now();
  let last = rssMB(pid) ?? 0;
  let stableSince = Date.now();
  while (Date.now() - start < maxMs) {
    await sleep(250);
    const now = rssMB(pid) ?? 0;
    if (Math.abs(now - last) > 1) stableSince = Date.now();
    last = now;
    if (Date.now() - stableSince >= quietMs) break;
  }
  return last;
}

async function run(attack: Attack): Promise<string> {
  const broker = await startBroker({ cliPath, maxQueueSize: 10_000 });
  try {
    // Warm the broker up the way a real one runs: a few clients, some traffic.
    const warm = await openConnected(broker.port, 'warm');
    warm.on('data', () => {});
    for (let i = 0; i < 2000; i++) warm.write(encodeJsonFrame({ jsonrpc: '2.0', method: 'publish', params: { topic: 'warm.x', payload: i } }));
    const before = await settledRss(broker.pid);

    const attacker = await openConnected(broker.port, 'attacker');
    attacker.pause();
    let closed = false;
    attacker.once('close', () => (closed = true));
    let peak = before;
    const sampler = setInterval(() => (peak = Math.max(peak, rssMB(broker.pid) ?? 0)), SAMPLE_MS);
    const ping = encodeJsonFrame({ jsonrpc: '2.0', method: 'ping', id: 123456 });
    const burst = Buffer.concat(Array.from({ length: 2000 }, () => ping));
    let sent = 0;
    const sendStart = Date.now();
    while (sent < attack.sendBytes && !closed && Date.now() - sendStart < 60_000) {
      sent += burst.length;
      if (!attacker.write(burst)) await drainedOrClosed(attacker, 2000);
    }
    // Let the broker read what is still in flight, then take the peak.
    const waitStart = Date.now();
    let prev = -1;
    while (!closed && Date.now() - waitStart < 10_000) {
      await sleep(500);
      const now = rssMB(broker.pid) ?? 0;
      if (Math.abs(now - prev) < 1) break;
      prev = now;
    }
    const closedByBroker = closed;
    clearInterval(sampler);
    peak = Math.max(peak, rssMB(broker.pid) ?? 0);
    attacker.destroy();
    const after = await settledRss(broker.pid);
    warm.destroy();
    const alive = broker.alive();
    return `| ${attack.name} | ${(sent / 1e6).toFixed(1)} MB | ${closedByBroker ? 'yes (output_limit)' : 'no'} | ${before.toFixed(0)} | ${peak.toFixed(0)} | ${after.toFixed(0)} | ${(after - before).toFixed(0)} | ${alive ? 'yes' : 'NO'} |`;
  } finally {
    await broker.stop();
  }
}

async function main(): Promise<void> {
  if (rssMB(process.pid) === null) {
    console.log('bench:unread needs /proc (Linux); nothing measured.');
    return;
  }
  const rows: string[] = [];
  for (const attack of ATTACKS) {
    process.stderr.write(`running: ${attack.name}\n`);
    rows.push(await run(attack));
  }
  console.log('| attack | sent | closed by broker | RSS before MB | peak MB | after MB | after - before | broker alive |');
  console.log('|---|---:|---|---:|---:|---:|---:|---|');
  for (const r of rows) console.log(r);
  console.log(`\nmax_output_bytes: default (64 MiB); node ${process.version}; RSS after = settled (no change > 1 MiB for 3 s).`);
}

main().catch((err: unknown) => {
  console.error(err);
  process.exitCode = 1;
});
