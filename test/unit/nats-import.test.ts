import { headers } from '@nats-io/transport-node';
import { describe, expect, it } from 'vitest';
import {
  contractTimestamp,
  importedMeta,
  importSubjectError,
  isNatsPlumbing,
  printable,
  requestTimeoutOf,
  subjectError,
} from '../../src/broker/federation/nats-import.js';

const hdrs = (fields: Record<string, string>): ReturnType<typeof headers> => {
  const h = headers();
  for (const [k, v] of Object.entries(fields)) h.set(k, v);
  return h;
};

describe('isNatsPlumbing(subject)', () => {
  it.each(['_INBOX.abc', '_INBOX.abc.def', '_INBOX', '$JS.API.INFO', '$SYS.REQ.SERVER.PING', '$KV.bucket.key', '$x'])('%s is the engine\'s own', (subject) => {
    expect(isNatsPlumbing(subject)).toBe(true);
  });

  it.each(['jobs.activated', '_INBOXES.x', 'x._INBOX.y', 'a.$b', '_inbox.x'])('%s is an application subject', (subject) => {
    expect(isNatsPlumbing(subject)).toBe(false);
  });
});

describe('subjectError(topic): what cannot be exported', () => {
  it.each([
    ['jobs.saw 1', 'whitespace'],
    ['jobs.>', 'a ">" level (a NATS wildcard)'],
    ['>.a', 'a ">" level (a NATS wildcard)'],
    ['_INBOX.spoof', "the engine's own space (_INBOX., $)"],
    ['$JS.API.STREAM.DELETE.orders', "the engine's own space (_INBOX., $)"],
  ])('%j: %s', (topic, reason) => {
    expect(subjectError(topic)).toBe(reason);
  });

  it.each(['jobs.activated', 'a.x>y', 'a.$b', 'Ünïcode.ok'])('%j crosses', (topic) => {
    expect(subjectError(topic)).toBeNull();
  });
});

describe('importSubjectError(subject): what is not imported', () => {
  it.each([
    ['h.*', 'topic contains a wildcard (*, + or #)'],
    ['h.#', 'topic contains a wildcard (*, + or #)'],
    ['h.+', 'topic contains a wildcard (*, + or #)'],
    ['h.c\u0001d', 'topic contains a control character'],
    ['h..x', 'topic has an empty level'],
    ['h.x.', 'topic has an empty level'],
    ['hh.>', 'a ">" level (a NATS wildcard)'],
  ])('%j: %s', (subject, reason) => {
    expect(importSubjectError(subject)).toBe(reason);
  });

  it.each(['h.ok', 'jobs', 'a.x>y', 'h.$x', 'h.system'])('%j is imported', (subject) => {
    expect(importSubjectError(subject)).toBeNull();
  });
});

describe('contractTimestamp(text)', () => {
  it.each([
    ['2024-01-15T10:30:00.000+00:00', '2024-01-15T10:30:00.000+00:00'],
    ['2024-01-15T10:30:00Z', '2024-01-15T10:30:00.000+00:00'],
    ['2024-01-15T10:30:00.5Z', '2024-01-15T10:30:00.500+00:00'],
    ['2024-01-15T10:30:00.123456789Z', '2024-01-15T10:30:00.123+00:00'],
    ['2024-01-15T11:30:00.000+01:00', '2024-01-15T10:30:00.000+00:00'],
    ['2024-01-15T05:00:00-05:30', '2024-01-15T10:30:00.000+00:00'],
    ['2024-02-29T00:00:00.000+00:00', '2024-02-29T00:00:00.000+00:00'],
  ])('%s is %s', (text, stamp) => {
    expect(contractTimestamp(text)).toBe(stamp);
  });

  it.each([
    ['not-a-time'],
    [''],
    ['2024-01-15'], // a date alone
    ['2024-01-15T10:30:00'], // no offset: this PC's zone, whatever that is
    ['2024-01-15 10:30:00Z'],
    ['2024-02-30T10:30:00Z'], // V8's Date.parse would take it as 1 March
    ['2023-02-29T10:30:00Z'],
    ['2024-13-01T10:30:00Z'],
    ['2024-01-15T24:00:00Z'],
    ['2024-01-15T10:60:00Z'],
    ['2024-01-15T10:30:60Z'],
    ['2024-01-15T10:30:00+24:00'],
    ['Mon, 15 Jan 2024 10:30:00 GMT'],
    ['1705314600000'],
  ])('%j is not an ISO 8601 date and time with an offset', (text) => {
    expect(contractTimestamp(text)).toBeNull();
  });
});

