/**
 * BrokerLink in-process, against a real broker through a real TCP relay: what the bridge
 * publishes while its broker is unreachable is kept, in order, and published once the
 * link is back.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { BrokerLink } from '../../bridge/broker-link.js';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { ScriptSupervisor } from '../../bridge/supervisor/script-supervisor.js';
import type { RestartOptions } from '../../bridge/supervisor/restart-policy.js';
import { Logger, silentLogger } from '../../src/log/logger.js';
import { FAKE_AHK } from '../helpers/script-fixtures.js';
import { startBroker, type StartedBroker } from '../helpers/broker-fixture.js';
import { RawClient, type Frame } from '../helpers/raw-client.js';
import { TcpRelay } from '../helpers/tcp-relay.js';
import { ManualClock } from '../helpers/manual-clock.js';

const cleanups: (() => Promise<unknown> | unknown)[] = [];
/** Lines the flooding script writes: far more than a pipe and a socket buffer hold. */
const LINES = 200_000;
const NEVER: RestartOptions = { mode: 'never', initialDelayMs: 1000, maxDelayMs: 4000, maxRestarts: 0, windowMs: 60_000, stableAfterMs: 10_000 };
afterEach(async () => {
  for (const fn of cleanups.splice(0).reverse()) await fn();
});

describe('BrokerLink outbox', () => {
  it('keeps events published while the broker is unreachable and publishes them, in order, on reconnect', async () => {
    const broker: StartedBroker = await startBroker();
    cleanups.push(() => broker.stop());
    const relay = await TcpRelay.start(broker.port);
    cleanups.push(() => relay.close());
    const watcher = await RawClient.connected(broker.port, 'watcher');
    cleanups.push(() => watcher.close());
    await watcher.call('subscribe', { patterns: ['scripts.#'] });

    const link = new BrokerLink({ host: '127.0.0.1', port: relay.port, clientId: 'bridge', log: silentLogger() });
    cleanups.push(() => link.stop());
    expect(await link.start()).toBe('joined');
    link.publish('scripts.cad.started', { n: 0 });
    await watcher.waitDelivery('scripts.cad.started');

    // The line drops and stays down; the port stays taken, so the link cannot host.
    const lost = new Promise((resolve) => link.client.once('disconnected', resolve));
    relay.blackhole();
    await lost;
    for (let n = 1; n <= 5; n++) link.publish('scripts.cad.output', { n });
    const back = new Promise((resolve) => link.client.once('connected', resolve));
    relay.resume();
    await back;
    await watcher.waitDeliveries(5, 'scripts.cad.output', 10_000);
    expect(watcher.deliveries('scripts.cad.output').map((d: Frame) => d.payload.n)).toEqual([1, 2, 3, 4, 5]);
    expect(link.role).toBe('joined');
  });
});

describe('BrokerLink and a script that floods its output', () => {
  it('reads the script no faster than the broker answers: publishes waiting stay bounded, every line arrives in order, nothing fails', async () => {
    const broker: StartedBroker = await startBroker();
    cleanups.push(() => broker.stop());
    const watcher = await RawClient.connected(broker.port, 'watcher');
    cleanups.push(() => watcher.close());
    await watcher.call('subscribe', { patterns: ['scripts.#'] });
    const warnings: string[] = [];
    const log = new Logger({ level: 'warning', sink: { write: (line: string) => void warnings.push(line) } });
    const link = new BrokerLink({ host: '127.0.0.1', port: broker.port, clientId: 'bridge', log });
    cleanups.push(() => link.stop());
    expect(await link.start()).toBe('joined');

    const dir = mkdtempSync(path.join(tmpdir(), 'flood-'));
    cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
    const script = path.join(dir, 'flood.ahk');
    writeFileSync(script, `;@fake flood ${LINES}\n`);
    let mostPending = 0;
    const supervisor = new ScriptSupervisor(
      { key: 'flood', path: script, args: [], restart: NEVER, encoding: 'utf-8', stopGrace: 5 },
      {
        publish: (topic, payload) => {
          link.publish(topic, payload);
          mostPending = Math.max(mostPending, link.pendingPublishes);
        },
        flow: link,
        command: () => Promise.resolve({ file: process.execPath, args: [FAKE_AHK, '/ErrorStdOut=UTF-8', script] }),
        log: silentLogger(),
      },
    );
    cleanups.push(() => supervisor.stop());
    await supervisor.start();
    await watcher.waitDeliveries(LINES, 'scripts.flood.flood', 60_000);
    await watcher.waitDelivery('scripts.flood.stopped', () => true, 10_000);

    expect(watcher.deliveries('scripts.flood.flood').every((d: Frame, i: number) => d.payload.n === i + 1)).toBe(true);
    // Past the mark, what one read of the pipe held is published before the next read waits.
    expect(mostPending).toBeLessThan(10_000);
    expect(mostPending).toBeGreaterThanOrEqual(1000);
    expect(warnings).toEqual([]);
  }, 90_000);
});

describe('BrokerLink publish failures', () => {
  it('a publish the broker refuses is a WARNING, and the ones after it within 10 s are counted at debug, not each a WARNING', async () => {
    const broker: StartedBroker = await startBroker({ max_message_size: 1024 });
    cleanups.push(() => broker.stop());
    const lines: string[] = [];
    const log = new Logger({ level: 'debug', sink: { write: (line: string) => void lines.push(line) } });
    const link = new BrokerLink({ host: '127.0.0.1', port: broker.port, clientId: 'bridge', log });
    cleanups.push(() => link.stop());
    expect(await link.start()).toBe('joined');
    for (let i = 0; i < 3; i++) link.publish('scripts.big.output', 'x'.repeat(2048));
    const failed = (): string[] => lines.filter((l) => l.includes('publish failed'));
    await expect.poll(() => failed().length, { timeout: 10_000 }).toBe(3);
    expect(failed().filter((l) => l.includes('WARNING'))).toHaveLength(1);
    expect(failed().filter((l) => l.includes('DEBUG'))).toHaveLength(2);
  });
});

describe('BrokerLink takeover', () => {
  it('hosts the broker itself after its jittered delay, on its clock, once the broker it joined is gone', async () => {
    const broker: StartedBroker = await startBroker();
    cleanups.push(() => broker.stop());
    const clock = new ManualClock();
    const link = new BrokerLink({ host: '127.0.0.1', port: broker.port, clientId: 'bridge', log: silentLogger(), clock });
    cleanups.push(() => link.stop());
    expect(await link.start()).toBe('joined');

    const lost = new Promise((resolve) => link.client.once('disconnected', resolve));
    await broker.stop();
    await lost;
    const [delay] = clock.pending();
    expect(clock.pending()).toHaveLength(1);
    expect(delay).toBeGreaterThanOrEqual(100);
    expect(delay).toBeLessThan(500);
    clock.advance(delay! - 1);
    expect(link.role).toBe('joined'); // not before its delay
    const hosting = new Promise((resolve) => link.once('role', resolve));
    clock.advance(1);
    expect(await hosting).toBe('hosting');
    expect(link.hostedBroker?.port).toBe(broker.port);
    await new Promise((resolve) => (link.client.isConnected ? resolve(undefined) : link.client.once('connected', resolve)));
    const watcher = await RawClient.connected(broker.port, 'watcher');
    cleanups.push(() => watcher.close());
    expect((await watcher.call('request', { topic: 'status', payload: null })).result).toMatchObject({ clients: expect.arrayContaining([expect.objectContaining({ client_id: 'bridge' })]) as unknown });
  });
});
