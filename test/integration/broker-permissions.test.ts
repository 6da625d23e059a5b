/**
 * Who may do what, over real TCP against a real broker: per-client credentials, topic
 * permissions for publish, subscribe and request (allow and deny lists, wildcards), the
 * bridge's control topics as ordinary topics under those rules, delivery filtering
 * (retained and requests included), anonymous clients, and secrets kept out of logs.
 */
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import type { BrokerConfig } from '../../src/broker/index.js';
import { Logger } from '../../src/log/logger.js';
import { roundTrip, subscribe, useTestBed } from '../helpers/test-bed.js';
import type { Frame, RawClient } from '../helpers/raw-client.js';

const { broker, open, connected } = useTestBed();

const SECRETS = { job_manager: 'jm-secret-7f3a', ahk_manager: 'am-secret-91c2', cad: 'cad-secret-0d4e', shared: 'shared-token-55aa' };
const sha256 = (s: string): string => createHash('sha256').update(s).digest('hex');

/** A shop: the job manager, the script manager that drives scripts, and the CAD scripts. */
const SHOP: Partial<BrokerConfig> = {
  clients: [
    {
      id: 'job_manager',
      secret: SECRETS.job_manager,
      publish: ['jobs.#'],
      subscribe: ['jobs.#', 'scripts.+.started', 'scripts.+.stopped', 'system.client.#'],
      request: ['scripts.status', 'status'],
    },
    { id: 'ahk_manager', secret: SECRETS.ahk_manager },
    {
      id: 'cad_*',
      secret: `sha256:${sha256(SECRETS.cad)}`,
      publish: { allow: ['cad.#', 'scripts.#'], deny: ['scripts.+.command.#', 'scripts.run', 'scripts.+.start', 'scripts.+.stop', 'scripts.+.restart'] },
      subscribe: { allow: ['#'], deny: ['scripts.+.command.#', 'secret.#'] },
      request: [],
    },
  ],
};

/** Capture the broker's log lines (warning and up) to check what they say and never say. */
function capture(): { logger: Logger; lines: string[] } {
  const lines: string[] = [];
  return { lines, logger: new Logger({ level: 'info', component: 'broker', sink: { write: (l: string) => lines.push(l) } }) };
}

async function shop(extra: Partial<BrokerConfig> = {}): Promise<{ port: number; lines: string[]; as: (id: string, secret: string) => Promise<RawClient> }> {
  const { logger, lines } = capture();
  const { port } = await broker({ ...SHOP, ...extra }, { logger });
  return { port, lines, as: (id, secret) => connected(port, id, { token: secret }) };
}

const denied = (code: number, rule: string) => ({ error: expect.objectContaining({ code, data: expect.objectContaining({ rule }) }) });

describe('publish permissions', () => {
  it('refuses a topic outside the allow list with -32004 naming the rule; allows the rest', async () => {
    const { as } = await shop();
    const jm = await as('job_manager', SECRETS.job_manager);
    expect((await jm.call('publish', { topic: 'jobs.activated', payload: { job_id: '1' } })).result).toMatchObject({ delivered: 0 });
    const res = await jm.call('publish', { topic: 'cad.status', payload: 1 });
    expect(res).toMatchObject(denied(-32004, 'publish.allow'));
    expect(res.error.data).toEqual({ topic: 'cad.status', rule: 'publish.allow', identity: 'job_manager' });
    expect(res.error.message).toContain('job_manager may not publish on "cad.status"');
  });

  it('a deny entry wins over allow, with wildcards in the permission (scripts.+.command.#)', async () => {
    const { as } = await shop();
    const cad = await as('cad_lathe', SECRETS.cad);
    expect((await cad.call('publish', { topic: 'scripts.lathe.status', payload: 'idle' })).result).toBeDefined();
    for (const topic of ['scripts.lathe.command.exit', 'scripts.saw.command.cut.fast']) {
      expect(await cad.call('publish', { topic, payload: null })).toMatchObject(denied(-32004, 'publish.deny scripts.+.command.#'));
    }
  });

  it('a denied publish sent as a notification is dropped: no subscriber sees it', async () => {
    const { as } = await shop();
    const am = await as('ahk_manager', SECRETS.ahk_manager);
    await subscribe(am, 'cad.#', 'jobs.#');
    const jm = await as('job_manager', SECRETS.job_manager);
    jm.notify('publish', { topic: 'cad.spoofed', payload: 1 });
    jm.notify('publish', { topic: 'jobs.real', payload: 2 });
    await am.waitDelivery('jobs.real');
    expect(am.deliveries('cad.spoofed')).toEqual([]);
  });
});

