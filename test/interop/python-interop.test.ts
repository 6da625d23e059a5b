/**
 * Interop: Python clients that speak the wire protocol the way the seed's asyncio
 * `BrokerClient` does (test/interop/seed_client.py) run a scenario against the real
 * broker (test/interop/scenario.py). The script reports what it observed as one JSON
 * object; the assertions on its content live here.
 *
 * Needs `python3` (3.8+) on PATH, or its path in the PYTHON environment variable. A
 * missing interpreter fails the suite: it is never skipped.
 */
import { execFile } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEFAULT_CONFIG } from '../../src/broker/config.js';
import { startBroker, type StartedBroker } from '../helpers/broker-fixture.js';

const HERE = dirname(fileURLToPath(import.meta.url));
const SCENARIO = join(HERE, 'scenario.py');
const PYTHON = process.env.PYTHON ?? (process.platform === 'win32' ? 'python' : 'python3');
/** The script caps itself at 9 s; this only catches a hung interpreter. */
const SCRIPT_KILL_AFTER_MS = 15_000;

const JOB_PAYLOAD = { job_id: '12345', customer: 'Acme Corp', note: 'ünïcödé ✓' };
const CONTRACT_TIMESTAMP = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}\+00:00$/;

interface ScriptRun {
  code: number | null;
  stdout: string;
  stderr: string;
}

function runScenario(port: number): Promise<ScriptRun> {
  return new Promise((resolve, reject) => {
    execFile(
      PYTHON,
      [SCENARIO, '--port', String(port), '--host', '127.0.0.1'],
      {
        timeout: SCRIPT_KILL_AFTER_MS,
        encoding: 'utf8',
        env: { ...process.env, PYTHONDONTWRITEBYTECODE: '1', PYTHONIOENCODING: 'utf-8' },
      },
      (err, stdout, stderr) => {
        if (err && (err as NodeJS.ErrnoException).code === 'ENOENT') {
          reject(
            new Error(
              `"${PYTHON}" was not found on PATH. The Python interop test needs Python 3.8+ ` +
                '(install python3, or set PYTHON to the interpreter path).',
            ),
          );
          return;
        }
        if (err && err.killed) {
          reject(new Error(`scenario.py was killed after ${SCRIPT_KILL_AFTER_MS} ms\nstderr:\n${stderr}`));
          return;
        }
        resolve({ code: err ? (typeof err.code === 'number' ? err.code : 1) : 0, stdout, stderr });
      },
    );
  });
}

// The script's report: plain JSON, checked field by field below.
// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Observed = any; // any: a JSON report read structurally

