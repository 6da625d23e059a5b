/**
 * The `http` option (where the status page listens), from a flag, the broker's config
 * object and bridge.config.json's `broker` section: every accepted form, and every refused
 * one with the exact message the user reads.
 */
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadBridgeConfig } from '../../bridge/bridge-config.js';
import { CliError } from '../../bridge/cli-error.js';
import { loadConfigFile, parseConfigObject } from '../../src/broker/config.js';
import { DEFAULT_HTTP_PORT, parseHttpSetting } from '../../src/broker/http-setting.js';
import { configErrorOf } from '../helpers/config-error.js';
import { useTempDirs } from '../helpers/temp-dirs.js';

const tempDir = useTempDirs();


const PORT_RULE = 'http port must be a number from 1 to 65535 (0: any free port)';
const EXPECTED = 'http must be true, a port, "HOST:PORT", or {"host": "...", "port": N}';

describe('parseHttpSetting: accepted forms', () => {
  it('the default port is the broker port plus one', () => {
    expect(DEFAULT_HTTP_PORT).toBe(15235);
  });

  it.each([
    ['true', true, { host: null, port: 15235 }],
    ['"true" (a flag or env text)', 'true', { host: null, port: 15235 }],
    ['"on"', 'on', { host: null, port: 15235 }],
    ['a number', 8080, { host: null, port: 8080 }],
    ['0 (any free port)', 0, { host: null, port: 0 }],
    ['65535', 65_535, { host: null, port: 65_535 }],
    ['a port as text', '8080', { host: null, port: 8080 }],
    ['a port as text with spaces around', ' 8080 ', { host: null, port: 8080 }],
    ['HOST:PORT', '0.0.0.0:8080', { host: '0.0.0.0', port: 8080 }],
    ['a host name and port', 'localhost:9000', { host: 'localhost', port: 9000 }],
    ['[IPv6]:PORT', '[::1]:8080', { host: '::1', port: 8080 }],
    ['[IPv6] without a port', '[::1]', { host: '::1', port: 15235 }],
    ['a bare IPv6 address (its port needs brackets)', '::1', { host: '::1', port: 15235 }],
    ['a host alone', '0.0.0.0', { host: '0.0.0.0', port: 15235 }],
    ['an object with both', { host: '0.0.0.0', port: 15235 }, { host: '0.0.0.0', port: 15235 }],
    ['an object with the port only: loopback', { port: 9000 }, { host: null, port: 9000 }],
    ['an object with a port as text', { port: '9000' }, { host: null, port: 9000 }],
    ['an object with the host only: the default port', { host: '10.0.0.5' }, { host: '10.0.0.5', port: 15235 }],
    ['an object with host null', { host: null, port: 1 }, { host: null, port: 1 }],
    ['an empty object', {}, { host: null, port: 15235 }],
  ])('%s', (_name, value, expected) => {
    expect(parseHttpSetting(value, '--http')).toEqual(expected);
  });

  it.each([
    ['false', false],
    ['null', null],
    ['undefined (not given)', undefined],
    ['"off"', 'off'],
    ['"false"', 'false'],
    ['"no"', 'NO'],
  ])('%s turns the page off', (_name, value) => {
    expect(parseHttpSetting(value, '--http')).toBeNull();
  });
});

