/**
 * Command round-trip role: one connection sends `request` on `scripts.<key>.command.<name>`,
 * strictly one at a time, and times each until its reply is decoded:
 *   client -> broker -> bridge -> script stdin -> script stdout `@reply` -> bridge -> broker -> client.
 * Every reply is checked against what the echo script must answer,
 * `{"echo": <payload>, "name": <name>}`, and the first wrong reply, error or timeout fails
 * the run, so a broken path cannot pass for a fast one.
 */
import { isDeepStrictEqual } from 'node:util';
import { BenchConnection } from '../client.js';
import type { CommandRttInit } from '../ipc.js';
import { summarizeLatencyNs } from '../stats.js';
import { cpuMs, emit, reportFailure, type Role } from './common.js';

/** The broker's request timeout (seconds), and our own bound on each answer above it. */
const REQUEST_TIMEOUT_S = 5;
const CALL_TIMEOUT_MS = REQUEST_TIMEOUT_S * 1000 + 2000;

export async function startCommandRtt(init: CommandRttInit): Promise<Role> {
  const conn = await BenchConnection.open(init.port, `${init.idPrefix}-client`);
  const samples = new Float64Array(init.requests);
  let started = false;
  let closed = false;

  const roundTrip = async (seq: number): Promise<number> => {
    const payload = { seq, text: 'hello from the bench' };
    const t0 = process.hrtime.bigint();
    const result = await conn.call('request', { topic: init.topic, payload, timeout: REQUEST_TIMEOUT_S }, CALL_TIMEOUT_MS);
    const ns = Number(process.hrtime.bigint() - t0);
    const expected = { echo: payload, name: init.name };
    if (!isDeepStrictEqual(result, expected)) {
      throw new Error(`request ${seq}: reply ${JSON.stringify(result)?.slice(0, 200)}, expected ${JSON.stringify(expected)}`);
    }
    return ns;
  };

  const runAll = async (): Promise<void> => {
    for (let i = 0; i < init.warmup && !closed; i++) await roundTrip(i);
    emit({ ev: 'measuring' });
    const cpu0 = cpuMs();
    const t0 = performance.now();
    let verified = 0;
    for (let i = 0; i < init.requests && !closed; i++) {
      samples[i] = await roundTrip(init.warmup + i);
      verified++;
    }
    const windowMs = performance.now() - t0;
    const cpuUsed = cpuMs() - cpu0;
    emit({ ev: 'measured' });
    const s = summarizeLatencyNs(samples, verified);
    emit({ ev: 'rtt', verified, p50Us: s.p50Us, p99Us: s.p99Us, maxUs: s.maxUs, cpuMs: cpuUsed, windowMs });
  };

  return {
    onCommand(cmd) {
      if (cmd.cmd !== 'start' || started) return;
      started = true;
      runAll().catch(reportFailure);
    },
    close() {
      closed = true;
      conn.close();
    },
  };
}
