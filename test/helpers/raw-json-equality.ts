/**
 * For tests that compare what the journal gives back with the records they gave it: a
 * stored payload comes back as a RawJson (the text it was stored in), which equals a
 * value when its parsed value does, and another RawJson when their texts are the same.
 */
import type { Tester } from '@vitest/expect';
import { expect } from 'vitest';
import { RawJson } from '../../src/protocol/raw-json.js';

const rawJsonEquals: Tester = function (a, b, testers) {
  if (!(a instanceof RawJson) && !(b instanceof RawJson)) return undefined;
  if (a instanceof RawJson && b instanceof RawJson) return a.toString() === b.toString();
  return this.equals(a instanceof RawJson ? a.value : a, b instanceof RawJson ? b.value : b, testers);
};

/** Register the tester for the calling test file. */
export function compareRawJsonByValue(): void {
  expect.addEqualityTesters([rawJsonEquals]);
}
