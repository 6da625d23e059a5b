/**
 * Credentials and TLS towards a NATS upstream, against a real nats-server: a user and
 * password (in the URL or as settings) and a server certificate checked against the CA
 * the setting names. Wrong ones leave the broker working locally, its federation down,
 * and never show a secret.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseFederationSetting, type FederationStatus } from '../../src/broker/index.js';
import { useNatsServers } from '../helpers/nats-server.js';
import type { RawClient } from '../helpers/raw-client.js';
import { makeCerts } from '../helpers/test-certs.js';
import { loggedBroker, useTestBed, type LogLine } from '../helpers/test-bed.js';

const nats = useNatsServers();
const bed = useTestBed();
const WAIT = { timeout: 15_000, interval: 50 };
/** A refused link dials again after up to 15 s (nats-link.ts): room for that and a slow machine. */
const SLOW_WAIT = { timeout: 40_000, interval: 100 };

async function federationOf(c: RawClient): Promise<FederationStatus> {
  return (await c.call('status')).result.federation as FederationStatus;
}

/** A broker federated with `fed`, and a client on it that subscribes to jobs.#. */
async function broker(name: string, fed: Record<string, unknown>): Promise<RawClient> {
  return (await loggingBroker(name, fed)).client;
}

/** {@link broker}, with the broker's log. */
async function loggingBroker(name: string, fed: Record<string, unknown>): Promise<{ client: RawClient; logs: LogLine[] }> {
  const { port, logs } = await loggedBroker(bed, { federation: parseFederationSetting(fed, 'test') });
  const client = await bed.connected(port, name);
  await client.call('subscribe', { patterns: ['jobs.#'] });
  return { client, logs };
}

const warningsOf = (logs: LogLine[], text: string): LogLine[] => logs.filter((l) => l.level === 'warning' && String(l.msg).includes(text));

