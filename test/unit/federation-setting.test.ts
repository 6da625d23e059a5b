/**
 * The `federation` option, from `--upstream URL` and the broker's config: every accepted
 * form, every refusal with the exact message the user reads, and the upstream's address
 * as logs and `status` show it (never with credentials).
 */
import { describe, expect, it } from 'vitest';
import { parseConfigObject } from '../../src/broker/config.js';
import { parseFederationSetting, redactedUrl, type FederationSetting } from '../../src/broker/federation/federation-setting.js';
import { configErrorOf } from '../helpers/config-error.js';


/** What a bare URL gives: every topic both ways, the default queue, no credentials. */
function bare(upstream: string, engine: 'nats' | 'mqtt'): FederationSetting {
  return { upstream, engine, export: ['#'], import: ['#'], queue_size: 10_000, queue_bytes: 64 * 1024 * 1024, user: null, pass: null, token: null, tls: null };
}

const SHAPE = 'federation must be an upstream URL or {"upstream": URL, "export": [...], "import": [...]}';
const KNOWN = 'known: upstream, export, import, queue_size, queue_bytes, user, pass, token, tls';
const USE = 'use nats://host:4222 or mqtt://host:1883';
const SCHEMES = 'use nats:// (or tls://) or mqtt:// (or mqtts://)';

describe('parseFederationSetting: accepted forms', () => {
  it.each([
    ['nats://', 'nats://127.0.0.1:4222', 'nats'],
    ['nats:// without a port', 'nats://natshost', 'nats'],
    ['tls:// (NATS over TLS)', 'tls://nats.example:4443', 'nats'],
    ['an upper-case scheme', 'NATS://h:4222', 'nats'],
    ['IPv6', 'nats://[::1]:4222', 'nats'],
    ['user and password in the URL', 'nats://saw:secret@10.0.0.5:4222', 'nats'],
    ['mqtt://', 'mqtt://broker.local:1883', 'mqtt'],
    ['mqtts://', 'mqtts://broker.local:8883', 'mqtt'],
  ] as const)('a bare URL: %s', (_name, url, engine) => {
    expect(parseFederationSetting(url, '--upstream')).toEqual(bare(url, engine));
  });

  it('an object with the upstream alone is the same as the bare URL', () => {
    expect(parseFederationSetting({ upstream: 'nats://h:4222' }, 'broker.json')).toEqual(bare('nats://h:4222', 'nats'));
  });

  it('an object with every key', () => {
    const value = {
      upstream: 'tls://h:4443',
      export: ['jobs.#', 'saw.*.state'],
      import: ['jobs.activated', 'office.+'],
      queue_size: 50,
      queue_bytes: 1_000_000,
      user: 'saw',
      pass: 'secret',
      token: 't0ken',
      tls: { ca: '/etc/ca.pem', cert: '/etc/c.pem', key: '/etc/k.pem' },
    };
    expect(parseFederationSetting(value, 'broker.json')).toEqual({ ...value, engine: 'nats' });
  });

  it('null credentials count as not given; tls may name only some files', () => {
    expect(parseFederationSetting({ upstream: 'nats://h', user: null, pass: null, token: null, tls: { ca: '/ca.pem' } }, 'x')).toEqual({
      ...bare('nats://h', 'nats'),
      tls: { ca: '/ca.pem' },
    });
    expect(parseFederationSetting({ upstream: 'nats://h', tls: null }, 'x')?.tls).toBeNull();
  });

  it('queue_size 1 is the smallest', () => {
    expect(parseFederationSetting({ upstream: 'nats://h', queue_size: 1 }, 'x')?.queue_size).toBe(1);
  });

  it.each([
    ['null', null],
    ['undefined (not given)', undefined],
    ['false', false],
    ['an empty string', ''],
  ])('%s means no federation', (_name, value) => {
    expect(parseFederationSetting(value, '--upstream')).toBeNull();
  });
});