describe('importedMeta(headers)', () => {
  const NOW = Date.parse('2026-12-07T06:00:00.000Z');

  it('takes what our brokers send as it is', () => {
    const replaced: string[] = [];
    const meta = importedMeta(
      hdrs({ 'Ahk-Origin': 'ahk-1', 'Ahk-Sender': 'saw-pc', 'Ahk-Id': 'm-1', 'Ahk-Qos': '1', 'Ahk-Time': '2024-01-15T10:30:00.000+00:00', 'Ahk-Retain': '1' }),
      NOW,
      replaced,
    );
    expect(meta).toEqual({ origin: 'ahk-1', sender: 'saw-pc', id: 'm-1', qos: 1, timestamp: '2024-01-15T10:30:00.000+00:00', retain: true });
    expect(replaced).toEqual([]);
  });

  it("gives a foreign publisher's message (no headers) this broker's values, quietly", () => {
    const replaced: string[] = [];
    const meta = importedMeta(undefined, NOW, replaced);
    expect(meta).toEqual({ origin: null, sender: 'nats', id: expect.stringMatching(/^[0-9a-f-]{36}$/), qos: 0, timestamp: '2026-12-07T06:00:00.000+00:00' });
    expect(replaced).toEqual([]);
  });

  it('replaces each header that is not valid, and names it', () => {
    const replaced: string[] = [];
    const meta = importedMeta(
      hdrs({ 'Ahk-Origin': 'a\u0001b', 'Ahk-Sender': 'broker', 'Ahk-Id': '', 'Ahk-Qos': '2', 'Ahk-Time': 'yesterday', 'Ahk-Retain': 'yes' }),
      NOW,
      replaced,
    );
    expect(meta).toEqual({ origin: null, sender: 'nats', id: expect.stringMatching(/^[0-9a-f-]{36}$/), qos: 0, timestamp: '2026-12-07T06:00:00.000+00:00' });
    expect(replaced.sort()).toEqual(['Ahk-Id', 'Ahk-Origin', 'Ahk-Qos', 'Ahk-Retain', 'Ahk-Sender', 'Ahk-Time']);
  });

  it('takes a sender, id or origin of up to 128 characters, not one longer', () => {
    const replaced: string[] = [];
    expect(importedMeta(hdrs({ 'Ahk-Sender': 's'.repeat(128) }), NOW, replaced).sender).toBe('s'.repeat(128));
    expect(importedMeta(hdrs({ 'Ahk-Sender': 's'.repeat(129) }), NOW, replaced).sender).toBe('nats');
    expect(replaced).toEqual(['Ahk-Sender']);
  });
});

describe('requestTimeoutOf(headers)', () => {
  it.each([
    ['2500', 2500],
    ['1.5', 1.5],
    ['300000', 300_000],
  ])('Ahk-Timeout %s is %d ms', (value, ms) => {
    const replaced: string[] = [];
    expect(requestTimeoutOf(hdrs({ 'Ahk-Timeout': value }), 5000, replaced)).toBe(ms);
    expect(replaced).toEqual([]);
  });

  it.each(['0', '-5', '300001', 'Infinity', 'NaN', 'soon', '1e12'])('Ahk-Timeout %s is not valid: the default instead', (value) => {
    const replaced: string[] = [];
    expect(requestTimeoutOf(hdrs({ 'Ahk-Timeout': value }), 5000, replaced)).toBe(5000);
    expect(replaced).toEqual(['Ahk-Timeout']);
  });

  it('no header: the default, quietly', () => {
    const replaced: string[] = [];
    expect(requestTimeoutOf(undefined, 5000, replaced)).toBe(5000);
    expect(requestTimeoutOf(headers(), 5000, replaced)).toBe(5000);
    expect(replaced).toEqual([]);
  });
});

describe('printable(text)', () => {
  it('escapes control characters and cuts long text, for one log line', () => {
    expect(printable('h.c\u0001d\n')).toBe('h.c\\u0001d\\u000a');
    expect(printable('x'.repeat(300))).toBe(`${'x'.repeat(200)}...`);
  });
});
