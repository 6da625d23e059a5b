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
import { useTestBed } from '../helpers/test-bed.js';

const nats = useNatsServers();
const bed = useTestBed();
const WAIT = { timeout: 15_000, interval: 50 };

async function federationOf(c: RawClient): Promise<FederationStatus> {
  return (await c.call('status')).result.federation as FederationStatus;
}

/** A broker federated with `fed`, and a client on it that subscribes to jobs.#. */
async function broker(name: string, fed: Record<string, unknown>): Promise<RawClient> {
  const b = await bed.broker({ federation: parseFederationSetting(fed, 'test') });
  const c = await bed.connected(b.port, name);
  await c.call('subscribe', { patterns: ['jobs.#'] });
  return c;
}

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