describe('parseFederationSetting: refused forms, with the message the user reads', () => {
  it.each([
    ['true', true, `x: ${SHAPE}`],
    ['a number', 4222, `x: ${SHAPE}`],
    ['a list', ['nats://h'], `x: ${SHAPE}`],
    ['an object without upstream', {}, 'x: federation needs "upstream": nats://host:4222 or mqtt://host:1883'],
    ['an empty upstream', { upstream: '' }, 'x: federation needs "upstream": nats://host:4222 or mqtt://host:1883'],
    ['an upstream that is not a string', { upstream: 4222 }, 'x: federation needs "upstream": nats://host:4222 or mqtt://host:1883'],
    ['an unknown key', { upstream: 'nats://h', imports: ['#'] }, `x: federation has unknown key "imports" (${KNOWN})`],
    ['a host and port without a scheme', 'localhost:4222', `x: federation upstream "localhost:4222" has scheme "localhost"; ${SCHEMES}`],
    ['a scheme without //', 'nats:localhost:4222', 'x: federation upstream "nats:localhost:4222" has no host; use nats://host:port'],
    ['text', 'saw pc', `x: federation upstream "saw pc" is not a URL; ${USE}`],
    ['a port out of range', 'nats://h:99999', `x: federation upstream "nats://h:99999" is not a URL; ${USE}`],
    ['http://', 'http://h:4222', `x: federation upstream "http://h:4222" has scheme "http"; ${SCHEMES}`],
    ['ws://', 'ws://h:8080', `x: federation upstream "ws://h:8080" has scheme "ws"; ${SCHEMES}`],
    ['no host', 'nats://', 'x: federation upstream "nats://" has no host; use nats://host:port'],
    ['no host, a port', 'mqtt://:1883', `x: federation upstream "mqtt://:1883" is not a URL; ${USE}`],
    ['no host, a path', 'mqtt:///x', 'x: federation upstream "mqtt:///x" has no host; use mqtt://host:port'],
    ['an empty export list', { upstream: 'nats://h', export: [] }, 'x: federation export must be a non-empty list of topic patterns'],
    ['an empty import list', { upstream: 'nats://h', import: [] }, 'x: federation import must be a non-empty list of topic patterns'],
    ['export as one string', { upstream: 'nats://h', export: 'jobs.#' }, 'x: federation export must be a non-empty list of topic patterns'],
    ['import null', { upstream: 'nats://h', import: null }, 'x: federation import must be a non-empty list of topic patterns'],
    ['an export pattern with an empty level', { upstream: 'nats://h', export: ['jobs..x'] }, 'x: federation export pattern "jobs..x": pattern has an empty level'],
    ['an import pattern with # inside', { upstream: 'nats://h', import: ['a.#.b'] }, 'x: federation import pattern "a.#.b": # is only valid as the last level'],
    ['an import pattern mixing a wildcard', { upstream: 'nats://h', import: ['jobs.a*'] }, 'x: federation import pattern "jobs.a*": level "a*" mixes a wildcard with other characters'],
    ['an empty pattern', { upstream: 'nats://h', export: ['jobs.#', ''] }, 'x: federation export pattern "": pattern is empty'],
    ['a pattern that is not a string', { upstream: 'nats://h', import: [5] }, 'x: federation import pattern 5: pattern must be a string'],
    ['queue_size 0', { upstream: 'nats://h', queue_size: 0 }, 'x: federation queue_size must be a positive integer'],
    ['queue_size -5', { upstream: 'nats://h', queue_size: -5 }, 'x: federation queue_size must be a positive integer'],
    ['queue_size 1.5', { upstream: 'nats://h', queue_size: 1.5 }, 'x: federation queue_size must be a positive integer'],
    ['queue_size as text', { upstream: 'nats://h', queue_size: '100' }, 'x: federation queue_size must be a positive integer'],
    ['queue_size Infinity', { upstream: 'nats://h', queue_size: Infinity }, 'x: federation queue_size must be a positive integer'],
    ['NATS\'s ">" in export', { upstream: 'nats://h', export: ['jobs.>'] }, 'x: federation export pattern "jobs.>": a ">" level is NATS\'s wildcard, not this broker\'s: use "#" for any number of levels'],
    ['a system. import', { upstream: 'nats://h', import: ['system.#'] }, 'x: federation import pattern "system.#": "system." and "_internal." topics never cross the link'],
    ['an _internal. export', { upstream: 'nats://h', export: ['_internal.x'] }, 'x: federation export pattern "_internal.x": "system." and "_internal." topics never cross the link'],
    ['queue_bytes 0', { upstream: 'nats://h', queue_bytes: 0 }, 'x: federation queue_bytes must be a positive integer (bytes)'],
    ['queue_bytes as text', { upstream: 'nats://h', queue_bytes: '64MB' }, 'x: federation queue_bytes must be a positive integer (bytes)'],
    ['a user that is not a string', { upstream: 'nats://h', user: 7 }, 'x: federation user must be a string'],
    ['a pass that is not a string', { upstream: 'nats://h', pass: true }, 'x: federation pass must be a string'],
    ['a token that is not a string', { upstream: 'nats://h', token: {} }, 'x: federation token must be a string'],
    ['tls as text', { upstream: 'nats://h', tls: '/ca.pem' }, 'x: federation tls must be {"ca", "cert", "key"} file paths'],
    ['tls as a list', { upstream: 'nats://h', tls: ['/ca.pem'] }, 'x: federation tls must be {"ca", "cert", "key"} file paths'],
    ['tls with an unknown key', { upstream: 'nats://h', tls: { cafile: '/ca.pem' } }, 'x: federation tls must be {"ca", "cert", "key"} file paths'],
    ['a tls path that is a number (a file descriptor to readFileSync)', { upstream: 'nats://h', tls: { ca: 0 } }, 'x: federation tls must be {"ca", "cert", "key"} file paths'],
  ])('%s', (_name, value, message) => {
    expect(configErrorOf(() => parseFederationSetting(value, 'x'))).toBe(message);
  });

  it('names the source it was given', () => {
    expect(configErrorOf(() => parseFederationSetting('ftp://h', '--upstream'))).toBe(`--upstream: federation upstream "ftp://h" has scheme "ftp"; ${SCHEMES}`);
  });

  /** A refused URL is shown back, so the user sees which: without what came before its `@`. */
  it.each([
    ['an unknown scheme', 'http://saw:hunter2@h:4222', 'http://h:4222'],
    ['no host', 'nats://saw:hunter2@', 'nats://'],
    ['a bad port', 'nats://saw:hunter2@h:99999', 'nats://h:99999'],
    ['a password with an @ in it', 'ftp://saw:hun@ter2@h', 'ftp://h'],
    ['a password with a / in it (no longer a URL)', 'nats://saw:hun/ter2@h', 'nats://h'],
    ['a token', 'http://hunter2@h', 'http://h'],
    ['no scheme (it parses as scheme "saw")', 'saw:hunter2@h:4222', 'h:4222'],
  ])('a refusal never shows the credentials in the URL: %s', (_name, url, shown) => {
    const message = configErrorOf(() => parseFederationSetting(url, 'x'));
    expect(message).not.toMatch(/hunter2|ter2/);
    expect(message).toContain(`"${shown}"`);
  });
});