describe('Python seed-style clients against the broker', () => {
  let broker: StartedBroker | undefined;
  let obs: Observed;

  beforeAll(async () => {
    broker = await startBroker();
    const run = await runScenario(broker.port);
    if (run.code !== 0) {
      throw new Error(`scenario.py exited with ${run.code}\nstderr:\n${run.stderr}\nstdout:\n${run.stdout}`);
    }
    try {
      obs = JSON.parse(run.stdout);
    } catch {
      throw new Error(`scenario.py did not print one JSON object\nstdout:\n${run.stdout}\nstderr:\n${run.stderr}`);
    }
  }, 20_000);

  afterAll(async () => {
    await broker?.stop();
  }, 20_000);

  it('(a) connect returns the contract fields for every client', () => {
    for (const id of ['ds_pas', 'ahk_manager', 'cad_helper']) {
      const result = obs.connect[id];
      expect(result).toEqual({
        client_id: id,
        server_version: expect.any(String),
        heartbeat_interval: DEFAULT_CONFIG.heartbeat_interval,
        heartbeat_timeout: DEFAULT_CONFIG.heartbeat_timeout,
        max_message_size: DEFAULT_CONFIG.max_message_size,
        max_queue_size: DEFAULT_CONFIG.max_queue_size,
        session_expiry: DEFAULT_CONFIG.session_expiry,
        session_present: false,
      });
      expect(result.server_version.length).toBeGreaterThan(0);
    }
  });

  it('(b) a publish reaches the subscriber intact: unicode payload, sender, timestamp, message_id', () => {
    const { pubsub } = obs;
    expect(pubsub.subscribe_result).toEqual({ subscribed: ['jobs.*', 'scripts.+.status'] });
    expect(pubsub.publish_result).toEqual({ message_id: expect.any(String), delivered: 1 });
    expect(pubsub.received).toEqual({
      topic: 'jobs.activated',
      payload: JOB_PAYLOAD,
      sender: 'ds_pas',
      timestamp: expect.stringMatching(CONTRACT_TIMESTAMP),
      message_id: pubsub.publish_result.message_id,
      qos: 0,
      has_reply_to: false,
      keys: ['message_id', 'payload', 'qos', 'sender', 'timestamp', 'topic'],
    });
    expect(pubsub.received.payload.note).toBe('ünïcödé ✓');
    // `scripts.+.status` (a middle wildcard) matches scripts.saw1.status.
    expect(pubsub.middle_wildcard.publish_result.delivered).toBe(1);
    expect(pubsub.middle_wildcard.received).toMatchObject({
      topic: 'scripts.saw1.status',
      payload: { state: 'running' },
      sender: 'ds_pas',
    });
    expect(pubsub.extra_deliveries).toBe(0);
  });

  it('(c) QoS 1: _internal.message_acks lists the acker, then the late ack sent as a notification', () => {
    const { qos1 } = obs;
    const mid = qos1.publish_result.message_id;
    expect(qos1.publish_result).toEqual({ message_id: expect.any(String), delivered: 2 });
    for (const received of [qos1.ahk_manager_received, qos1.cad_helper_received]) {
      expect(received).toMatchObject({
        topic: 'config.reload',
        payload: { config_path: '/path/to/config.json' },
        sender: 'ds_pas',
        message_id: mid,
        qos: 1,
      });
    }
    expect(qos1.ack_results).toEqual([{ acked: true }]);
    expect(qos1.acks).toEqual({ message_id: mid, clients: ['ahk_manager'], pending: ['cad_helper'] });
    expect(qos1.acks_after_notification_ack.message_id).toBe(mid);
    expect([...qos1.acks_after_notification_ack.clients].sort()).toEqual(['ahk_manager', 'cad_helper']);
    expect(qos1.acks_after_notification_ack.pending).toEqual([]);
  });

  it('(d) request/response: the subscriber’s reply is the requester’s result', () => {
    const rr = obs.request_response;
    expect(rr.result).toEqual({ running: true, pid: 4242, script_id: 'saw1' });
    expect(rr.responder_saw).toHaveLength(1);
    expect(rr.responder_saw[0]).toMatchObject({
      topic: 'scripts.status',
      payload: { script_id: 'saw1' },
      sender: 'ds_pas',
      has_reply_to: true,
    });
    expect(rr.reply_results).toEqual([{ accepted: true }]);
  });

  it('(e) a request nobody subscribes to fails at once with NO_RESPONDERS', () => {
    expect(obs.no_responders.code).toBe(-32005);
  });

  it('(f) status reports the three connected clients, as a method and as request("status")', () => {
    expect(obs.status.client_count).toBe(3);
    expect(obs.status.via_request_client_count).toBe(3);
    expect(obs.status.keys).toEqual(
      expect.arrayContaining(['client_count', 'message_count', 'uptime', 'started_at', 'version']),
    );
    expect(obs.ping).toEqual({ pong: true, timestamp: expect.stringMatching(CONTRACT_TIMESTAMP) });
  });

  it('(g) every timestamp parses with datetime.fromisoformat, including on Python < 3.11', () => {
    expect(obs.timestamps.all_fromisoformat).toBe(true);
    const checks = obs.timestamps.checks as Record<string, Record<string, unknown>>;
    expect(Object.keys(checks).sort()).toEqual(['delivery', 'ping', 'qos1_delivery', 'request_delivery', 'status_started_at']);
    for (const [name, check] of Object.entries(checks)) {
      expect({ name, ...check }).toEqual({
        name,
        value: expect.stringMatching(CONTRACT_TIMESTAMP),
        fromisoformat: true,
        utc: true,
        legacy_python: true,
        contract_format: true,
      });
    }
  });

  it('(h) publishing to reserved topics fails with PUBLISH_ERROR', () => {
    expect(obs.reserved.system.code).toBe(-32004);
    expect(obs.reserved.internal.code).toBe(-32004);
  });

  it('(i) disconnect is answered, then the broker closes each socket; no client saw anything unexpected', () => {
    for (const id of ['ds_pas', 'ahk_manager', 'cad_helper']) {
      expect(obs.disconnect[id]).toEqual({ disconnected: true });
      expect(obs.client_errors[id]).toEqual([]);
    }
    expect(obs.closed_by_broker).toBe(true);
  });
});
