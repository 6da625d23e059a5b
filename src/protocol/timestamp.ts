/**
 * ISO 8601 UTC with milliseconds and an explicit `+00:00` offset. A trailing `Z` would
 * break `datetime.fromisoformat` on the Python versions our users still run (< 3.11).
 */
export function isoTimestamp(ms: number = Date.now()): string {
  const iso = new Date(ms).toISOString();
  return `${iso.slice(0, -1)}+00:00`;
}