describe('the bridge control topics are ordinary topics under these rules', () => {
  const CONTROL = ['scripts.run', 'scripts.saw.start', 'scripts.saw.stop', 'scripts.saw.restart', 'scripts.saw.command.cut', 'scripts.saw.command.exit'];

  it('a client without permission is refused every control topic, by publish and by request; the bridge sees none', async () => {
    const { as } = await shop();
    const bridge = await as('ahk_manager', SECRETS.ahk_manager);
    await subscribe(bridge, 'scripts.#');
    const jm = await as('job_manager', SECRETS.job_manager);
    const cad = await as('cad_mill', SECRETS.cad);
    for (const topic of CONTROL) {
      expect(await jm.call('publish', { topic, payload: {} }), `job_manager publish ${topic}`).toMatchObject(denied(-32004, 'publish.allow'));
      expect(await jm.call('request', { topic, payload: {}, timeout: 1 }), `job_manager request ${topic}`).toMatchObject(denied(-32004, 'request.allow'));
      const viaCad = await cad.call('publish', { topic, payload: {} });
      expect(viaCad.error?.code, `cad_mill publish ${topic}`).toBe(-32004);
      expect(viaCad.error.data.rule, `cad_mill publish ${topic}`).toMatch(/^publish\.deny /);
      expect(await cad.call('request', { topic, payload: {}, timeout: 1 }), `cad_mill request ${topic}`).toMatchObject(denied(-32004, 'request.allow'));
    }
    await roundTrip(bridge);
    expect(bridge.deliveries()).toEqual([]);
  });

  it('the one client allowed to drive scripts does: its commands reach the bridge', async () => {
    const { as } = await shop({ token: SECRETS.shared });
    const bridge = await as('bridge-saw', SECRETS.shared);
    await subscribe(bridge, 'scripts.saw.command.#');
    const am = await as('ahk_manager', SECRETS.ahk_manager);
    expect((await am.call('publish', { topic: 'scripts.saw.command.cut', payload: { mm: 12 } })).result.delivered).toBe(1);
    expect((await bridge.waitDelivery('scripts.saw.command.cut')).payload).toEqual({ mm: 12 });
  });
});

describe('request permissions', () => {
  it('allows a listed topic (including a topic the broker answers) and refuses others', async () => {
    const { as } = await shop();
    const jm = await as('job_manager', SECRETS.job_manager);
    expect((await jm.call('request', { topic: 'status' })).result.version).toBeTypeOf('string');
    expect(await jm.call('request', { topic: 'subscriptions' })).toMatchObject(denied(-32004, 'request.allow'));
    const cad = await as('cad_mill', SECRETS.cad);
    expect(await cad.call('request', { topic: 'status' })).toMatchObject(denied(-32004, 'request.allow'));
  });

  it('never delivers a request to a responder whose subscribe permission excludes the topic', async () => {
    const { as } = await shop();
    const cad = await as('cad_mill', SECRETS.cad);
    await subscribe(cad, '#'); // overlaps its deny list: accepted, filtered
    const am = await as('ahk_manager', SECRETS.ahk_manager);
    const res = await am.call('request', { topic: 'scripts.mill.command.go', payload: 1, timeout: 1 });
    expect(res.error.code).toBe(-32005);
    await roundTrip(cad);
    expect(cad.deliveries('scripts.mill.command.go')).toEqual([]);
  });
});

