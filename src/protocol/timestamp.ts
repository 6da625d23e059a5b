/**
 * ISO 8601 UTC with milliseconds and an explicit `+00:00` offset. A trailing `Z` would
 * break `datetime.fromisoformat` on the Python versions our users still run (< 3.11).
 */
export function isoTimestamp(ms: number = Date.now()): string {
  if (!(ms >= FIRST_4_DIGIT_MS && ms <= LAST_4_DIGIT_MS)) return `${isoUtc(ms).slice(0, -1)}+00:00`;
  const t = Math.trunc(ms);
  const second = Math.floor(t / 1000);
  if (second !== stampSecond) {
    stamp.write(isoUtc(second * 1000), 0, SECOND_PREFIX_LENGTH, 'latin1');
    stampSecond = second;
  }
  const millis = t - second * 1000;
  stamp[SECOND_PREFIX_LENGTH] = 0x30 + Math.floor(millis / 100);
  stamp[SECOND_PREFIX_LENGTH + 1] = 0x30 + (Math.floor(millis / 10) % 10);
  stamp[SECOND_PREFIX_LENGTH + 2] = 0x30 + (millis % 10);
  return stamp.toString('latin1', 0, stamp.length);
}

/**
 * The last timestamp written, as bytes. A message is stamped with the time it arrived; at
 * the rates AutoHotkey scripts publish, nearly every message is in a millisecond of its
 * own, and building each stamp from eight padded numbers, a template and a slice was
 * about 230 bytes of garbage and the larger part of making the message. Its first 20
 * characters (`2026-12-04T01:45:12.`) change once a second; only the milliseconds are
 * written for each, and the string is read out once.
 */
const stamp = Buffer.from('0000-00-00T00:00:00.000+00:00', 'latin1');
const SECOND_PREFIX_LENGTH = 20;
let stampSecond = Number.NaN;

/** 0000-01-01T00:00:00.000Z and 9999-12-31T23:59:59.999Z: the years written with 4 digits. */
const FIRST_4_DIGIT_MS = -62_167_219_200_000;
const LAST_4_DIGIT_MS = 253_402_300_799_999;
const DAY_MS = 86_400_000;

/** A time's UTC calendar fields; `weekday` 0 is Sunday. */
interface UtcFields {
  year: number;
  month: number;
  day: number;
  weekday: number;
  hours: number;
  minutes: number;
  seconds: number;
  millis: number;
}

/**
 * The UTC fields of a time in years 0-9999 (`ms` between FIRST_4_DIGIT_MS and
 * LAST_4_DIGIT_MS), computed without a Date: V8 formats a date through its date cache,
 * whose first use loads ICU's time-zone data even for UTC, about 640 KB of resident
 * memory in a process that otherwise never needs it (every broker and tail logs and
 * stamps messages).
 */
function utcFields(ms: number): UtcFields {
  const t = Math.trunc(ms); // as Date's TimeClip does
  const days = Math.floor(t / DAY_MS);
  const inDay = t - days * DAY_MS;
  // The proleptic Gregorian date of a day count (H. Hinnant's civil_from_days): eras of
  // 400 years (146,097 days) starting on 0000-03-01, so the leap day ends a year.
  const z = days + 719_468;
  const era = Math.floor(z / 146_097);
  const dayOfEra = z - era * 146_097;
  const yearOfEra = Math.floor((dayOfEra - Math.floor(dayOfEra / 1460) + Math.floor(dayOfEra / 36_524) - Math.floor(dayOfEra / 146_096)) / 365);
  const dayOfYear = dayOfEra - (365 * yearOfEra + Math.floor(yearOfEra / 4) - Math.floor(yearOfEra / 100));
  const monthFromMarch = Math.floor((5 * dayOfYear + 2) / 153);
  const month = monthFromMarch < 10 ? monthFromMarch + 3 : monthFromMarch - 9;
  return {
    year: yearOfEra + era * 400 + (month <= 2 ? 1 : 0),
    month,
    day: dayOfYear - Math.floor((153 * monthFromMarch + 2) / 5) + 1,
    // 1970-01-01 was a Thursday.
    weekday: (((days + 4) % 7) + 7) % 7,
    hours: Math.floor(inDay / 3_600_000),
    minutes: Math.floor(inDay / 60_000) % 60,
    seconds: Math.floor(inDay / 1000) % 60,
    millis: inDay % 1000,
  };
}

/**
 * What `new Date(ms).toISOString()` returns (`2026-12-04T01:45:12.345Z`), without a Date
 * (see utcFields). Years outside 0-9999 and invalid times are left to `Date` (six-digit
 * years; a RangeError).
 */
export function isoUtc(ms: number): string {
  if (!(ms >= FIRST_4_DIGIT_MS && ms <= LAST_4_DIGIT_MS)) return new Date(ms).toISOString();
  const f = utcFields(ms);
  return `${pad(f.year, 4)}-${pad(f.month, 2)}-${pad(f.day, 2)}T${pad(f.hours, 2)}:${pad(f.minutes, 2)}:${pad(f.seconds, 2)}.${pad(f.millis, 3)}Z`;
}

const WEEKDAYS = ['Sun', 'Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat'] as const;
const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'] as const;

/**
 * An HTTP date (`Fri, 04 Dec 2026 01:45:12 GMT`, what `new Date(ms).toUTCString()`
 * returns), without a Date (see utcFields): Node's HTTP server writes its Date header
 * through `toUTCString`. Years outside 0-9999 and invalid times are left to `Date`.
 */
export function httpDate(ms: number): string {
  if (!(ms >= FIRST_4_DIGIT_MS && ms <= LAST_4_DIGIT_MS)) return new Date(ms).toUTCString();
  const f = utcFields(ms);
  return `${WEEKDAYS[f.weekday]!}, ${pad(f.day, 2)} ${MONTHS[f.month - 1]!} ${pad(f.year, 4)} ${pad(f.hours, 2)}:${pad(f.minutes, 2)}:${pad(f.seconds, 2)} GMT`;
}

function pad(value: number, width: number): string {
  return String(value).padStart(width, '0');
}