describe('parseHttpSetting: refused forms, with the message the user reads', () => {
  it.each([
    ['port 70000', 70_000, `--http: ${PORT_RULE}, got 70000`],
    ['port "70000" as text', '70000', `--http: ${PORT_RULE}, got "70000"`],
    ['a negative port', -1, `--http: ${PORT_RULE}, got -1`],
    ['a fractional port', 80.5, `--http: ${PORT_RULE}, got 80.5`],
    ['a port that is not a number', 'abc:xyz', `--http: ${PORT_RULE}, got "xyz"`],
    ['HOST: without a port', '10.0.0.5:', `--http: ${PORT_RULE}, got ""`],
    ['HOST:70000', '0.0.0.0:70000', `--http: ${PORT_RULE}, got "70000"`],
    ['[IPv6]:70000', '[::1]:70000', `--http: ${PORT_RULE}, got "70000"`],
    [':PORT without a host', ':8080', '--http: http host must be a host name or address, got ""'],
    ['a host with a space', 'my host', '--http: http host must be a host name or address, got "my host"'],
    ['an object whose port is not a number', { port: 'x' }, `--http: ${PORT_RULE}, got "x"`],
    ['an object whose port is 70000', { port: 70_000 }, `--http: ${PORT_RULE}, got 70000`],
    ['an object whose host is empty', { host: '', port: 1 }, '--http: http host must be a host name or address, got ""'],
    ['an object whose host is a number', { host: 5 }, '--http: http host must be a host name or address, got 5'],
    ['an object with an unknown key', { hots: '0.0.0.0' }, '--http: http has unknown key "hots" (known: host, port)'],
    ['an array', [8080], `--http: ${EXPECTED}, got [8080]`],
    ['an empty string', '', `--http: ${EXPECTED}, got ""`],
    ['a blank string', '  ', `--http: ${EXPECTED}, got "  "`],
  ])('%s', (_name, value, message) => {
    expect(configErrorOf(() => parseHttpSetting(value, '--http'))).toBe(message);
  });
});

describe('http in the broker config', () => {
  it('parseConfigObject converts it', () => {
    expect(parseConfigObject({ http: true }, 'broker.json')).toEqual({ http: { host: null, port: 15235 } });
    expect(parseConfigObject({ http: 8080 }, 'broker.json')).toEqual({ http: { host: null, port: 8080 } });
    expect(parseConfigObject({ http: { host: '0.0.0.0', port: 9000 } }, 'broker.json')).toEqual({ http: { host: '0.0.0.0', port: 9000 } });
    expect(parseConfigObject({ http: false }, 'broker.json')).toEqual({ http: null });
  });

  it('parseConfigObject names its source in a refusal', () => {
    expect(configErrorOf(() => parseConfigObject({ http: 70_000 }, 'broker.json'))).toBe(`broker.json: ${PORT_RULE}, got 70000`);
    expect(configErrorOf(() => parseConfigObject({ http: { port: 1, tls: true } }, 'broker.json'))).toBe(
      'broker.json: http has unknown key "tls" (known: host, port)',
    );
  });

  it('a broker config file takes "http" at the top or under "broker"', () => {
    const dir = tempDir('http-setting-');
    const flat = path.join(dir, 'flat.json');
    const nested = path.join(dir, 'nested.json');
    writeFileSync(flat, JSON.stringify({ http: '127.0.0.1:9001' }));
    writeFileSync(nested, JSON.stringify({ broker: { http: 9002 } }));
    expect(loadConfigFile(flat).http).toEqual({ host: '127.0.0.1', port: 9001 });
    expect(loadConfigFile(nested).http).toEqual({ host: null, port: 9002 });
  });
});

describe('http under "broker" in bridge.config.json', () => {
  function bridgeConfig(broker: unknown): string {
    const dir = tempDir('http-setting-');
    const file = path.join(dir, 'bridge.config.json');
    writeFileSync(file, JSON.stringify({ broker, scripts: [{ path: 'a.ahk' }] }));
    return file;
  }

  it('is parsed into the broker options the bridge hosts with', () => {
    expect(loadBridgeConfig(bridgeConfig({ port: 15300, http: true })).broker).toEqual({ port: 15300, http: { host: null, port: 15235 } });
    expect(loadBridgeConfig(bridgeConfig({ http: { host: '0.0.0.0', port: 9003 } })).broker.http).toEqual({ host: '0.0.0.0', port: 9003 });
    expect(loadBridgeConfig(bridgeConfig({ http: null })).broker.http).toBeNull();
  });

  it('a bad value is a CLI error naming the file and its broker section', () => {
    const file = bridgeConfig({ http: 'abc:xyz' });
    expect(() => loadBridgeConfig(file)).toThrow(CliError);
    expect(() => loadBridgeConfig(file)).toThrow(`${file}: broker: ${PORT_RULE}, got "xyz"`);
  });
});
