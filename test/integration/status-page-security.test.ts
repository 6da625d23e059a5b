/**
 * Who may use the status page: sign-in with the broker's token (form, one-time ?token=,
 * Bearer), no cross-origin state changes, no DNS-rebinding reads, and no listener beyond
 * loopback unless a host is given (and then only with a token). Real HTTP, real broker.
 */
import http from 'node:http';
import net from 'node:net';
import os from 'node:os';
import { describe, expect, it } from 'vitest';
import { ConfigError } from '../../src/broker/index.js';
import { Logger } from '../../src/log/logger.js';
import { StatusPage } from '../../bridge/status-page/status-page.js';
import { UNDER_WINE } from '../helpers/platform.js';
import { useStatusPage } from '../helpers/status-page-bed.js';
import { useTestBed } from '../helpers/test-bed.js';

const TOKEN = 's3cret-token';
const bed = useTestBed();
const startPage = useStatusPage(bed);

/** A raw request: fetch() will not send a forged Host header. */
function raw(port: number, opts: { path?: string; method?: string; headers?: Record<string, string>; body?: string }): Promise<{ status: number; headers: http.IncomingHttpHeaders; body: string }> {
  return new Promise((resolve, reject) => {
    const req = http.request({ host: '127.0.0.1', port, path: opts.path ?? '/', method: opts.method ?? 'GET', headers: opts.headers }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => (body += c));
      res.on('end', () => resolve({ status: res.statusCode!, headers: res.headers, body }));
    });
    req.on('error', reject);
    req.end(opts.body);
  });
}

const errorCode = (body: string): string => (JSON.parse(body) as { error: { code: string } }).error.code;
const cookieOf = (setCookie: string[] | undefined): string => setCookie![0]!.split(';')[0]!;

describe('with a broker token', () => {
  it('the API refuses a missing or wrong token with 401, and takes the right one as Bearer', async () => {
    const p = await startPage({ token: TOKEN });
    const attempts: Record<string, string>[] = [{}, { Authorization: 'Bearer wrong' }, { Authorization: `Basic ${Buffer.from(`x:${TOKEN}`).toString('base64')}` }];
    for (const headers of attempts) {
      for (const path of ['/api/broker', '/api/clients', '/api/scripts', '/metrics', '/api/live']) {
        const res = await raw(p.page.port, { path, headers });
        expect(res.status, `${path} ${JSON.stringify(headers)}`).toBe(401);
        expect(errorCode(res.body)).toBe('unauthorized');
        expect(res.headers['www-authenticate']).toBe('Bearer realm="ahk-bridge"');
      }
    }
    const ok = await raw(p.page.port, { path: '/api/broker', headers: { Authorization: `Bearer ${TOKEN}` } });
    expect(ok.status).toBe(200);
    expect(JSON.parse(ok.body)).toMatchObject({ port: p.broker.port });
  });

  it('the page sends a browser to the sign-in form; a wrong token goes back to it, the right one sets a session cookie', async () => {
    const p = await startPage({ token: TOKEN });
    const home = await raw(p.page.port, { path: '/' });
    expect(home.status).toBe(303);
    expect(home.headers.location).toBe('/login');
    const wrong = await raw(p.page.port, { path: '/login', method: 'POST', headers: { 'Content-Type': 'application/x-www-form-urlencoded' }, body: 'token=nope' });
    expect(wrong.status).toBe(303);
    expect(wrong.headers.location).toBe('/login?failed=1#failed');
    expect(wrong.headers['set-cookie']).toBeUndefined();
    const right = await raw(p.page.port, { path: '/login', method: 'POST', headers: { 'Content-Type': 'application/x-www-form-urlencoded' }, body: `token=${encodeURIComponent(TOKEN)}` });
    expect(right.status).toBe(303);
    expect(right.headers.location).toBe('/');
    const setCookie = right.headers['set-cookie']![0]!;
    expect(setCookie).toMatch(new RegExp(`^bridge_session_${p.page.port}=[A-Za-z0-9_-]{32}; Path=/; HttpOnly; SameSite=Strict; Max-Age=\\d+$`));
    const api = await raw(p.page.port, { path: '/api/clients', headers: { Cookie: cookieOf(right.headers['set-cookie']) } });
    expect(api.status).toBe(200);
    // A made-up session, or one of another port's page, is no sign-in.
    const forged = await raw(p.page.port, { path: '/api/clients', headers: { Cookie: `bridge_session_${p.page.port}=${'A'.repeat(32)}` } });
    expect(forged.status).toBe(401);
    const otherPort = await raw(p.page.port, { path: '/api/clients', headers: { Cookie: cookieOf(right.headers['set-cookie']).replace(String(p.page.port), '1') } });
    expect(otherPort.status).toBe(401);
  });

  it('?token= once signs in and redirects to the same address without the token', async () => {
    const p = await startPage({ token: TOKEN });
    const res = await raw(p.page.port, { path: `/api/topics?token=${TOKEN}&x=1` });
    expect(res.status).toBe(303);
    expect(res.headers.location).toBe('/api/topics?x=1');
    const after = await raw(p.page.port, { path: '/api/topics?x=1', headers: { Cookie: cookieOf(res.headers['set-cookie']) } });
    expect(after.status).toBe(200);
    const wrong = await raw(p.page.port, { path: '/?token=nope' });
    expect(wrong.status).toBe(303);
    expect(wrong.headers.location).toBe('/login');
    expect(wrong.headers['set-cookie']).toBeUndefined();
  });

  it('a wrong token is logged at WARNING, at most once per address every 10 s', async () => {
    const lines: string[] = [];
    const b = await bed.broker({ token: TOKEN });
    const log = new Logger({ level: 'info', component: 'http', sink: { write: (line: string) => lines.push(line) } });
    const page = new StatusPage({ broker: b.broker, setting: { host: null, port: 0 }, log });
    await page.start();
    try {
      for (let i = 0; i < 3; i++) await raw(page.port, { path: '/api/broker', headers: {} }).then(() => raw(page.port, { path: '/?token=bad' }));
      expect(lines.filter((l) => /WARNING .*status page: wrong token .*remote=127\.0\.0\.1/.test(l))).toHaveLength(1);
      expect(lines.join('\n')).not.toContain('bad');
    } finally {
      await page.stop();
    }
  });
});

