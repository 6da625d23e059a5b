/**
 * One client flooding the broker does not hold up the others (src/broker/read-turns.ts).
 * The broker used to read everything the kernel had for a flooding socket, up to 2 MiB,
 * before it looked at anyone else; now it reads a share per event-loop turn and answers
 * other clients in between. A broker process, a client that writes 200,000 publishes at
 * once, and a watcher asking the broker for its status over and over: each answer holds
 * the broker's message count when it read that request, so the steps between answers
 * are how much of the flood it read between two looks at the watcher.
 */
import { describe, expect, it, onTestFinished } from 'vitest';
import { BULK_READ_BYTES, TURN_READ_BYTES } from '../../src/broker/read-turns.js';
import { Logger } from '../../src/log/logger.js';
import { encodeJsonFrame } from '../../src/protocol/index.js';
import { startBroker } from '../helpers/broker-fixture.js';
import { useCliProcesses, waitOutput } from '../helpers/cli.js';
import { freePort } from '../helpers/ports.js';
import { RawClient } from '../helpers/raw-client.js';

const FLOOD = 200_000;
const { start } = useCliProcesses();

/** `count` publishes to `flood`, payload `{i}`, as one buffer of frames. */
function floodOfPublishes(count: number): Buffer {
  const frames: Buffer[] = [];
  for (let i = 0; i < count; i++) frames.push(encodeJsonFrame({ jsonrpc: '2.0', method: 'publish', params: { topic: 'flood', payload: { i } } }));
  return Buffer.concat(frames);
}

describe('a client flooding the broker', () => {
  it('is read a share per turn: another client is answered every few hundred KB of the flood', async () => {
    const port = await freePort();
    const broker = start(['broker', '--host', '127.0.0.1', '--port', String(port), '--log-level', 'info']);
    await waitOutput(broker.child, broker.stderr, (s) => s.includes('broker listening'));
    const flooder = await RawClient.connected(port, 'flooder');
    onTestFinished(() => flooder.close());
    const watcher = await RawClient.connected(port, 'watcher');
    onTestFinished(() => watcher.close());
    const flood = floodOfPublishes(FLOOD);
    const frameBytes = flood.length / FLOOD;

    // One request at a time, the next as soon as the answer is in.
    const counts: number[] = [];
    flooder.writeRaw(flood);
    for (let count = -1; count < FLOOD; ) {
      const answer = await watcher.call('request', { topic: 'status' }, 30_000);
      expect(answer.error, 'the broker answers its status').toBeUndefined();
      count = answer.result.message_count as number;
      counts.push(count);
    }

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
    flooder.writeRaw(floodOfPublishes(FLOOD));
    const got = await subscriber.waitDeliveries(FLOOD, 'flood', 30_000);
    const outOfOrder = got.findIndex((d, k) => (d.payload as { i: number }).i !== k);
    expect(got).toHaveLength(FLOOD);
    expect(outOfOrder).toBe(-1);
  }, 60_000);

  it("tells its embedder of the first bulk read, once; a hook that throws is logged, and the flood is still read whole", async () => {
    const logs: string[] = [];
    const logger = new Logger({ level: 'error', component: 'broker', sink: { write: (line: string) => logs.push(line) } });
    let told = 0;
    const { port, stop } = await startBroker({}, {
      logger,
      onBulkRead: () => {
        told++;
        throw new Error('the hook broke');
      },
    });
    onTestFinished(stop);
    const flooder = await RawClient.connected(port, 'flooder');
    onTestFinished(() => flooder.close());
    const watcher = await RawClient.connected(port, 'watcher');
    onTestFinished(() => watcher.close());
    // Two floods, each many bulk reads' worth.
    const count = 5_000;
    const flood = floodOfPublishes(count);
    expect(flood.length).toBeGreaterThan(4 * BULK_READ_BYTES);
    flooder.writeRaw(flood);
    flooder.writeRaw(flood);
    for (let seen = 0; seen < 2 * count; ) {
      const answer = await watcher.call('request', { topic: 'status' }, 30_000);
      seen = answer.result.message_count as number;
    }
    expect(told).toBe(1);
    expect(logs.join('')).toMatch(/onBulkRead hook failed.*the hook broke/);
  });
});
