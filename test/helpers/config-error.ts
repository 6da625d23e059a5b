/** Assertions on configuration errors, shared by the config, http and federation setting tests. */
import { expect } from 'vitest';
import { ConfigError } from '../../src/broker/index.js';

/** Run `fn`, expecting a ConfigError; returns its message. */
export function configErrorOf(fn: () => unknown): string {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(ConfigError);
    return (err as Error).message;
  }
  throw new Error('expected a ConfigError, nothing was thrown');
}
