/**
 * ScriptRegistry in-process against a real broker: with several bridges on one broker,
 * the bridge that supervises a script answers for it; a script nobody supervises gets a
 * clear answer at once, decided by asking the other bridges, not by a delay.
 */
import { tmpdir } from 'node:os';
import { afterEach, describe, expect, it } from 'vitest';
import { BrokerLink } from '../../bridge/broker-link.js';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { KeyTakenError, ownerTopic, RUN_HOST_TOPIC, ScriptRegistry } from '../../bridge/script-registry.js';
import { DEFAULT_STOP_GRACE } from '../../bridge/bridge-config.js';
import { DEFAULT_RESTART } from '../../bridge/supervisor/restart-policy.js';
import { silentLogger } from '../../src/log/logger.js';
import { ErrorCode } from '../../src/protocol/errors.js';
import { startBroker } from '../helpers/broker-fixture.js';
import { RawClient } from '../helpers/raw-client.js';
import { FAKE_AHK } from '../helpers/script-fixtures.js';
import { useTempDirs } from '../helpers/temp-dirs.js';

/** Lines the flooding script writes: far more than a pipe and a socket buffer hold. */
const FLOOD_LINES = 200_000;

// Before the hook below: the bridges stop before their folders are removed.
const tempDir = useTempDirs();
const cleanups: (() => Promise<unknown> | unknown)[] = [];
afterEach(async () => {
  for (const fn of cleanups.splice(0).reverse()) await fn();
});

async function bridge(port: number, id: string, keys: string[]): Promise<ScriptRegistry> {
  const link = new BrokerLink({ host: '127.0.0.1', port, clientId: id, log: silentLogger() });
  cleanups.push(() => link.stop());
  await link.start();
  const registry = new ScriptRegistry({ link, log: silentLogger(), scriptFolders: [] });
  for (const key of keys) await registry.add({ key, path: `${key}.ahk`, args: [], restart: { ...DEFAULT_RESTART }, encoding: 'utf-8', stopGrace: DEFAULT_STOP_GRACE });
  await registry.serveControl();
  return registry;
}

async function setup(): Promise<{ port: number; asker: RawClient }> {
  const broker = await startBroker();
  cleanups.push(() => broker.stop());
  const asker = await RawClient.connected(broker.port, 'ahk_manager');
  cleanups.push(() => asker.close());
  return { port: broker.port, asker };
}

describe('ScriptRegistry: which bridge answers', () => {
  it('the owner answers scripts.status for its script, every time, beside a bridge that does not have it', async () => {
    const { port, asker } = await setup();
    await bridge(port, 'bridge.a', ['saw']);
    await bridge(port, 'bridge.b', ['cad']);
    for (let i = 0; i < 10; i++) {
      const cad = await asker.call('request', { topic: 'scripts.status', payload: { script_id: 'cad' }, timeout: 5 });
      expect(cad.result).toMatchObject({ key: 'cad', state: 'idle', running: false });
      const saw = await asker.call('request', { topic: 'scripts.status', payload: { script_id: 'saw' }, timeout: 5 });
      expect(saw.result).toMatchObject({ key: 'saw', state: 'idle' });
    }
  });

  it('a script no bridge has is answered known: false, and a control request for it -32602', async () => {
    const { port, asker } = await setup();
    await bridge(port, 'bridge.a', ['saw']);
    await bridge(port, 'bridge.b', ['cad']);
    const status = await asker.call('request', { topic: 'scripts.status', payload: { script_id: 'nope' }, timeout: 5 });
    expect(status.result).toEqual({ script_id: 'nope', running: false, known: false });
    const stop = await asker.call('request', { topic: 'scripts.nope.stop', payload: null, timeout: 5 });
    expect(stop.error).toMatchObject({ code: ErrorCode.INVALID_PARAMS, data: { key: 'nope', reason: 'unknown_script' } });
  });

  it('a bridge that does not have the script stays silent once another client says it owns it', async () => {
    const { port, asker } = await setup();
    await bridge(port, 'bridge.a', ['saw']);
    // Another owner of "cad": it answers the status request only after bridge.a asked who
    // owns cad and was told. A bridge that answered "unknown" without asking wins the race.
    const owner = await RawClient.connected(port, 'other_bridge');
    cleanups.push(() => owner.close());
    await owner.call('subscribe', { patterns: [ownerTopic('cad'), 'scripts.status'] });
    const asked = asker.call('request', { topic: 'scripts.status', payload: { script_id: 'cad' }, timeout: 5 });
    const status = await owner.waitDelivery('scripts.status');
    const question = await owner.waitDelivery(ownerTopic('cad'));
    await owner.call('reply', { reply_to: question.reply_to, result: true });
    await owner.call('reply', { reply_to: status.reply_to, result: { key: 'cad', mine: true } });
    expect((await asked).result).toEqual({ key: 'cad', mine: true });
  });
});

