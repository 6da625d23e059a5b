import { describe, expect, it } from 'vitest';
import { ErrorCode, RpcError } from '../../src/protocol/errors.js';
import {
  classify,
  errorObject,
  errorResponse,
  invalidParams,
  invalidRequest,
  methodNotFound,
  notification,
  parseError,
  request,
  resultObject,
  resultResponse,
} from '../../src/protocol/jsonrpc.js';

const parse = (text: string): unknown => JSON.parse(text);

describe('classify: examples from the JSON-RPC 2.0 specification', () => {
  it('call with positional parameters', () => {
    expect(classify(parse('{"jsonrpc": "2.0", "method": "subtract", "params": [42, 23], "id": 1}'))).toEqual({
      kind: 'call',
      method: 'subtract',
      params: [42, 23],
      id: 1,
    });
  });

  it('call with named parameters', () => {
    expect(
      classify(parse('{"jsonrpc": "2.0", "method": "subtract", "params": {"subtrahend": 23, "minuend": 42}, "id": 3}')),
    ).toEqual({ kind: 'call', method: 'subtract', params: { subtrahend: 23, minuend: 42 }, id: 3 });
  });

  it('notification (no id) keeps id undefined, distinct from null', () => {
    const c = classify(parse('{"jsonrpc": "2.0", "method": "update", "params": [1,2,3,4,5]}'));
    expect(c).toEqual({ kind: 'call', method: 'update', params: [1, 2, 3, 4, 5], id: undefined });
    expect(c.kind === 'call' && c.id === undefined).toBe(true);
    const n = classify(parse('{"jsonrpc": "2.0", "method": "foobar"}'));
    expect(n).toMatchObject({ kind: 'call', method: 'foobar', params: undefined });
    expect((n as { id: unknown }).id).toBeUndefined();
  });

  it('call to a non-existent method is still a well-formed call', () => {
    expect(classify(parse('{"jsonrpc": "2.0", "method": "foobar", "id": "1"}'))).toEqual({
      kind: 'call',
      method: 'foobar',
      params: undefined,
      id: '1',
    });
  });

  it('invalid Request object: method not a string, params a string', () => {
    expect(classify(parse('{"jsonrpc": "2.0", "method": 1, "params": "bar"}'))).toMatchObject({ kind: 'invalid', id: null });
  });

  it('empty array and non-object batch elements are invalid with id null', () => {
    for (const v of [[], 1, 2, 3, 'x', null, true]) {
      expect(classify(v), JSON.stringify(v)).toEqual({ kind: 'invalid', id: null, reason: 'expected a JSON-RPC 2.0 object' });
    }
  });

  it('mixed batch elements classify independently', () => {
    const batch = parse(`[
      {"jsonrpc": "2.0", "method": "sum", "params": [1,2,4], "id": "1"},
      {"jsonrpc": "2.0", "method": "notify_hello", "params": [7]},
      {"jsonrpc": "2.0", "method": "subtract", "params": [42,23], "id": "2"},
      {"foo": "boo"},
      {"jsonrpc": "2.0", "method": "foo.get", "params": {"name": "myself"}, "id": "5"},
      {"jsonrpc": "2.0", "method": "get_data", "id": "9"}
    ]`) as unknown[];
    expect(batch.map((v) => classify(v).kind)).toEqual(['call', 'call', 'call', 'invalid', 'call', 'call']);
    expect(classify(batch[3])).toMatchObject({ kind: 'invalid', id: null, reason: 'jsonrpc must be "2.0"' });
  });

  it('responses: result and error', () => {
    expect(classify(parse('{"jsonrpc": "2.0", "result": 19, "id": 1}'))).toEqual({ kind: 'response', id: 1, result: 19 });
    expect(classify(parse('{"jsonrpc": "2.0", "result": null, "id": "a"}'))).toEqual({ kind: 'response', id: 'a', result: null });
    expect(
      classify(parse('{"jsonrpc": "2.0", "error": {"code": -32600, "message": "Invalid Request"}, "id": null}')),
    ).toEqual({ kind: 'response', id: null, error: { code: -32600, message: 'Invalid Request' } });
  });
});

