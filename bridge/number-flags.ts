/**
 * Numbers from the command line, read strictly: decimal digits, and a fraction where a
 * duration allows one. `Number()` takes what nobody types as a number: "" and " " are 0,
 * "0x3b82" is 15234, "1e3" is 1000, and "Infinity" seconds make a timer that fires at once.
 */
import { MAX_TIMER_S } from '../src/protocol/long-timeout.js';
import { CliError } from './cli-error.js';

const WHOLE = /^\d+$/;
const DECIMAL = /^(?:\d+(?:\.\d*)?|\.\d+)$/;

/** What a duration flag accepts by default: what a timer can wait (2147483 s, 24.8 days). */
export const LONGEST_WAIT_S = MAX_TIMER_S;

/** `raw` as a whole number from `min` to `max` (decimal digits only), or a CliError naming `flag`. */
export function wholeNumberFlag(raw: string, flag: string, min = 1, max = Number.MAX_SAFE_INTEGER): number {
  const text = raw.trim();
  const n = WHOLE.test(text) ? Number(text) : Number.NaN;
  if (n >= min && n <= max) return n;
  const want = min === 1 && max === Number.MAX_SAFE_INTEGER ? 'a positive whole number' : `a whole number from ${min} to ${max}`;
  throw new CliError(`invalid ${flag} "${raw}": use ${want}`);
}

/**
 * `raw` as seconds (digits, a fraction allowed: `0.5`, `2`), more than 0 (or 0 too, with
 * `zero`) and at most `max` (undefined: no bound, for what sets no timer), or a CliError
 * naming `flag`.
 */
export function secondsFlag(raw: string, flag: string, opts: { max?: number; zero?: boolean } = {}): number {
  const { max = LONGEST_WAIT_S, zero = false } = opts;
  const text = raw.trim();
  const n = DECIMAL.test(text) ? Number(text) : Number.NaN;
  if ((zero ? n >= 0 : n > 0) && n <= max) return n;
  const bound = Number.isFinite(max) ? ` and at most ${max}` : '';
  throw new CliError(`invalid ${flag} "${raw}": use seconds, ${zero ? '0 or more' : 'more than 0'}${bound}`);
}