describe('federation through NATS: credentials and TLS', () => {
  it('a user and password, in the URL or as settings, connect; a wrong password stays down; no secret is shown', async () => {
    const server = await nats.start({ args: ['--user', 'shop', '--pass', 's3cret'] });
    const inUrl = await broker('in-url', { upstream: `nats://shop:s3cret@127.0.0.1:${server.port}` });
    const asSettings = await broker('as-settings', { upstream: server.url, user: 'shop', pass: 's3cret' });
    const wrong = await broker('wrong', { upstream: `nats://shop:nope@127.0.0.1:${server.port}` });
    await expect.poll(async () => (await federationOf(inUrl)).state, WAIT).toBe('up');
    await expect.poll(async () => (await federationOf(asSettings)).state, WAIT).toBe('up');
    // Across, with credentials on both sides.
    await expect.poll(async () => (await federationOf(asSettings)).subscribed, WAIT).toEqual(['jobs.#']);
    await inUrl.call('publish', { topic: 'jobs.x', payload: 1, qos: 1 });
    expect(await asSettings.waitDelivery('jobs.x')).toMatchObject({ payload: 1, sender: 'in-url' });
    await expect.poll(async () => (await federationOf(wrong)).state, WAIT).toBe('down');
    const shown = JSON.stringify([await federationOf(inUrl), await federationOf(wrong)]);
    expect(shown).not.toContain('s3cret');
    expect(shown).not.toContain('nope');
  });

  it('a link the server refused at its start comes up once the account is fixed, without restarting the broker', async () => {
    const first = await nats.start({ args: ['--user', 'shop', '--pass', 'old'] });
    const { client: a, logs } = await loggingBroker('refused-a', { upstream: first.url, user: 'shop', pass: 'new' });
    await expect.poll(async () => (await federationOf(a)).state, SLOW_WAIT).toBe('down');
    // Said once, for the operator to act on, with the wait before the next try; no secret.
    await expect.poll(() => warningsOf(logs, 'cannot connect to the NATS upstream').length, SLOW_WAIT).toBe(1);
    const warned = warningsOf(logs, 'cannot connect to the NATS upstream')[0]!;
    expect(warned).toMatchObject({ upstream: `nats://127.0.0.1:${first.port}`, retry_in_ms: 1000 });
    expect(JSON.stringify(warned)).not.toContain('new');
    // The account is changed on the server (here: the server restarted with it).
    await first.kill();
    const fixed = await nats.start({ port: first.port, monitorPort: first.monitorPort, args: ['--user', 'shop', '--pass', 'new'] });
    await expect.poll(async () => (await federationOf(a)).state, SLOW_WAIT).toBe('up');
    const b = await broker('refused-b', { upstream: fixed.url, user: 'shop', pass: 'new' });
    await expect.poll(async () => (await federationOf(a)).subscribed, SLOW_WAIT).toEqual(['jobs.#']);
    await expect.poll(async () => (await federationOf(b)).subscribed, SLOW_WAIT).toEqual(['jobs.#']);
    await a.call('publish', { topic: 'jobs.from-a', payload: 1, qos: 1 });
    expect(await b.waitDelivery('jobs.from-a')).toMatchObject({ payload: 1, sender: 'refused-a' });
    await b.call('publish', { topic: 'jobs.from-b', payload: 2, qos: 1 });
    expect(await a.waitDelivery('jobs.from-b')).toMatchObject({ payload: 2, sender: 'refused-b' });
  }, 120_000);

  it('a link whose server later refuses the credentials comes back with its subscriptions once they are accepted again', async () => {
    const server = await nats.start({ args: ['--user', 'shop', '--pass', 's3cret'] });
    const { client: a, logs } = await loggingBroker('later-a', { upstream: server.url, user: 'shop', pass: 's3cret' });
    const b = await broker('later-b', { upstream: server.url, user: 'shop', pass: 's3cret' });
    await expect.poll(async () => (await federationOf(a)).subscribed, SLOW_WAIT).toEqual(['jobs.#']);
    await expect.poll(async () => (await federationOf(b)).subscribed, SLOW_WAIT).toEqual(['jobs.#']);
    // The server comes back with another password: the client gives up on its own.
    await server.kill();
    const refusing = await nats.start({ port: server.port, monitorPort: server.monitorPort, args: ['--user', 'shop', '--pass', 'changed'] });
    await expect.poll(async () => (await federationOf(a)).state, SLOW_WAIT).toBe('down');
    await expect.poll(async () => refusing.output, SLOW_WAIT).toMatch(/authentication error/);
    // The client library gives up after two refusals in a row; the link dials again itself.
    await expect.poll(() => warningsOf(logs, 'the NATS upstream ended the link').length, SLOW_WAIT).toBe(1);
    // Published while the link is down: waits in the outbox.
    await a.call('publish', { topic: 'jobs.while-down', payload: 'kept', qos: 1 });
    await refusing.kill();
    const back = await nats.start({ port: server.port, monitorPort: server.monitorPort, args: ['--user', 'shop', '--pass', 's3cret'] });
    await expect.poll(async () => (await federationOf(a)).state, SLOW_WAIT).toBe('up');
    await expect.poll(async () => (await federationOf(b)).state, SLOW_WAIT).toBe('up');
    await expect.poll(async () => (await back.subjectsOf((await federationOf(a)).origin_id)) ?? [], SLOW_WAIT).toEqual(['jobs', 'jobs.>']);
    await expect.poll(async () => (await back.subjectsOf((await federationOf(b)).origin_id)) ?? [], SLOW_WAIT).toEqual(['jobs', 'jobs.>']);
    expect(await b.waitDelivery('jobs.while-down')).toMatchObject({ payload: 'kept', sender: 'later-a' });
    await b.call('publish', { topic: 'jobs.after', payload: 3, qos: 1 });
    expect(await a.waitDelivery('jobs.after')).toMatchObject({ payload: 3, sender: 'later-b' });
  }, 120_000);

  it('a subscription the server refuses (no permission) is listed in the interest, never as subscribed', async () => {
    const conf = join(bed.tempDir('nats-perms-'), 'server.conf');
    writeFileSync(
      conf,
      'authorization { users = [ { user: shop, password: s3cret, permissions: { publish: ">", subscribe: { allow: ["jobs", "jobs.>", "_INBOX.>"] } } } ] }\n',
    );
    const server = await nats.start({ args: ['-c', conf] });
    const b = await bed.broker({ federation: parseFederationSetting({ upstream: server.url, user: 'shop', pass: 's3cret' }, 'test') });
    const c = await bed.connected(b.port, 'saw-pc');
    await expect.poll(async () => (await federationOf(c)).state, WAIT).toBe('up');
    // One subscribe: both subjects' SUBs go before one flush, so when jobs.# is in, secret.# was decided.
    await c.call('subscribe', { patterns: ['jobs.#', 'secret.#'] });
    await expect.poll(async () => (await federationOf(c)).subscribed, WAIT).toEqual(['jobs.#']);
    expect((await federationOf(c)).interest).toEqual(['jobs.#', 'secret.#']);
  });

  it('TLS: the server certificate is checked against the CA the setting names; another CA stays down', async () => {
    const dir = bed.tempDir('nats-tls-');
    const good = makeCerts(dir, 'good');
    const other = makeCerts(dir, 'other');
    const server = await nats.start({ args: ['--tls', '--tlscert', good.cert, '--tlskey', good.key] });
    const a = await broker('tls-a', { upstream: `tls://127.0.0.1:${server.port}`, tls: { ca: good.ca } });
    const b = await broker('tls-b', { upstream: `nats://127.0.0.1:${server.port}`, tls: { ca: good.ca } });
    const untrusting = await broker('tls-other', { upstream: `tls://127.0.0.1:${server.port}`, tls: { ca: other.ca } });
    await expect.poll(async () => (await federationOf(a)).state, WAIT).toBe('up');
    await expect.poll(async () => (await federationOf(b)).subscribed, WAIT).toEqual(['jobs.#']);
    await expect.poll(async () => (await federationOf(b)).state, WAIT).toBe('up');
    await a.call('publish', { topic: 'jobs.secure', payload: { ok: true }, qos: 1 });
    expect(await b.waitDelivery('jobs.secure')).toMatchObject({ payload: { ok: true } });
    await expect.poll(async () => (await federationOf(untrusting)).state, WAIT).toBe('down');
  });
});
