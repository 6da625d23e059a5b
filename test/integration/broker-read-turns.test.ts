/**
 * One client flooding the broker does not hold up the others (src/broker/read-turns.ts).
 * The broker used to read everything the kernel had for a flooding socket, up to 2 MiB,
 * before it looked at anyone else; now it reads a share per event-loop turn and answers
 * other clients in between. A broker process, a client that writes 200,000 publishes at
 * once, and a watcher asking the broker for its status over and over: each answer holds
 * the broker's message count when it read that request, so the steps between answers
 * are how much of the flood it read between two looks at the watcher.
 */
import net from 'node:net';
import { describe, expect, it, onTestFinished } from 'vitest';
import { TURN_READ_BYTES } from '../../src/broker/read-turns.js';
import { encodeJsonFrame, FrameDecoder } from '../../src/protocol/index.js';
import { useCliProcesses, waitOutput } from '../helpers/cli.js';
import { freePort } from '../helpers/ports.js';
import { RawClient } from '../helpers/raw-client.js';

const FLOOD = 200_000;
const { start } = useCliProcesses();

/** A client that sends one request at a time and hands each answer's result to `onResult`. */
async function statusWatcher(port: number): Promise<{ ask(onCount: (messageCount: number) => void): void; close(): void }> {
  const socket = net.connect({ port, host: '127.0.0.1' });
  await new Promise<void>((resolve, reject) => socket.once('connect', resolve).once('error', reject));
  socket.setNoDelay(true);
  let nextId = 1;
  let waiting: ((result: { message_count?: number }) => void) | null = null;
  const decoder = new FrameDecoder(1024 * 1024);
  socket.on('data', (chunk: Buffer) =>
    decoder.push(chunk, (body) => {
      const frame = JSON.parse(body.toString('utf8')) as { result?: { message_count?: number }; error?: unknown };
      if (frame.error !== undefined) throw new Error(`the broker refused: ${JSON.stringify(frame.error)}`);
      const w = waiting;
      waiting = null;
      w?.(frame.result ?? {});
    }),
  );
  const call = (method: string, params: unknown): Promise<{ message_count?: number }> =>
    new Promise((resolve) => {
      waiting = resolve;
      socket.write(encodeJsonFrame({ jsonrpc: '2.0', id: nextId++, method, params }));
    });
  await call('connect', { client_id: 'watcher', client_type: 'test', version: '1' });
  return {
    // Asked again from inside the answer's handler: the next request waits for nothing.
    ask(onCount) {
      waiting = (result) => onCount(result.message_count ?? -1);
      socket.write(encodeJsonFrame({ jsonrpc: '2.0', id: nextId++, method: 'request', params: { topic: 'status' } }));
    },
    close: () => socket.destroy(),
  };
}

describe('a client flooding the broker', () => {
  it('is read a share per turn: another client is answered every few hundred KB of the flood', async () => {
    const port = await freePort();
    const broker = start(['broker', '--host', '127.0.0.1', '--port', String(port), '--log-level', 'info']);
    await waitOutput(broker.child, broker.stderr, (s) => s.includes('broker listening'));
    const flooder = await RawClient.connected(port, 'flooder');
    onTestFinished(() => flooder.close());
    const watcher = await statusWatcher(port);
    onTestFinished(() => watcher.close());

    const frames: Buffer[] = [];
    for (let i = 0; i < FLOOD; i++) frames.push(encodeJsonFrame({ jsonrpc: '2.0', method: 'publish', params: { topic: 'flood', payload: { i } } }));
    const flood = Buffer.concat(frames);
    const frameBytes = flood.length / FLOOD;

    const counts: number[] = [];
    const done = new Promise<void>((resolve) => {
      const look = (): void =>
        watcher.ask((count) => {
          counts.push(count);
          if (count >= FLOOD) resolve();
          else look();
        });
      look();
    });
    flooder.writeRaw(flood);
    await done;

    // The median step, so that a watcher late now and then (the machine is shared) does
    // not decide it: a turn reads TURN_READ_BYTES and the chunk that crossed it (64 KiB),
    // about 3,700 publishes; four turns' worth allows for a watcher a few turns late.
    // Without the turns the median was 25,000-47,000 publishes (2.2-4 MB).
    const steps = counts
      .slice(1)
      .map((c, k) => c - counts[k]!)
      .filter((d) => d > 0)
      .sort((a, b) => a - b);
    expect(steps.length, 'the watcher was answered during the flood').toBeGreaterThanOrEqual(5);
    const perTurn = (TURN_READ_BYTES + 64 * 1024) / frameBytes;
    expect(steps[steps.length >> 1], `median step of ${steps.join(',')}`).toBeLessThanOrEqual(4 * perTurn);
  }, 60_000);

  it('keeps every publish of the flood, in order, across the pauses', async () => {
    const port = await freePort();
    const broker = start(['broker', '--host', '127.0.0.1', '--port', String(port), '--max-queue-size', String(FLOOD), '--log-level', 'info']);
    await waitOutput(broker.child, broker.stderr, (s) => s.includes('broker listening'));
    const subscriber = await RawClient.connected(port, 'subscriber');
    onTestFinished(() => subscriber.close());
    await subscriber.call('subscribe', { patterns: ['flood'] });
    const flooder = await RawClient.connected(port, 'flooder');
    onTestFinished(() => flooder.close());
    const frames: Buffer[] = [];
    for (let i = 0; i < FLOOD; i++) frames.push(encodeJsonFrame({ jsonrpc: '2.0', method: 'publish', params: { topic: 'flood', payload: { i } } }));
    flooder.writeRaw(Buffer.concat(frames));
    const got = await subscriber.waitDeliveries(FLOOD, 'flood', 30_000);
    const outOfOrder = got.findIndex((d, k) => (d.payload as { i: number }).i !== k);
    expect(got).toHaveLength(FLOOD);
    expect(outOfOrder).toBe(-1);
  }, 60_000);
});