describe('classify: edge cases', () => {
  it.each([
    ['missing jsonrpc', { method: 'ping', id: 7 }, 7],
    ['version 1.0', { jsonrpc: '1.0', method: 'ping', id: 'x' }, 'x'],
    ['version as a number', { jsonrpc: 2.0, method: 'ping', id: 8 }, 8],
    ['wrong version, object id', { jsonrpc: '1.0', method: 'ping', id: { a: 1 } }, null],
  ])('wrong or missing jsonrpc (%s) is invalid, echoing a usable id', (_name, value, id) => {
    expect(classify(value)).toEqual({ kind: 'invalid', id, reason: 'jsonrpc must be "2.0"' });
  });

  it.each([
    ['number', 1],
    ['null', null],
    ['boolean', false],
    ['array', ['ping']],
    ['object', { name: 'ping' }],
  ])('method that is a %s is invalid and echoes the id', (_name, method) => {
    expect(classify({ jsonrpc: '2.0', method, id: 4 })).toEqual({ kind: 'invalid', id: 4, reason: 'method must be a string' });
  });

  it('missing method (and no result/error) is invalid', () => {
    expect(classify({ jsonrpc: '2.0', id: 'q' })).toEqual({ kind: 'invalid', id: 'q', reason: 'method is missing' });
    expect(classify({ jsonrpc: '2.0' })).toEqual({ kind: 'invalid', id: null, reason: 'method is missing' });
  });

  it('a result without an id is not a response', () => {
    expect(classify({ jsonrpc: '2.0', result: 1 })).toEqual({ kind: 'invalid', id: null, reason: 'method is missing' });
  });

  it.each([
    ['a string', 'bar'],
    ['a number', 42],
    ['a boolean', true],
    ['null', null],
  ])('params that is %s makes the request invalid (-32600), echoing the id', (_name, params) => {
    expect(classify({ jsonrpc: '2.0', method: 'publish', params, id: 11 })).toEqual({
      kind: 'invalid',
      id: 11,
      reason: 'params must be an object or an array',
    });
  });

  it.each([
    ['object', { a: 1 }],
    ['array', [1]],
    ['boolean', true],
  ])('an id that is an %s is invalid and answered with id null', (_name, id) => {
    expect(classify({ jsonrpc: '2.0', method: 'ping', id })).toEqual({
      kind: 'invalid',
      id: null,
      reason: 'id must be a string, null or an integer within +/-(2^53 - 1)',
    });
  });

  it.each([
    ['fractional', 1.5],
    ['infinite (1e400)', Infinity],
    ['2^53', 2 ** 53],
    ['-2^53', -(2 ** 53)],
    ['NaN', NaN],
  ])('a %s number id cannot be echoed exactly: invalid, answered with id null', (_name, id) => {
    expect(classify({ jsonrpc: '2.0', method: 'ping', id })).toMatchObject({ kind: 'invalid', id: null });
    // Also when another error is reported first: the bad id is never echoed.
    expect(classify({ jsonrpc: '1.0', method: 'ping', id })).toMatchObject({ kind: 'invalid', id: null });
  });

  it('string, safe-integer and null ids are accepted as they are', () => {
    for (const id of ['abc', '', 0, -5, Number.MAX_SAFE_INTEGER, Number.MIN_SAFE_INTEGER, null]) {
      expect(classify({ jsonrpc: '2.0', method: 'ping', id }), JSON.stringify(id)).toEqual({
        kind: 'call',
        method: 'ping',
        params: undefined,
        id,
      });
    }
  });

  it('an explicit params of {} or [] is kept', () => {
    expect(classify({ jsonrpc: '2.0', method: 'ping', params: {}, id: 1 })).toMatchObject({ kind: 'call', params: {} });
    expect(classify({ jsonrpc: '2.0', method: 'ping', params: [], id: 1 })).toMatchObject({ kind: 'call', params: [] });
  });
});

describe('response serialisers', () => {
  it('resultResponse', () => {
    expect(parse(resultResponse(1, { pong: true }))).toEqual({ jsonrpc: '2.0', result: { pong: true }, id: 1 });
    expect(parse(resultResponse('a', 0))).toEqual({ jsonrpc: '2.0', result: 0, id: 'a' });
    // `undefined` would drop the member, and a response must have `result` or `error`.
    expect(parse(resultResponse(null, undefined))).toEqual({ jsonrpc: '2.0', result: null, id: null });
    expect(resultObject(2, undefined)).toEqual({ jsonrpc: '2.0', result: null, id: 2 });
  });

  it('errorResponse from an RpcError, with and without data', () => {
    expect(parse(errorResponse(3, methodNotFound('nope')))).toEqual({
      jsonrpc: '2.0',
      error: { code: -32601, message: 'Method not found: nope' },
      id: 3,
    });
    const withData = parse(errorResponse(null, invalidRequest('frame too large', { max_message_size: 1024 }))) as {
      error: Record<string, unknown>;
    };
    expect(withData).toEqual({
      jsonrpc: '2.0',
      error: { code: -32600, message: 'Invalid Request: frame too large', data: { max_message_size: 1024 } },
      id: null,
    });
  });

  it('errorResponse from a plain error object', () => {
    expect(parse(errorResponse('z', { code: -32005, message: 'No responders' }))).toEqual({
      jsonrpc: '2.0',
      error: { code: -32005, message: 'No responders' },
      id: 'z',
    });
    expect(errorObject(1, new RpcError(ErrorCode.TIMEOUT, 'Timeout', { timeout: 5 }))).toEqual({
      jsonrpc: '2.0',
      error: { code: -32002, message: 'Timeout', data: { timeout: 5 } },
      id: 1,
    });
  });

  it('standard error helpers carry the standard codes', () => {
    expect(parseError().toJSON()).toEqual({ code: -32700, message: 'Parse error' });
    expect(parseError('Unexpected token').toJSON()).toEqual({ code: -32700, message: 'Parse error: Unexpected token' });
    expect(invalidParams('topic is empty', { param: 'topic' }).toJSON()).toEqual({
      code: -32602,
      message: 'Invalid params: topic is empty',
      data: { param: 'topic' },
    });
  });

  it('notification and request serialisers', () => {
    expect(parse(notification('message', { topic: 't' }))).toEqual({ jsonrpc: '2.0', method: 'message', params: { topic: 't' } });
    expect(parse(notification('message', { topic: 't' }))).not.toHaveProperty('id');
    expect(parse(request(9, 'ping', {}))).toEqual({ jsonrpc: '2.0', method: 'ping', params: {}, id: 9 });
  });

  it('round-trips through classify', () => {
    expect(classify(parse(request('r1', 'subscribe', { patterns: ['a.#'] })))).toEqual({
      kind: 'call',
      method: 'subscribe',
      params: { patterns: ['a.#'] },
      id: 'r1',
    });
    expect(classify(parse(resultResponse(5, [1])))).toEqual({ kind: 'response', id: 5, result: [1] });
    expect(classify(parse(errorResponse(5, parseError())))).toEqual({
      kind: 'response',
      id: 5,
      error: { code: -32700, message: 'Parse error' },
    });
  });
});