describe('ScriptRegistry: scripts.run', () => {
  it('only a bridge with script_folders takes scripts.run and answers bridge.run_host', async () => {
    const { port, asker } = await setup();
    await bridge(port, 'bridge.a', ['saw']); // no script_folders
    const none = await asker.call('request', { topic: 'scripts.run', payload: { script_path: 'x.ahk', program_key: 'x' }, timeout: 5 });
    expect(none.error).toMatchObject({ code: ErrorCode.NO_RESPONDERS });
    expect((await asker.call('request', { topic: RUN_HOST_TOPIC, timeout: 5 })).error).toMatchObject({ code: ErrorCode.NO_RESPONDERS });

    const link = new BrokerLink({ host: '127.0.0.1', port, clientId: 'bridge.host', log: silentLogger() });
    cleanups.push(() => link.stop());
    await link.start();
    const host = new ScriptRegistry({ link, log: silentLogger(), scriptFolders: [tmpdir()] });
    await host.serveControl();
    expect((await asker.call('request', { topic: RUN_HOST_TOPIC, timeout: 5 })).result).toEqual({ script_folders: 1 });
    // The folder-less bridge no longer races the host with a refusal: the host's answer comes.
    const outside = await asker.call('request', { topic: 'scripts.run', payload: { script_path: '/definitely/not/there.ahk', program_key: 'x' }, timeout: 5 });
    expect(outside.error).toMatchObject({ code: ErrorCode.INVALID_PARAMS, data: { reason: 'outside_script_folders' } });
  });
});