describe('subscribe permissions', () => {
  it('refuses a pattern no allow entry covers, and one a deny entry covers, with -32003 naming each', async () => {
    const { as } = await shop();
    const jm = await as('job_manager', SECRETS.job_manager);
    const wide = await jm.call('subscribe', { patterns: ['jobs.#', '#', 'scripts.*'] });
    expect(wide.error.code).toBe(-32003);
    expect(wide.error.data.denied).toEqual([
      { pattern: '#', rule: 'subscribe.allow' },
      { pattern: 'scripts.*', rule: 'subscribe.allow' },
    ]);
    expect(wide.error.message).toContain('"#" (subscribe.allow)');
    // All or nothing: jobs.# was not subscribed either.
    expect((await jm.call('subscriptions')).result.patterns).toEqual([]);
    await subscribe(jm, 'jobs.#', 'scripts.saw.started');
    const cad = await as('cad_mill', SECRETS.cad);
    expect(await cad.call('subscribe', { patterns: ['secret.#'] })).toMatchObject({
      error: expect.objectContaining({ code: -32003, data: expect.objectContaining({ denied: [{ pattern: 'secret.#', rule: 'subscribe.deny secret.#' }] }) }),
    });
    expect((await cad.call('subscribe', { patterns: ['scripts.+.command.#'] })).error.data.denied[0].rule).toBe('subscribe.deny scripts.+.command.#');
  });

  it('names five long denied patterns by their start and counts the rest; data.denied lists all as sent', async () => {
    const { as } = await shop();
    const cad = await as('cad_mill', SECRETS.cad);
    const patterns = Array.from({ length: 7 }, (_, i) => `secret.${String(i).repeat(60_000)}`);
    const res = await cad.call('subscribe', { patterns });
    expect(res.error.code).toBe(-32003);
    expect(res.error.data.denied).toEqual(patterns.map((pattern) => ({ pattern, rule: 'subscribe.deny secret.#' })));
    const named = patterns.slice(0, 5).map((p) => `"${p.slice(0, 100)}..." (60007 characters) (subscribe.deny secret.#)`);
    expect(res.error.message).toBe(`Not allowed: cad_* may not subscribe to ${named.join(', ')}, and 2 more`);
  });

  it('filters deliveries outside the permission from a wider pattern, retained messages included', async () => {
    const { as } = await shop();
    const am = await as('ahk_manager', SECRETS.ahk_manager);
    await am.call('publish', { topic: 'secret.plan', payload: 'retained secret', retain: true });
    await am.call('publish', { topic: 'cad.layer', payload: 'retained ok', retain: true });
    const cad = await as('cad_mill', SECRETS.cad);
    await subscribe(cad, '#');
    await cad.waitDelivery('cad.layer', (p) => p.retained === true);
    for (const topic of ['secret.plan', 'scripts.mill.command.go', 'jobs.activated']) am.notify('publish', { topic, payload: topic });
    await cad.waitDelivery('jobs.activated');
    await roundTrip(cad);
    const topics = cad.deliveries().map((d: Frame) => d.topic);
    expect(topics).not.toContain('secret.plan');
    expect(topics).not.toContain('scripts.mill.command.go');
    // The unrestricted client still gets both, live and retained.
    const other = await as('ahk_manager', SECRETS.ahk_manager);
    await subscribe(other, 'secret.#');
    expect((await other.waitDelivery('secret.plan', (p) => p.retained === true)).payload).toBe('retained secret');
  });

  it('does not queue filtered QoS 1 messages for an offline session either', async () => {
    const { port, as } = await shop();
    const cad = await as('cad_mill', SECRETS.cad);
    await subscribe(cad, '#');
    cad.close();
    const am = await as('ahk_manager', SECRETS.ahk_manager);
    expect((await am.call('publish', { topic: 'secret.x', payload: 1, qos: 1 })).result.delivered).toBe(0);
    expect((await am.call('publish', { topic: 'cad.x', payload: 2, qos: 1 })).result.delivered).toBe(1);
    const back = await connected(port, 'cad_mill', { token: SECRETS.cad });
    await back.waitDelivery('cad.x');
    await roundTrip(back);
    expect(back.deliveries().map((d: Frame) => d.topic).filter((t: string) => !t.startsWith('system.'))).toEqual(['cad.x']);
  });
});

