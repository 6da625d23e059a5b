/**
 * `requireSendableTopic` (src/broker/params.ts) passes a topic a client may send to and
 * refuses everything else with the contract's error, however often a valid topic came
 * just before: it remembers the last topic that passed, and that must never let another
 * value through.
 */
import { describe, expect, it } from 'vitest';
import { requireSendableTopic } from '../../src/broker/params.js';
import { ErrorCode, RpcError } from '../../src/protocol/errors.js';

/** The error `fn` throws, as the contract codes it. */
function codeOf(fn: () => unknown): number | undefined {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(RpcError);
    return (err as RpcError).code;
  }
  return undefined;
}

describe('a topic a client may send to', () => {
  // First in the file: the module has seen no topic yet.
  it('is required before any topic passed', () => {
    expect(codeOf(() => requireSendableTopic(null))).toBe(ErrorCode.INVALID_PARAMS);
    expect(codeOf(() => requireSendableTopic(undefined))).toBe(ErrorCode.INVALID_PARAMS);
  });

  it('passes, and passes again', () => {
    expect(requireSendableTopic('jobs.created')).toBe('jobs.created');
    expect(requireSendableTopic('jobs.created')).toBe('jobs.created');
    expect(requireSendableTopic(`jobs.${'created'}`)).toBe('jobs.created'); // an equal string, not the same one
  });

  it('is the only thing that passes right after it did', () => {
    const refused: [unknown, number][] = [
      [null, ErrorCode.INVALID_PARAMS],
      [undefined, ErrorCode.INVALID_PARAMS],
      ['', ErrorCode.INVALID_PARAMS],
      [42, ErrorCode.INVALID_PARAMS],
      [['jobs.created'], ErrorCode.INVALID_PARAMS],
      ['jobs..created', ErrorCode.INVALID_PARAMS],
      ['jobs.*', ErrorCode.INVALID_PARAMS],
      ['system.client.connected', ErrorCode.PUBLISH_ERROR],
      ['_internal.x', ErrorCode.PUBLISH_ERROR],
    ];
    for (const [topic, code] of refused) {
      expect(requireSendableTopic('jobs.created')).toBe('jobs.created');
      expect(codeOf(() => requireSendableTopic(topic)), JSON.stringify(topic)).toBe(code);
      // And again, with the refused value the last one seen.
      expect(codeOf(() => requireSendableTopic(topic)), JSON.stringify(topic)).toBe(code);
    }
  });
});