describe('ScriptRegistry: a key another bridge supervises', () => {
  const entry = (key: string, file = `${key}.ahk`) => ({ key, path: file, args: [], restart: { ...DEFAULT_RESTART }, encoding: 'utf-8', stopGrace: DEFAULT_STOP_GRACE });

  it('add() asks first and throws KeyTakenError naming the holder; the holder answers who it is', async () => {
    const { port, asker } = await setup();
    await bridge(port, 'bridge.a', ['cad']);
    const owner = await asker.call('request', { topic: ownerTopic('cad'), timeout: 5 });
    expect(owner.result).toEqual({ bridge: 'bridge.a', pid: process.pid, script: 'cad.ahk' });

    const link = new BrokerLink({ host: '127.0.0.1', port, clientId: 'bridge.b', log: silentLogger() });
    cleanups.push(() => link.stop());
    await link.start();
    const registry = new ScriptRegistry({ link, log: silentLogger(), scriptFolders: [] });
    const err = await registry.add(entry('cad', 'other.ahk')).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(KeyTakenError);
    expect(err).toMatchObject({ code: 'key_taken', key: 'cad', holder: { bridge: 'bridge.a', pid: process.pid, script: 'cad.ahk' } });
    expect((err as Error).message).toBe(`key cad is already supervised by bridge bridge.a (pid ${process.pid}, cad.ahk) on this broker`);
    expect(registry.get('cad')).toBeUndefined();
    await expect(registry.addAll([entry('saw'), entry('cad')])).rejects.toMatchObject({ code: 'key_taken', key: 'cad' });
    expect(registry.list()).toEqual([]);
    // A free key is added.
    expect((await registry.add(entry('saw'))).spec.key).toBe('saw');
  });

  it('an owner that answers only `true` (an older bridge) still holds the key', async () => {
    const { port } = await setup();
    const owner = await RawClient.connected(port, 'old_bridge');
    cleanups.push(() => owner.close());
    await owner.call('subscribe', { patterns: [ownerTopic('cad')] });
    const link = new BrokerLink({ host: '127.0.0.1', port, clientId: 'bridge.b', log: silentLogger() });
    cleanups.push(() => link.stop());
    await link.start();
    const registry = new ScriptRegistry({ link, log: silentLogger(), scriptFolders: [] });
    const added = registry.add(entry('cad')).catch((e: unknown) => e);
    const question = await owner.waitDelivery(ownerTopic('cad'));
    await owner.call('reply', { reply_to: question.reply_to, result: true });
    const err = await added;
    expect(err).toMatchObject({ code: 'key_taken', holder: {} });
    expect((err as Error).message).toBe('key cad is already supervised by another bridge on this broker');
  });

  it('scripts.run for a key another bridge supervises is -32602 with reason key_taken', async () => {
    const { port, asker } = await setup();
    await bridge(port, 'bridge.a', ['cad']);
    const folder = tempDir('registry-run-');
    const file = path.join(folder, 'other.ahk');
    writeFileSync(file, '; nothing\n');
    const link = new BrokerLink({ host: '127.0.0.1', port, clientId: 'bridge.host', log: silentLogger() });
    cleanups.push(() => link.stop());
    await link.start();
    const host = new ScriptRegistry({ link, log: silentLogger(), scriptFolders: [folder] });
    await host.serveControl();
    const res = await asker.call('request', { topic: 'scripts.run', payload: { script_path: file, program_key: 'cad' }, timeout: 5 });
    expect(res.error).toMatchObject({
      code: ErrorCode.INVALID_PARAMS,
      message: `Invalid params: key cad is already supervised by bridge bridge.a (pid ${process.pid}, cad.ahk) on this broker; choose another program_key`,
      data: { program_key: 'cad', reason: 'key_taken', holder: { bridge: 'bridge.a', pid: process.pid, script: 'cad.ahk' } },
    });
    expect(host.list()).toEqual([]);
  });
});

describe('ScriptRegistry: a script that floods its output', () => {
  it('is read no faster than the broker answers: the link never has more than a few thousand publishes waiting', async () => {
    const { port, asker } = await setup();
    await asker.call('subscribe', { patterns: ['scripts.flood.#'] });
    const link = new BrokerLink({ host: '127.0.0.1', port, clientId: 'bridge', log: silentLogger() });
    cleanups.push(() => link.stop());
    await link.start();
    const registry = new ScriptRegistry({ link, log: silentLogger(), scriptFolders: [] });
    cleanups.push(() => registry.stopAll());
    const script = path.join(tempDir('flood-'), 'flood.ahk');
    writeFileSync(script, `;@fake flood ${FLOOD_LINES}\n`);
    const supervisor = await registry.add({ key: 'flood', path: script, args: [], interpreter: FAKE_AHK, restart: { ...DEFAULT_RESTART, mode: 'never' }, encoding: 'utf-8', stopGrace: DEFAULT_STOP_GRACE });
    // Sampled between the loop's turns: the link publishes a whole read of the pipe in one.
    let mostPending = 0;
    const sampler = setInterval(() => (mostPending = Math.max(mostPending, link.pendingPublishes)), 1);
    cleanups.push(() => clearInterval(sampler));
    await supervisor.start();
    await asker.waitDelivery('scripts.flood.stopped', () => true, 60_000);
    expect(asker.deliveries('scripts.flood.flood')).toHaveLength(FLOOD_LINES);
    expect(mostPending).toBeLessThan(10_000);
  }, 90_000);
});
