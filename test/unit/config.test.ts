import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  CONFIG_KEYS,
  DEFAULT_CONFIG,
  coerceOption,
  configFromEnv,
  loadConfigFile,
  parseConfigObject,
  resolveConfig,
} from '../../src/broker/config.js';
import { configErrorOf } from '../helpers/config-error.js';


describe('resolveConfig', () => {
  it('gives the documented defaults with no layers', () => {
    const c = resolveConfig();
    expect(c).toEqual(DEFAULT_CONFIG);
    expect(c).toMatchObject({
      host: 'localhost',
      port: 15234,
      max_message_size: 1024 * 1024,
      max_output_bytes: 64 * 1024 * 1024,
      session_expiry: 3600,
      legacy_encoding: 'windows-1252',
      token: null,
      log_level: 'info',
    });
  });

  it('returns a fresh mutable object, leaving the defaults untouched', () => {
    const c = resolveConfig();
    c.port = 1;
    expect(DEFAULT_CONFIG.port).toBe(15234);
    expect(Object.isFrozen(DEFAULT_CONFIG)).toBe(true);
  });

  it('applies layers in order, later winning, undefined skipped', () => {
    const c = resolveConfig({ port: 1000, host: 'file-host' }, { port: 2000 }, { port: undefined, log_level: 'debug' });
    expect(c.port).toBe(2000);
    expect(c.host).toBe('file-host');
    expect(c.log_level).toBe('debug');
  });

  it('rejects heartbeat_timeout <= heartbeat_interval, naming both', () => {
    for (const layer of [{ heartbeat_interval: 30, heartbeat_timeout: 30 }, { heartbeat_interval: 10, heartbeat_timeout: 5 }, { heartbeat_interval: 31 }]) {
      const msg = configErrorOf(() => resolveConfig(layer));
      expect(msg).toContain('heartbeat_timeout');
      expect(msg).toContain('heartbeat_interval');
    }
    expect(resolveConfig({ heartbeat_interval: 29.5 }).heartbeat_timeout).toBe(30);
  });

  it('rejects max_output_bytes below the largest delivery, 3 x max_message_size + 64 KiB, naming both', () => {
    const least = 3 * 1000 + 65_536;
    const msg = configErrorOf(() => resolveConfig({ max_message_size: 1000, max_output_bytes: least - 1 }));
    expect(msg).toContain(`max_output_bytes (${least - 1})`);
    expect(msg).toContain(`max_message_size (1000) + 64 KiB = ${least}`);
    expect(resolveConfig({ max_message_size: 1000, max_output_bytes: least }).max_output_bytes).toBe(least);
    // The defaults (1 MiB, 64 MiB) leave room; 22 MiB messages need more than the default 64 MiB.
    expect(resolveConfig({}).max_output_bytes).toBe(64 * 1024 * 1024);
    expect(() => resolveConfig({ max_message_size: 22 * 1024 * 1024 })).toThrow(/max_output_bytes/);
  });
});