describe('redactedUrl', () => {
  it.each([
    ['nats://127.0.0.1:4222', 'nats://127.0.0.1:4222'],
    ['nats://saw:hunter2@10.0.0.5:4222', 'nats://10.0.0.5:4222'],
    ['nats://hunter2@h', 'nats://h'], // a NATS token in the URL
    ['tls://saw:hunter2@h:4443', 'tls://h:4443'],
    ['mqtt://saw:hunter2@broker.local:1883/', 'mqtt://broker.local:1883'],
    ['mqtts://saw:hun%40ter2@broker.local', 'mqtts://broker.local'],
    ['nats://[::1]:4222', 'nats://[::1]:4222'],
  ])('%s is shown as %s', (url, shown) => {
    expect(redactedUrl(url)).toBe(shown);
    expect(redactedUrl(url)).not.toMatch(/hunter2|hun%40ter2|saw/);
  });

  it('something that is not a URL is not shown at all', () => {
    expect(redactedUrl('saw:hunter2@h:4222 x')).toBe('(invalid URL)');
    expect(redactedUrl('')).toBe('(invalid URL)');
  });
});

describe('federation in the broker config', () => {
  it('parseConfigObject converts a URL and an object', () => {
    expect(parseConfigObject({ federation: 'nats://h:4222' }, 'broker.json')).toEqual({ federation: bare('nats://h:4222', 'nats') });
    expect(parseConfigObject({ federation: { upstream: 'mqtt://h', export: ['jobs.#'], import: ['jobs.activated'] } }, 'broker.json')).toEqual({
      federation: { ...bare('mqtt://h', 'mqtt'), export: ['jobs.#'], import: ['jobs.activated'] },
    });
  });

  it('null or false in the config turns it off', () => {
    expect(parseConfigObject({ federation: null }, 'broker.json')).toEqual({ federation: null });
    expect(parseConfigObject({ federation: false }, 'broker.json')).toEqual({ federation: null });
  });

  it('parseConfigObject names the file in a refusal', () => {
    expect(configErrorOf(() => parseConfigObject({ federation: { upstream: 'nats://h', queue_size: 0 } }, 'broker.json'))).toBe(
      'broker.json: federation queue_size must be a positive integer',
    );
    expect(configErrorOf(() => parseConfigObject({ federation: 'http://saw:hunter2@h' }, 'broker.json'))).toBe(
      `broker.json: federation upstream "http://h" has scheme "http"; ${SCHEMES}`,
    );
  });
});
