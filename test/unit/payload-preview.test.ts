/** Payloads as the status page shows them: whole when small, cut JSON text past 2,000 characters. */
import { describe, expect, it } from 'vitest';
import { PREVIEW_CHARS, previewPayload } from '../../bridge/status-page/payload-preview.js';

describe('previewPayload', () => {
  it('the bound is 2,000 characters of JSON', () => {
    expect(PREVIEW_CHARS).toBe(2000);
  });

  it.each([
    ['null', null],
    ['a number', 42.5],
    ['a boolean', false],
    ['a short string', 'hello'],
    ['an empty string', ''],
    ['a small object', { job: 17, tags: ['a', 'b'] }],
    ['an array', [1, 2, 3]],
  ])('leaves %s untouched (the same value)', (_what, payload) => {
    const p = previewPayload(payload);
    expect(p.truncated).toBe(false);
    expect(p.payload).toBe(payload);
  });

  it('keeps a string whose JSON is exactly 2,000 characters whole, and cuts one character more', () => {
    const s = 'x'.repeat(1998);
    expect(previewPayload(s)).toEqual({ payload: s, truncated: false });
    expect(previewPayload(s + 'x')).toEqual({ payload: `"${s}x`, truncated: true });
  });

  it('keeps an object whose JSON is exactly 2,000 characters whole', () => {
    const o = { s: 'x'.repeat(2000 - '{"s":""}'.length) };
    expect(JSON.stringify(o)).toHaveLength(2000);
    expect(previewPayload(o)).toEqual({ payload: o, truncated: false });
  });

  it('cuts a 3,000-character string to the first 2,000 characters of its JSON text', () => {
    const s = 'a'.repeat(3000);
    const p = previewPayload(s);
    expect(p.truncated).toBe(true);
    expect(p.payload).toBe(JSON.stringify(s).slice(0, 2000));
    expect(p.payload).toHaveLength(2000);
    expect((p.payload as string).startsWith('"aaa')).toBe(true);
  });

  it('cuts an object of 3,000 characters of JSON to the first 2,000', () => {
    const o = { job: 17, notes: 'n'.repeat(3000) };
    const p = previewPayload(o);
    expect(p.truncated).toBe(true);
    expect(p.payload).toBe(JSON.stringify(o).slice(0, 2000));
    expect((p.payload as string).startsWith('{"job":17,"notes":"nnn')).toBe(true);
  });

  it('measures a string by its JSON text, escapes included', () => {
    // 1,500 characters, but over 3,000 of JSON: each quote is escaped.
    for (const payload of ['"'.repeat(1500), { s: '"'.repeat(1500) }]) {
      const p = previewPayload(payload);
      expect(p.truncated).toBe(true);
      expect(p.payload).toBe(JSON.stringify(payload).slice(0, 2000));
    }
    // Control characters take six each as \u00XX: 400 of them are 2,402 characters.
    expect(previewPayload('\u0001'.repeat(400)).truncated).toBe(true);
    expect(previewPayload('\u0001'.repeat(300))).toEqual({ payload: '\u0001'.repeat(300), truncated: false });
  });
});