describe('parseConfigObject', () => {
  it('accepts every known option with correctly typed values', () => {
    const obj = {
      host: '0.0.0.0',
      port: 0,
      max_connections: 5,
      connection_timeout: 0.5,
      max_message_size: 2048,
      max_queue_size: 10,
      max_output_bytes: 4096,
      heartbeat_interval: 1,
      heartbeat_timeout: 2,
      session_expiry: 0,
      max_subscriptions: 3,
      token: 's3cret',
      allow_anonymous: true,
      clients: [{ id: 'job_manager', secret: 'x', publish: ['jobs.#'], subscribe: { allow: ['#'], deny: ['secret.#'] } }],
      anonymous_permissions: { publish: { deny: ['scripts.#'] } },
      legacy_encoding: 'cp1251',
      persistence_enabled: true,
      persistence_path: '/tmp/x.db',
      persistence_fsync: 'always',
      log_level: 'warning',
      log_messages: false,
      // Already in its parsed form, so the round trip below is exact.
      http: { host: '127.0.0.1', port: 8080 },
      // Parsing adds `engine` and defaults, so no other value round-trips exactly; its
      // forms are tested in federation-setting.test.ts.
      federation: null,
    };
    expect(Object.keys(obj).sort()).toEqual([...CONFIG_KEYS].sort());
    expect(parseConfigObject(obj, 'test')).toEqual(obj);
  });

  it('rejects an unknown key, naming it and the source', () => {
    const msg = configErrorOf(() => parseConfigObject({ port: 1, max_conections: 5 }, 'my.json'));
    expect(msg).toContain('my.json');
    expect(msg).toContain('unknown option "max_conections"');
    expect(msg).toContain('max_connections'); // lists the known ones
  });

  it.each(['toString', 'constructor', 'hasOwnProperty', '__proto__'])(
    'rejects %j, an Object.prototype member, as unknown',
    (key) => {
      const obj = JSON.parse(`{"${key}": 1}`) as unknown;
      expect(configErrorOf(() => parseConfigObject(obj, 'src'))).toContain(`unknown option "${key}"`);
    },
  );

  it.each([null, [], 'port=1', 42])('rejects a non-object %j', (obj) => {
    expect(configErrorOf(() => parseConfigObject(obj, 'src'))).toContain('expected a JSON object');
  });

  it.each([
    ['host', '', 'non-empty string'],
    ['host', 5, 'non-empty string'],
    ['port', 70000, '1 to 65535 (0: any free port)'],
    ['port', -1, '1 to 65535 (0: any free port)'],
    ['port', 80.5, '1 to 65535 (0: any free port)'],
    ['port', 'http', 'a number'],
    ['port', '', 'a number'],
    ['port', true, 'a number'],
    ['max_connections', 0, 'positive integer'],
    ['max_message_size', 1.5, 'positive integer'],
    ['connection_timeout', 0, 'positive number'],
    ['heartbeat_interval', -1, 'positive number'],
    // Each sets a timer, and Node's timers fire after 1 ms past 2^31 - 1 ms.
    ['connection_timeout', 2_147_484, 'at most 2147483 (about 24 days)'],
    ['heartbeat_interval', 1e7, 'at most 2147483 (about 24 days)'],
    ['heartbeat_timeout', '3000000', 'at most 2147483 (about 24 days)'],
    ['session_expiry', -1, 'zero or a positive'],
    ['token', 5, 'a string or null'],
    ['persistence_enabled', 'maybe', 'true or false'],
    ['persistence_enabled', 1, 'true or false'],
    ['log_level', 'verbose', 'one of debug'],
    ['log_level', 10, 'one of debug'],
    ['legacy_encoding', 'klingon', 'encoding'],
    ['max_queue_size', Number.POSITIVE_INFINITY, 'a number'],
  ])('rejects %s = %j (%s), naming the key', (key, value, expected) => {
    const msg = configErrorOf(() => parseConfigObject({ [key]: value }, 'src'));
    expect(msg).toContain(`src: ${key} must be`);
    expect(msg).toContain(expected);
  });

  it('takes the longest timer for timer options, and any session_expiry (a LongTimeout)', () => {
    expect(parseConfigObject({ heartbeat_timeout: 2_147_483, connection_timeout: '2147483' }, 'src')).toEqual({ heartbeat_timeout: 2_147_483, connection_timeout: 2_147_483 });
    expect(parseConfigObject({ session_expiry: 365 * 86_400 }, 'src')).toEqual({ session_expiry: 31_536_000 });
  });

  it('coerces strings as they arrive from the environment and flags', () => {
    expect(
      parseConfigObject(
        {
          port: '8080',
          max_connections: ' 12 ',
          heartbeat_interval: '2.5',
          persistence_enabled: 'yes',
          log_messages: 'OFF',
          log_level: 'WARNING',
          token: '',
        },
        'flags',
      ),
    ).toEqual({
      port: 8080,
      max_connections: 12,
      heartbeat_interval: 2.5,
      persistence_enabled: true,
      log_messages: false,
      log_level: 'warning',
      token: null,
    });
  });

  it('coerceOption accepts null for nullable strings', () => {
    expect(coerceOption('persistence_path', null, 'x')).toBeNull();
    expect(coerceOption('token', 'abc', 'x')).toBe('abc');
  });
});

