import { describe, expect, it } from 'vitest';
import { payloadBytes } from '../../src/broker/federation/payload-codec.js';
import { RawJson } from '../../src/protocol/raw-json.js';

describe('payloadBytes', () => {
  it('counts the UTF-8 bytes of the JSON text a delivery carries, escapes included', () => {
    const cases: unknown[] = ['plain text', 'é and 😀', '\u0001'.repeat(1000), 'say "hi" \\ there', 'lone \ud800 half', { a: 'é', n: [1, 2] }, [null, true], 12.5, null];
    for (const value of cases) expect(payloadBytes(value), JSON.stringify(value).slice(0, 40)).toBe(Buffer.byteLength(JSON.stringify(value)));
    // A control byte is one byte as text and six as \u0001: a foreign payload measured as
    // text would pass the import check and be delivered six times larger.
    expect(payloadBytes('\u0001'.repeat(1000))).toBe(6002);
  });

  it('takes a kept text at its own length', () => {
    const bytes = Buffer.from('xx{"k":"日本"}yy');
    expect(payloadBytes(new RawJson(bytes, 2, bytes.length - 2, true))).toBe(Buffer.byteLength('{"k":"日本"}'));
  });
});
