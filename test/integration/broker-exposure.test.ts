/**
 * Safe defaults off loopback: a listener that anyone on the network could reach refuses
 * to start without credentials, and `--allow-anonymous` starts it with a WARNING at start
 * and in `status`. Through the real CLI as a child process, and in-process.
 */
import { describe, expect, it } from 'vitest';
import { ConfigError, MessageBroker } from '../../src/broker/index.js';
import { runCli, startCli, waitOutput } from '../helpers/cli.js';
import { freePort } from '../helpers/ports.js';
import { RawClient } from '../helpers/raw-client.js';

describe('a listener beyond loopback', () => {
  it('refuses to start without a token or client credentials, saying why and what to set', async () => {
    const broker = new MessageBroker({ host: '0.0.0.0', port: 0, log_level: 'silent' });
    const err = await broker.start().then(
      () => null,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(ConfigError);
    expect((err as Error).message).toMatch(/refusing to listen on 0\.0\.0\.0 without authentication/);
    expect((err as Error).message).toMatch(/"token".*"clients".*--allow-anonymous/s);
    expect(broker.running).toBe(false);
  });

  it('bridge broker --host 0.0.0.0 exits 1 with that message and never listens', async () => {
    const port = await freePort();
    const res = await runCli(['broker', '--host', '0.0.0.0', '--port', String(port)]);
    expect(res.code).toBe(1);
    expect(res.stderr).toMatch(/refusing to listen on 0\.0\.0\.0 without authentication/);
    expect(res.stderr).not.toContain('broker listening');
    await expect(RawClient.open(port)).rejects.toThrow(/ECONNREFUSED/);
  });

  it('starts with credentials configured, and anonymous clients are refused there', async () => {
    const broker = new MessageBroker({ host: '0.0.0.0', port: 0, log_level: 'silent', token: 'tok-1' });
    await broker.start();
    try {
      const c = await RawClient.open(broker.port);
      expect((await c.call('connect', { client_id: 'anon' })).error).toMatchObject({ code: -32602, data: { reason: 'invalid_token' } });
      await c.waitClosed();
      expect(broker.status().security).toEqual({ credentials: true, anonymous_allowed: false });
    } finally {
      await broker.stop();
    }
  });

  it('--allow-anonymous starts it with a WARNING in the log and in status (JSON and text)', async () => {
    const port = await freePort();
    const proc = startCli(['broker', '--host', '0.0.0.0', '--port', String(port), '--allow-anonymous']);
    try {
      await waitOutput(proc.child, proc.stderr, (s) => s.includes('broker listening'));
      expect(proc.stderr()).toMatch(/WARNING .*listening on 0\.0\.0\.0 with anonymous clients allowed/);
      const c = await RawClient.connected(port, 'anyone');
      const status = (await c.call('status')).result;
      expect(status.security).toMatchObject({ credentials: false, anonymous_allowed: true, warning: expect.stringContaining('anonymous clients allowed') });
      const text = await runCli(['status', '--host', '127.0.0.1', '--port', String(port)]);
      expect(text.stdout).toMatch(/^WARNING: listening on 0\.0\.0\.0 with anonymous clients allowed/m);
      c.close();
    } finally {
      proc.child.kill('SIGTERM');
      await proc.done;
    }
  });

  it('loopback stays open to anonymous clients by default, without a warning', async () => {
    const broker = new MessageBroker({ host: '127.0.0.1', port: 0, log_level: 'silent' });
    await broker.start();
    try {
      const c = await RawClient.connected(broker.port, 'ahk_script');
      expect((await c.call('status')).result.security).toEqual({ credentials: false, anonymous_allowed: true });
      c.close();
    } finally {
      await broker.stop();
    }
  });
});
