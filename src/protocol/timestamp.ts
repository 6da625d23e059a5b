/**
 * ISO 8601 UTC with milliseconds and an explicit `+00:00` offset. A trailing `Z` would
 * break `datetime.fromisoformat` on the Python versions our users still run (< 3.11).
 */
export function isoTimestamp(ms: number = Date.now()): string {
  const iso = isoUtc(ms);
  return `${iso.slice(0, -1)}+00:00`;
}

/** 0000-01-01T00:00:00.000Z and 9999-12-31T23:59:59.999Z: the years written with 4 digits. */
const FIRST_4_DIGIT_MS = -62_167_219_200_000;
const LAST_4_DIGIT_MS = 253_402_300_799_999;
const DAY_MS = 86_400_000;

/**
 * What `new Date(ms).toISOString()` returns (`2026-12-04T01:45:12.345Z`), computed without
 * it: V8 formats a date through its date cache, whose first use loads ICU's time-zone data
 * even for UTC, about 640 KB of resident memory in a process that otherwise never needs
 * it (every broker and tail logs and stamps messages). Years outside 0-9999 and invalid
 * times are left to `Date` (six-digit years; a RangeError).
 */
export function isoUtc(ms: number): string {
  if (!(ms >= FIRST_4_DIGIT_MS && ms <= LAST_4_DIGIT_MS)) return new Date(ms).toISOString();
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
  const day = dayOfYear - Math.floor((153 * monthFromMarch + 2) / 5) + 1;
  const month = monthFromMarch < 10 ? monthFromMarch + 3 : monthFromMarch - 9;
  const year = yearOfEra + era * 400 + (month <= 2 ? 1 : 0);
  const hours = Math.floor(inDay / 3_600_000);
  const minutes = Math.floor(inDay / 60_000) % 60;
  const seconds = Math.floor(inDay / 1000) % 60;
  const millis = inDay % 1000;
  return `${pad(year, 4)}-${pad(month, 2)}-${pad(day, 2)}T${pad(hours, 2)}:${pad(minutes, 2)}:${pad(seconds, 2)}.${pad(millis, 3)}Z`;
}

function pad(value: number, width: number): string {
  return String(value).padStart(width, '0');
}