describe('configFromEnv', () => {
  it('reads BROKER_HOST, BROKER_PORT and BROKER_LOG_LEVEL', () => {
    expect(configFromEnv({ BROKER_HOST: '127.0.0.1', BROKER_PORT: '16000', BROKER_LOG_LEVEL: 'DEBUG' })).toEqual({
      host: '127.0.0.1',
      port: 16000,
      log_level: 'debug',
    });
  });

  it('ignores unset, empty and unrelated variables', () => {
    expect(configFromEnv({})).toEqual({});
    expect(configFromEnv({ BROKER_PORT: '', BROKER_TOKEN: 'x', PORT: '1' })).toEqual({});
  });

  it.each([
    ['BROKER_PORT', 'abc'],
    ['BROKER_PORT', '99999'],
    ['BROKER_LOG_LEVEL', 'chatty'],
    ['BROKER_LOG_LEVEL', 'constructor'], // an Object.prototype member, not a level
  ])('an invalid %s gives a ConfigError naming the variable', (name, value) => {
    const msg = configErrorOf(() => configFromEnv({ [name]: value }));
    expect(msg.startsWith(`${name}:`)).toBe(true);
    expect(msg).toContain(JSON.stringify(value));
  });

  it('env overrides the file layer in resolveConfig', () => {
    const c = resolveConfig({ port: 1, host: 'h' }, configFromEnv({ BROKER_PORT: '2' }));
    expect(c.port).toBe(2);
    expect(c.host).toBe('h');
  });
});

describe('loadConfigFile', () => {
  let dir: string;
  const file = (name: string, text: string): string => {
    const p = join(dir, name);
    writeFileSync(p, text);
    return p;
  };

  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'ahk-bridge-config-'));
  });
  afterAll(() => {
    rmSync(dir, { recursive: true, force: true });
  });

  it('reads a flat file', () => {
    const p = file('flat.json', JSON.stringify({ port: 15999, log_level: 'INFO', max_queue_size: 50 }));
    expect(loadConfigFile(p)).toEqual({ port: 15999, log_level: 'info', max_queue_size: 50 });
  });

  it('reads options nested under "broker", ignoring the rest of the file', () => {
    const p = file('nested.json', JSON.stringify({ broker: { host: '0.0.0.0', port: 1 }, scripts: [{ path: 'x.ahk' }] }));
    expect(loadConfigFile(p)).toEqual({ host: '0.0.0.0', port: 1 });
  });

  it('tolerates a UTF-8 BOM (Notepad writes one)', () => {
    const p = file('bom.json', '\ufeff{"port": 2}');
    expect(loadConfigFile(p)).toEqual({ port: 2 });
  });

  it('rejects invalid JSON, naming the file', () => {
    const p = file('bad.json', '{"port": 1,}');
    const msg = configErrorOf(() => loadConfigFile(p));
    expect(msg).toContain(p);
    expect(msg).toContain('not valid JSON');
  });

  it('rejects a missing file, naming it', () => {
    const p = join(dir, 'missing.json');
    const msg = configErrorOf(() => loadConfigFile(p));
    expect(msg).toContain('cannot read config file');
    expect(msg).toContain(p);
  });

  it('rejects an unknown option in the file with the file as the source', () => {
    const p = file('unknown.json', JSON.stringify({ prot: 1 }));
    const msg = configErrorOf(() => loadConfigFile(p));
    expect(msg).toContain(`${p}: unknown option "prot"`);
  });

  it('rejects a non-object "broker" section', () => {
    const p = file('broker-null.json', JSON.stringify({ broker: null }));
    expect(configErrorOf(() => loadConfigFile(p))).toContain('expected a JSON object');
  });
});
