/**
 * Interop: a seed-style Python client (test/interop/seed_client.py) connecting with its
 * own secret to a broker with per-client permissions: a wrong secret is refused and
 * closed, the right one connects, allowed calls work and denied ones get the contract's
 * codes with the rule. Needs python3 (or PYTHON); never skipped.
 */
import { execFile } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startBroker, type StartedBroker } from '../helpers/broker-fixture.js';

const SCRIPT = join(dirname(fileURLToPath(import.meta.url)), 'credentials_scenario.py');
const PYTHON = process.env.PYTHON ?? (process.platform === 'win32' ? 'python' : 'python3');
const SECRET = 'jm-python-secret';

// The script's report: plain JSON, checked field by field below.
// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Observed = any; // any: a JSON report read structurally

describe('a Python client with per-client credentials', () => {
  let broker: StartedBroker | undefined;
  let obs: Observed;

  beforeAll(async () => {
    broker = await startBroker({ clients: [{ id: 'job_manager', secret: SECRET, publish: ['jobs.#'], subscribe: ['jobs.#'] }] });
    const port = broker.port;
    const stdout = await new Promise<string>((resolve, reject) =>
      execFile(PYTHON, [SCRIPT, '--port', String(port), '--secret', SECRET], { timeout: 15_000, encoding: 'utf8', env: { ...process.env, PYTHONDONTWRITEBYTECODE: '1' } }, (err, out, stderr) =>
        err ? reject(new Error(`credentials_scenario.py failed (${PYTHON}): ${err.message}\n${stderr}`)) : resolve(out),
      ),
    );
    obs = JSON.parse(stdout);
  }, 20_000);

  afterAll(async () => {
    await broker?.stop();
  });

  it('is refused with the wrong secret (-32602 invalid_token) and the socket is closed', () => {
    expect(obs.wrong_secret.error).toMatchObject({ code: -32602, data: { reason: 'invalid_token' } });
    expect(obs.wrong_secret_closed).toBe(true);
  });

  it('connects with its secret; allowed subscribe and publish work, the delivery arrives', () => {
    expect(obs.connect.result.client_id).toBe('job_manager');
    expect(obs.subscribe_allowed.result).toEqual({ subscribed: ['jobs.#'] });
    expect(obs.publish_allowed.result.delivered).toBe(1);
    expect(obs.received).toEqual({ job_id: '7' });
  });

  it('gets -32003 and -32004 naming the rule for what it may not do', () => {
    expect(obs.subscribe_denied.error).toMatchObject({ code: -32003, data: { denied: [{ pattern: 'scripts.#', rule: 'subscribe.allow' }] } });
    expect(obs.publish_denied.error).toMatchObject({ code: -32004, data: { topic: 'scripts.run', rule: 'publish.allow', identity: 'job_manager' } });
  });
});
