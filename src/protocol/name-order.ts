/**
 * The order client ids, script keys and bridge ids are listed in: by their lower-case
 * forms, then by code unit, so `cad` and `CAD` stay apart and next to each other, and
 * the order is the same on every machine. Not `localeCompare`: its first use loads ICU's
 * collation data, about 3 MB of resident memory in a broker serving its status page, and
 * its order follows the machine's locale.
 */
export function compareNames(a: string, b: string): number {
  const lowerA = a.toLowerCase();
  const lowerB = b.toLowerCase();
  if (lowerA !== lowerB) return lowerA < lowerB ? -1 : 1;
  return a < b ? -1 : a > b ? 1 : 0;
}