describe('state changes', () => {
  it('refuses a cross-origin POST (403), and a form-encoded one (415), even when signed in', async () => {
    const p = await startPage({ token: TOKEN });
    const auth = { Authorization: `Bearer ${TOKEN}` };
    const own = `http://127.0.0.1:${p.page.port}`;
    for (const origin of ['http://evil.example', 'null', `http://127.0.0.1:${p.page.port + 1}`, `https://127.0.0.1:${p.page.port}`]) {
      const res = await raw(p.page.port, { path: '/api/scripts/cad/stop', method: 'POST', headers: { ...auth, Origin: origin, 'Content-Type': 'application/json' }, body: '{}' });
      expect(res.status, origin).toBe(403);
      expect(errorCode(res.body)).toBe('cross_origin');
    }
    for (const type of ['application/x-www-form-urlencoded', 'text/plain', 'multipart/form-data; boundary=x']) {
      const res = await raw(p.page.port, { path: '/api/scripts/cad/stop', method: 'POST', headers: { ...auth, Origin: own, 'Content-Type': type }, body: '{}' });
      expect(res.status, type).toBe(415);
      expect(errorCode(res.body)).toBe('unsupported_media_type');
    }
    // The page's own origin with JSON passes the gate (then: no such script here).
    const same = await raw(p.page.port, { path: '/api/scripts/cad/stop', method: 'POST', headers: { ...auth, Origin: own, 'Content-Type': 'application/json' }, body: '{}' });
    expect(same.status).toBe(404);
    expect(errorCode(same.body)).toBe('unknown_script');
  });
});

describe('where it listens', () => {
  it('on loopback, a request under another host name is refused (421): no DNS rebinding', async () => {
    const p = await startPage();
    const evil = await raw(p.page.port, { path: '/api/broker', headers: { Host: `evil.example:${p.page.port}` } });
    expect(evil.status).toBe(421);
    expect(errorCode(evil.body)).toBe('misdirected_host');
    for (const host of [`localhost:${p.page.port}`, `127.0.0.1:${p.page.port}`, `[::1]:${p.page.port}`]) {
      expect((await raw(p.page.port, { path: '/api/broker', headers: { Host: host } })).status, host).toBe(200);
    }
  });

  it('stays on loopback when the broker listens on every interface but no http host is given', async () => {
    const p = await startPage({ host: '0.0.0.0', token: TOKEN });
    expect(p.page.url).toBe(`http://127.0.0.1:${p.page.port}/`);
    // Wine's uv_interface_addresses fails (os.networkInterfaces throws there): no LAN address to try.
    const lan = UNDER_WINE
      ? undefined
      : Object.values(os.networkInterfaces())
          .flat()
          .find((i) => i && i.family === 'IPv4' && !i.internal);
    if (lan) {
      const refused = await new Promise<string>((resolve) => {
        const sock = net.connect(p.page.port, lan.address);
        sock.once('connect', () => {
          sock.destroy();
          resolve('connected');
        });
        sock.once('error', (e: NodeJS.ErrnoException) => resolve(e.code ?? 'error'));
      });
      expect(refused).toBe('ECONNREFUSED');
    }
  });

  it('refuses a host beyond loopback when the broker has no token, naming the fix', async () => {
    const b = await bed.broker();
    const page = new StatusPage({ broker: b.broker, setting: { host: '0.0.0.0', port: 0 }, log: new Logger({ level: 'silent' }) });
    const err = await page.start().then(
      () => null,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(ConfigError);
    expect((err as Error).message).toMatch(/would let anyone on the network see and stop your scripts: set the broker's "token"/);
  });

  it('with an explicit host and a token it listens there, and the Host check is off', async () => {
    const p = await startPage({ token: TOKEN }, { host: '0.0.0.0' });
    const res = await raw(p.page.port, { path: '/api/broker', headers: { Host: `shop-pc.local:${p.page.port}`, Authorization: `Bearer ${TOKEN}` } });
    expect(res.status).toBe(200);
  });
});
