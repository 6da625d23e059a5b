/**
 * `/metrics` text: a real broker with real clients, read through its monitor. The text is
 * checked against the Prometheus exposition format (0.0.4) by a small parser here, and its
 * values against what the clients did.
 */
import { describe, expect, it } from 'vitest';
import { escapeLabel, metricsText } from '../../bridge/status-page/metrics.js';
import { useTestBed } from '../helpers/test-bed.js';

const NAME = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/;
const LABEL_NAME = /^[a-zA-Z_][a-zA-Z0-9_]*$/;

interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

/** Undo the format's label escapes; throws on an escape the format does not have. */
function unescapeLabel(raw: string): string {
  return raw.replace(/\\(.)/g, (_, c: string) => {
    if (c === '\\') return '\\';
    if (c === '"') return '"';
    if (c === 'n') return '\n';
    throw new Error(`invalid escape \\${c} in label value ${raw}`);
  });
}

/** `{a="x",b="y"}` into its labels; throws when it is not well formed. */
function parseLabels(text: string): Record<string, string> {
  const labels: Record<string, string> = {};
  // A value is quoted; inside it a backslash escapes the next character, and nothing
  // else may be a raw quote or a raw newline.
  const pair = /([^=,{}]+)="((?:[^"\\\n]|\\.)*)"/y;
  let at = 1;
  for (;;) {
    pair.lastIndex = at;
    const m = pair.exec(text);
    if (!m) throw new Error(`malformed labels at ${at}: ${text}`);
    if (!LABEL_NAME.test(m[1]!)) throw new Error(`bad label name "${m[1]!}"`);
    labels[m[1]!] = unescapeLabel(m[2]!);
    at = pair.lastIndex;
    if (text[at] === ',') at++;
    if (text[at] === '}') break;
  }
  if (at !== text.length - 1) throw new Error(`text after the labels: ${text}`);
  return labels;
}

/**
 * Parse an exposition, enforcing what Prometheus enforces: a HELP and a TYPE line for each
 * metric before its first sample, one TYPE per metric, valid names, labels and values.
 */
