/**
 * The pure parts of the status page's access rules: reading the `Host` header's name, the
 * token comparison, and the session cookie's name and attributes. The gate's decisions on
 * real requests are tested through the real server (test/integration/status-page-*).
 */
import { describe, expect, it } from 'vitest';
import { AccessGate, hostName } from '../../bridge/status-page/access.js';
import { Logger } from '../../src/log/logger.js';

const log = new Logger({ level: 'silent', component: 'http' });
const gate = (token: string | null, port = 15235): AccessGate => new AccessGate({ token, loopbackOnly: true, port, log });

describe('hostName', () => {
  it.each([
    [undefined, ''],
    ['', ''],
    ['localhost', 'localhost'],
    ['localhost:15235', 'localhost'],
    ['LocalHost:15235', 'localhost'],
    [' localhost:80 ', 'localhost'],
    ['127.0.0.1', '127.0.0.1'],
    ['127.0.0.1:8080', '127.0.0.1'],
    ['[::1]', '[::1]'],
    ['[::1]:8080', '[::1]'],
    ['[::1]:', '[::1]'],
    ['[0:0:0:0:0:0:0:1]:8080', '[0:0:0:0:0:0:0:1]'],
    ['evil.example', 'evil.example'],
    ['evil.example:15235', 'evil.example'],
    ['localhost.evil.example:15235', 'localhost.evil.example'],
  ])('%j is %j', (header, name) => {
    expect(hostName(header)).toBe(name);
  });

  it.each([
    ['an unclosed bracket', '[::1'],
    ['a name after the brackets', '[::1]evil.example'],
    ['a name after the brackets and a port', '[::1]:80.evil.example'],
  ])('a malformed IPv6 Host (%s) is no loopback name', (_what, header) => {
    expect(['[::1]', '::1', 'localhost', '127.0.0.1']).not.toContain(hostName(header));
  });
});

describe('AccessGate.tokenMatches', () => {
  it('accepts exactly the token', () => {
    const g = gate('s3cret');
    expect(g.required).toBe(true);
    expect(g.tokenMatches('s3cret')).toBe(true);
    expect(g.tokenMatches('s3cre')).toBe(false);
    expect(g.tokenMatches('s3cret ')).toBe(false);
    expect(g.tokenMatches('S3CRET')).toBe(false);
    expect(g.tokenMatches('')).toBe(false);
  });

  it('refuses anything that is not a string', () => {
    const g = gate('s3cret');
    for (const v of [undefined, null, 123, ['s3cret'], { token: 's3cret' }]) expect(g.tokenMatches(v)).toBe(false);
  });

  it('without a token nothing matches, and no sign-in is required', () => {
    const g = gate(null);
    expect(g.required).toBe(false);
    for (const v of ['', 'null', 'undefined', null, undefined]) expect(g.tokenMatches(v)).toBe(false);
  });
});

describe('AccessGate.signIn', () => {
  it('sets an HttpOnly, SameSite=Strict session cookie for the whole site, named after the port', () => {
    const cookie = gate('s3cret', 15300).signIn();
    const [pair, ...attrs] = cookie.split('; ');
    expect(pair).toMatch(/^bridge_session_15300=[A-Za-z0-9_-]{32}$/);
    expect(attrs).toContain('HttpOnly');
    expect(attrs).toContain('SameSite=Strict');
    expect(attrs).toContain('Path=/');
    // A week, in seconds; no Domain, so the cookie stays with this host.
    expect(attrs).toContain(`Max-Age=${7 * 24 * 3600}`);
    expect(attrs.some((a) => /^domain=/i.test(a))).toBe(false);
    expect(gate('s3cret', 15300).cookieName).toBe('bridge_session_15300');
  });

  it('pages on other ports keep their own cookies', () => {
    expect(gate('s3cret', 15235).cookieName).not.toBe(gate('s3cret', 15236).cookieName);
  });

  it('gives each sign-in its own unguessable id', () => {
    const g = gate('s3cret');
    const ids = new Set(Array.from({ length: 50 }, () => g.signIn().split(';')[0]!.split('=')[1]));
    expect(ids.size).toBe(50);
  });
});
