import { isRpcErrorObject } from '../../protocol/errors.js';
import { invalidParams } from '../../protocol/jsonrpc.js';
import { keepJson } from '../../protocol/raw-json.js';
import type { MethodSpec } from '../context.js';
import { requireString } from '../params.js';

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
    if (error !== undefined && error !== null && !(isRpcErrorObject(error) && Number.isInteger(error.code))) {
      throw invalidParams('error must be an object with an integer code and a string message');
    }
    // The result is answered after this frame's handling returns: keep its own bytes.
    const accepted = broker.requests.reply(token, keepJson(params.result), error ?? undefined);
    return { accepted };
  },
};
