import { describe, expect, it } from 'vitest';
import { httpDate, isoTimestamp, isoUtc } from '../../src/protocol/timestamp.js';
import { Rng } from '../helpers/fuzz/prng.js';

const FIRST_4_DIGIT_MS = -62_167_219_200_000; // 0000-01-01T00:00:00.000Z
const LAST_4_DIGIT_MS = 253_402_300_799_999; // 9999-12-31T23:59:59.999Z
const DAY_MS = 86_400_000;

describe('isoUtc: toISOString without a Date', () => {
  it('writes what toISOString writes for 200,000 random times over years 0-9999 (seeded)', () => {
    const rng = new Rng(20261204);
    const span = LAST_4_DIGIT_MS - FIRST_4_DIGIT_MS;
    let differing = 0;
    let first = '';
    for (let i = 0; i < 200_000; i++) {
      const ms = FIRST_4_DIGIT_MS + Math.floor(rng.next() * span);
      const expected = new Date(ms).toISOString();
      if (isoUtc(ms) !== expected) {
        differing += 1;
        first ||= `${ms}: ${isoUtc(ms)} instead of ${expected}`;
      }
    }
    expect(first).toBe('');
    expect(differing).toBe(0);
  });

  it('gets every day of the leap-year rules right, and each day’s first and last millisecond', () => {
    // 1600 and 2000 are leap years, 1700, 1800, 1900 and 2100 are not; 1969/1970 crosses zero.
    const from = Date.UTC(1599, 11, 1);
    const to = Date.UTC(2101, 2, 31);
    const wrong: string[] = [];
    for (let day = from; day <= to; day += DAY_MS) {
      for (const ms of [day, day + DAY_MS - 1]) {
        if (isoUtc(ms) !== new Date(ms).toISOString()) wrong.push(new Date(ms).toISOString());
      }
    }
    expect(wrong).toEqual([]);
    expect(isoUtc(Date.UTC(2000, 1, 29, 12))).toBe('2000-02-29T12:00:00.000Z');
    expect(isoUtc(Date.UTC(1900, 1, 28, 23, 59, 59, 999) + 1)).toBe('1900-03-01T00:00:00.000Z');
    expect(isoUtc(-1)).toBe('1969-12-31T23:59:59.999Z');
  });

  it('writes the first and last four-digit years, and leaves the rest to Date', () => {
    expect(isoUtc(FIRST_4_DIGIT_MS)).toBe('0000-01-01T00:00:00.000Z');
    expect(isoUtc(LAST_4_DIGIT_MS)).toBe('9999-12-31T23:59:59.999Z');
    expect(isoUtc(LAST_4_DIGIT_MS + 1)).toBe('+010000-01-01T00:00:00.000Z');
    expect(isoUtc(FIRST_4_DIGIT_MS - 1)).toBe('-000001-12-31T23:59:59.999Z');
    expect(() => isoUtc(Number.NaN)).toThrow(RangeError);
    expect(() => isoUtc(8.64e15 + 1)).toThrow(RangeError);
  });

  it('drops a fraction of a millisecond as Date does', () => {
    for (const ms of [1.9, -1.9, -0.5, 1_733_276_712_345.75]) expect(isoUtc(ms)).toBe(new Date(ms).toISOString());
  });
});

describe('httpDate: toUTCString without a Date', () => {
  it('writes what toUTCString writes for 200,000 random times over years 0-9999 (seeded), and every day 1599-2101', () => {
    const rng = new Rng(4122026);
    const wrong: string[] = [];
    for (let i = 0; i < 200_000; i++) {
      const ms = FIRST_4_DIGIT_MS + Math.floor(rng.next() * (LAST_4_DIGIT_MS - FIRST_4_DIGIT_MS));
      if (httpDate(ms) !== new Date(ms).toUTCString()) wrong.push(`${ms}: ${httpDate(ms)} instead of ${new Date(ms).toUTCString()}`);
    }
    for (let day = Date.UTC(1599, 11, 1); day <= Date.UTC(2101, 2, 31); day += DAY_MS) {
      if (httpDate(day) !== new Date(day).toUTCString()) wrong.push(new Date(day).toUTCString());
    }
    expect(wrong.slice(0, 5)).toEqual([]);
  });

  it('names the weekday and month as HTTP does, and leaves other years to Date', () => {
    expect(httpDate(Date.UTC(2026, 11, 4, 1, 45, 12, 999))).toBe('Fri, 04 Dec 2026 01:45:12 GMT');
    expect(httpDate(0)).toBe('Thu, 01 Jan 1970 00:00:00 GMT');
    expect(httpDate(-1)).toBe('Wed, 31 Dec 1969 23:59:59 GMT');
    expect(httpDate(FIRST_4_DIGIT_MS)).toBe(new Date(FIRST_4_DIGIT_MS).toUTCString());
    expect(httpDate(LAST_4_DIGIT_MS + 1)).toBe(new Date(LAST_4_DIGIT_MS + 1).toUTCString());
    expect(() => httpDate(Number.NaN)).not.toThrow();
    expect(httpDate(Number.NaN)).toBe('Invalid Date');
  });
});

describe('isoTimestamp', () => {
  it('is the ISO time with +00:00 in place of Z', () => {
    expect(isoTimestamp(Date.UTC(2026, 11, 4, 1, 45, 12, 345))).toBe('2026-12-04T01:45:12.345+00:00');
  });

  it('is right for times in any order: within a second, across seconds, back and forth (seeded)', () => {
    const rng = new Rng(20261205);
    const iso = (ms: number): string => `${new Date(ms).toISOString().slice(0, -1)}+00:00`;
    let ms = Date.UTC(2026, 11, 31, 23, 59, 58, 990);
    for (let i = 0; i < 20_000; i++) {
      // Mostly small steps forward (messages as they arrive), now and then a jump either way.
      ms += rng.chance(0.1) ? rng.int(-100_000_000, 100_000_000) : rng.int(0, 2);
      expect(isoTimestamp(ms)).toBe(iso(ms));
      expect(isoTimestamp(ms + 0.75)).toBe(iso(ms)); // a fraction of a millisecond is dropped
    }
    for (const edge of [FIRST_4_DIGIT_MS, FIRST_4_DIGIT_MS + 999, -1, 0, 999, 1000, LAST_4_DIGIT_MS]) expect(isoTimestamp(edge), String(edge)).toBe(iso(edge));
    expect(isoTimestamp(LAST_4_DIGIT_MS + 1)).toBe('+010000-01-01T00:00:00.000+00:00');
  });

  it('returns a string that later stamps do not change', () => {
    const first = isoTimestamp(Date.UTC(2026, 0, 1, 0, 0, 0, 1));
    isoTimestamp(Date.UTC(2027, 5, 6, 7, 8, 9, 999));
    expect(first).toBe('2026-01-01T00:00:00.001+00:00');
  });
});
