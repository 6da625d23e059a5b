import { isRpcErrorObject } from '../../protocol/errors.js';
import { invalidParams } from '../../protocol/jsonrpc.js';
import { keepJson } from '../../protocol/raw-json.js';
import type { SelfEncodingResult } from '../answer-encoder.js';
import type { MethodSpec } from '../context.js';
import { requireString } from '../params.js';

/**
 * A `reply`'s answer, `{accepted}`, as bytes made once: every round trip of a request
 * answers one, and `JSON.stringify` of its response was the largest share of the
 * broker's own JavaScript per round trip in a request/reply profile.
 */
export class ReplyAnswer implements SelfEncodingResult {
  private readonly json: Buffer;

  constructor(readonly accepted: boolean) {
    this.json = Buffer.from(JSON.stringify(this.toJSON()), 'latin1');
  }

  toJSON(): { accepted: boolean } {
    return { accepted: this.accepted };
  }

  jsonBytes(): number {
    return this.json.length;
  }

  writeJson(target: Buffer, at: number): number {
    target.set(this.json, at);
    return this.json.length;
  }
}

const ACCEPTED = new ReplyAnswer(true);
const NOT_ACCEPTED = new ReplyAnswer(false);

/**
 * `reply`: answers a request delivery. Only the first non-null result or error is
 * accepted; null results, late replies and unknown tokens get `accepted: false`.
 */
export const reply: MethodSpec = {
  name: 'reply',
  params: ['reply_to', 'result', 'error'],
  requiresConnect: true,
  rawParams: ['result'],
  handle({ broker, params }) {
    const token = requireString(params, 'reply_to');
    const error = params.error;
    if (error !== undefined && error !== null && !(isRpcErrorObject(error) && Number.isSafeInteger(error.code))) {
      throw invalidParams('error must be an object with an integer code (within +/-(2^53 - 1), so it reaches the requester as sent) and a string message');
    }
    // The result is answered after this frame's handling returns: keep its own bytes.
    const accepted = broker.requests.reply(token, keepJson(params.result), error ?? undefined);
    return accepted ? ACCEPTED : NOT_ACCEPTED;
  },
};