describe('credentials', () => {
  it('refuses a listed id with a wrong or missing secret (-32602 invalid_token, closed) and counts it', async () => {
    const { port, lines } = await shop();
    for (const token of ['wrong', SECRETS.cad, undefined, 42]) {
      const c = await open(port);
      const params: Record<string, unknown> = { client_id: 'job_manager' };
      if (token !== undefined) params.token = token;
      expect((await c.call('connect', params)).error).toMatchObject({ code: -32602, data: { reason: 'invalid_token' } });
      await c.waitClosed(3000);
    }
    const admin = await connected(port, 'ahk_manager', { token: SECRETS.ahk_manager });
    const status = (await admin.call('status')).result;
    expect(status.auth_failures).toBe(4);
    // Logged with the remote address, once per interval per address.
    const failures = lines.filter((l) => l.includes('authentication failed'));
    expect(failures).toHaveLength(1);
    expect(failures[0]).toMatch(/WARNING .*remote=127\.0\.0\.1 client_id=job_manager reason=wrong_secret/);
  });

  it("lets the broker process's own clients in with its internal token, made when first asked for", async () => {
    const { logger } = capture();
    const started = await broker({ ...SHOP, token: SECRETS.shared }, { logger });
    const token = started.broker.internalToken;
    expect(token).toMatch(/^[A-Za-z0-9_-]{32}$/);
    expect(started.broker.internalToken, 'one token per broker').toBe(token);
    // Whatever `clients` says: job_manager may not publish on cad.#, its own process may.
    const own = await connected(started.port, 'job_manager', { token });
    expect((await own.call('publish', { topic: 'cad.status', payload: 1 })).result).toMatchObject({ delivered: 0 });
    await connected(started.port, 'status-page', { token });
    const c = await open(started.port);
    expect((await c.call('connect', { client_id: 'status-page', token: token.slice(1) })).error).toMatchObject({ code: -32602 });
  });

  it('matches id patterns and hashed secrets; an unlisted id needs the shared token or is refused', async () => {
    const { port } = await shop({ token: SECRETS.shared });
    expect((await connected(port, 'cad_saw_2', { token: SECRETS.cad })).isClosed).toBe(false);
    const stranger = await open(port);
    expect((await stranger.call('connect', { client_id: 'stranger' })).error).toMatchObject({
      code: -32602,
      message: expect.stringContaining('only clients with credentials'),
    });
    const trusted = await connected(port, 'legacy_tool', { token: SECRETS.shared });
    // A listed id cannot fall back on the shared token.
    const c = await open(port);
    expect((await c.call('connect', { client_id: 'job_manager', token: SECRETS.shared })).error.data.reason).toBe('invalid_token');
    const status = (await trusted.call('status')).result;
    const identities = Object.fromEntries(status.clients.map((s: Frame) => [s.client_id, s.identity]));
    expect(identities).toMatchObject({ cad_saw_2: 'cad_*', legacy_tool: 'token' });
    expect(status.security).toEqual({ credentials: true, anonymous_allowed: false });
  });

  it('anonymous clients, when allowed beside credentials, get anonymous_permissions', async () => {
    const { port } = await shop({ allow_anonymous: true, anonymous_permissions: { publish: { deny: ['scripts.#'] }, request: { deny: ['scripts.#'] } } });
    const anon = await connected(port, 'some_script');
    expect((await anon.call('publish', { topic: 'jobs.x', payload: 1 })).result).toBeDefined();
    expect(await anon.call('publish', { topic: 'scripts.run', payload: {} })).toMatchObject(denied(-32004, 'publish.deny scripts.#'));
    expect(await anon.call('request', { topic: 'scripts.saw.stop' })).toMatchObject(denied(-32004, 'request.deny scripts.#'));
    expect((await anon.call('status')).result.clients[0].identity).toBe('anonymous');
  });

  it('never writes a secret into the log, status or an error message', async () => {
    const { port, lines } = await shop({ token: SECRETS.shared });
    for (const [id, token] of [
      ['job_manager', SECRETS.ahk_manager],
      ['cad_x', SECRETS.shared],
      ['nobody', SECRETS.job_manager],
    ]) {
      const c = await open(port);
      const res = await c.call('connect', { client_id: id, token });
      expect(JSON.stringify(res)).not.toMatch(/secret-|shared-token/);
    }
    const admin = await connected(port, 'ahk_manager', { token: SECRETS.ahk_manager });
    const status = JSON.stringify((await admin.call('status')).result);
    const all = lines.join('\n') + status;
    for (const secret of [...Object.values(SECRETS), sha256(SECRETS.cad)]) expect(all).not.toContain(secret);
    expect(lines.some((l) => l.includes('client connected') && l.includes('identity=ahk_manager'))).toBe(true);
  });

  it("accepts BrokerClient.ahk's connect-with-token frame, byte for byte as the library writes it", async () => {
    const source = readFileSync(new URL('../../scripts/lib/BrokerClient.ahk', import.meta.url), 'utf8');
    const golden = /^; golden-frame: ([0-9a-f]+) (\{.*"token".*\})$/m.exec(source);
    expect(golden, 'BrokerClient.ahk documents a connect frame with a token').not.toBeNull();
    const frame = JSON.parse(golden![2]!);
    expect(frame.params).toMatchObject({ client_id: 'cad_lathe', token: 'cad-secret' });
    const { port } = await broker({ clients: [{ id: 'cad_*', secret: 'cad-secret', publish: ['cad.#'] }] });
    const ahk = await open(port);
    ahk.writeRaw(Buffer.from(golden![1]!, 'hex'));
    expect((await ahk.waitFor((f) => f.id === 1)).result.client_id).toBe('cad_lathe');
    ahk.send({ jsonrpc: '2.0', method: 'publish', params: { topic: 'scripts.run', payload: {} }, id: 'after' });
    expect(await ahk.waitFor((f) => f.id === 'after')).toMatchObject(denied(-32004, 'publish.allow'));
  });
});