function parseExposition(text: string): { samples: Sample[]; types: Map<string, string> } {
  expect(text.endsWith('\n')).toBe(true);
  const help = new Set<string>();
  const types = new Map<string, string>();
  const samples: Sample[] = [];
  for (const line of text.slice(0, -1).split('\n')) {
    const comment = /^# (HELP|TYPE) (\S+) (.+)$/.exec(line);
    if (comment) {
      const [, what, name, rest] = comment;
      expect(name, line).toMatch(NAME);
      if (what === 'HELP') {
        expect(help.has(name!), `second HELP for ${name!}`).toBe(false);
        help.add(name!);
      } else {
        expect(types.has(name!), `second TYPE for ${name!}`).toBe(false);
        expect(['counter', 'gauge', 'histogram', 'summary', 'untyped']).toContain(rest);
        expect(samples.some((s) => s.name === name), `TYPE for ${name!} after its samples`).toBe(false);
        types.set(name!, rest!);
      }
      continue;
    }
    expect(line.startsWith('#'), `unknown comment: ${line}`).toBe(false);
    const m = /^([^\s{]+)(\{.*\})? (\S+)$/.exec(line);
    expect(m, `not a sample line: ${JSON.stringify(line)}`).not.toBeNull();
    const [, name, labels, value] = m!;
    expect(name, line).toMatch(NAME);
    expect(help.has(name!), `sample of ${name!} before its HELP`).toBe(true);
    expect(types.has(name!), `sample of ${name!} before its TYPE`).toBe(true);
    expect(value, line).toMatch(/^(-?\d+(\.\d+)?([eE][+-]?\d+)?|NaN|[+-]Inf)$/);
    samples.push({ name: name!, labels: labels ? parseLabels(labels) : {}, value: Number(value) });
  }
  return { samples, types };
}

const bed = useTestBed();

describe('escapeLabel', () => {
  it('escapes backslash, double quote and newline, and nothing else', () => {
    expect(escapeLabel('plain_id-1.x')).toBe('plain_id-1.x');
    expect(escapeLabel('a\\b')).toBe('a\\\\b');
    expect(escapeLabel('say "hi"')).toBe('say \\"hi\\"');
    expect(escapeLabel('two\nlines')).toBe('two\\nlines');
    expect(escapeLabel('\\n')).toBe('\\\\n'); // a backslash then n: not a newline
    expect(escapeLabel('tab\there é')).toBe('tab\there é');
  });

  it('round-trips through the format\'s unescaping', () => {
    for (const s of ['', '\\', '"', '\n', '\\"\n\\\\', 'ab\\nc"d']) expect(unescapeLabel(escapeLabel(s))).toBe(s);
  });
});

describe('metricsText from a real broker', () => {
  it('is a valid exposition whose values match what the clients did', async () => {
    const b = await bed.broker({ session_expiry: 3600 });
    const monitor = b.broker.monitor();
    const watcher = await bed.connected(b.port, 'watcher');
    await watcher.call('subscribe', { patterns: ['system.client.disconnected'] });
    const sub = await bed.connected(b.port, 'sub');
    await sub.call('subscribe', { patterns: ['jobs.*'] });
    // Client ids may hold a backslash, a quote and a newline: the labels must stay parseable.
    const oddId = 'odd\\id "quoted"\nline';
    const odd = await bed.connected(b.port, oddId, { clean_session: false });
    await odd.call('subscribe', { patterns: ['jobs.*'] });
    odd.close();
    await watcher.waitDelivery('system.client.disconnected', (p) => p.payload.client_id === oddId);

    const pub = await bed.connected(b.port, 'pub');
    for (let i = 0; i < 3; i++) {
      const res = await pub.call('publish', { topic: 'jobs.activated', payload: { i }, qos: 1 });
      expect(res.error).toBeUndefined();
    }
    await sub.waitDeliveries(3, 'jobs.activated');

    const text = metricsText(monitor);
    const { samples, types } = parseExposition(text);
    const value = (name: string, labels: Record<string, string> = {}): number | undefined =>
      samples.find((s) => s.name === name && JSON.stringify(s.labels) === JSON.stringify(labels))?.value;

    // Every metric the contract names is there, with its type.
    expect(Object.fromEntries(types)).toMatchObject({
      ahkbridge_messages_total: 'counter',
      ahkbridge_deliveries_total: 'counter',
      ahkbridge_dropped_total: 'counter',
      ahkbridge_expired_total: 'counter',
      ahkbridge_connections: 'gauge',
      ahkbridge_clients_online: 'gauge',
      ahkbridge_sessions: 'gauge',
      ahkbridge_subscriptions: 'gauge',
      ahkbridge_retained_messages: 'gauge',
      ahkbridge_pending_requests: 'gauge',
      ahkbridge_uptime_seconds: 'gauge',
      ahkbridge_client_queued: 'gauge',
      ahkbridge_client_dropped_total: 'counter',
    });
    // Counters end in _total; gauges do not.
    for (const [name, type] of types) expect(name.endsWith('_total'), name).toBe(type === 'counter');

    const o = monitor.overview();
    expect(value('ahkbridge_info', { version: o.version })).toBe(1);
    // The broker's own system events are not client messages.
    expect(value('ahkbridge_messages_total')).toBe(3);
    // Three to `sub` and the disconnect event to `watcher`; the three queued for the
    // offline session are not written yet.
    expect(value('ahkbridge_deliveries_total')).toBe(4);
    expect(value('ahkbridge_dropped_total')).toBe(0);
    expect(value('ahkbridge_connections')).toBe(3);
    expect(value('ahkbridge_clients_online')).toBe(3);
    expect(value('ahkbridge_sessions')).toBe(4);
    expect(value('ahkbridge_subscriptions')).toBe(3);
    expect(value('ahkbridge_pending_requests')).toBe(0);
    expect(value('ahkbridge_uptime_seconds')).toBeGreaterThanOrEqual(0);

    // The odd id comes back whole from its escaped label, offline, with its queued messages.
    expect(value('ahkbridge_client_online', { client_id: oddId })).toBe(0);
    expect(value('ahkbridge_client_queued', { client_id: oddId })).toBe(3);
    expect(value('ahkbridge_client_online', { client_id: 'sub' })).toBe(1);
    expect(value('ahkbridge_client_dropped_total', { client_id: 'sub' })).toBe(0);
    const perClient = samples.filter((s) => s.name === 'ahkbridge_client_queued').map((s) => s.labels.client_id).sort();
    expect(perClient).toEqual(['odd\\id "quoted"\nline', 'pub', 'sub', 'watcher'].sort());
    // The raw text holds the escapes, never a raw newline inside a label.
    expect(text).toContain('client_id="odd\\\\id \\"quoted\\"\\nline"');
  });

  it('a broker without clients still has HELP and TYPE for its per-client metrics, and no samples', async () => {
    const b = await bed.broker();
    const { samples, types } = parseExposition(metricsText(b.broker.monitor()));
    expect(types.get('ahkbridge_client_queued')).toBe('gauge');
    expect(samples.filter((s) => s.name.startsWith('ahkbridge_client_'))).toEqual([]);
    expect(samples.find((s) => s.name === 'ahkbridge_sessions')?.value).toBe(0);
  });
});
