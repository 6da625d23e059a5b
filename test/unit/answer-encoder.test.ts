/**
 * encodeAnswerFrame (src/broker/answer-encoder.ts) against the plain serialisation it
 * replaces: every frame body is byte for byte `JSON.stringify` of the answer, whether a
 * publish's answer writes itself (message id from its sequence number) or is serialised,
 * alone or in a batch among other responses; and the output limit sees the same size.
 */
import { describe, expect, it } from 'vitest';
import { encodeAnswerFrame } from '../../src/broker/answer-encoder.js';
import { PublishAnswer } from '../../src/broker/durable-publish.js';
import { ReplyAnswer } from '../../src/broker/handlers/reply.js';
import { createMessage, type BrokerMessage } from '../../src/broker/message.js';
import { HEADER_BYTES } from '../../src/protocol/framing.js';
import { errorObject, resultObject, type RpcId, type RpcResponseObject } from '../../src/protocol/jsonrpc.js';
import { ErrorCode, RpcError } from '../../src/protocol/errors.js';

// Integers are written as digits, everything else as JSON.stringify's text: the edges of that split.
const IDS: RpcId[] = [1, 0, -0, 7, 10, -5, 1.5, 1e21, 2 ** 53 - 1, 2 ** 53, 'a', 'é"\\\n😀\u2028', '', '12', null];
const COUNTS = [0, 1, 9, 10, 99, 100, 12_345, 1_000_000];

const serialise = (r: RpcResponseObject): string => JSON.stringify(r);

function body(frame: Buffer | { tooLarge: number }): string {
  expect(Buffer.isBuffer(frame)).toBe(true);
  const f = frame as Buffer;
  expect(f.readUInt32BE(0)).toBe(f.length - HEADER_BYTES);
  return f.subarray(HEADER_BYTES).toString('utf8');
}

const published = (delivered: number): PublishAnswer => new PublishAnswer(createMessage({ topic: 't.a', payload: 1, sender: 's', qos: 1 }), delivered);

/** A message from elsewhere (a federation link): an id string and no sequence number. */
const foreign: BrokerMessage = { id: 'ext-"1"-é', topic: 't.a', payload: 1, sender: 's', timestamp: '', qos: 1, expiresAt: 0 };

describe('encodeAnswerFrame', () => {
  it('writes a publish answer exactly as JSON.stringify does, for every id and delivered count', () => {
    for (const id of IDS) {
      for (const n of COUNTS) {
        const answer = resultObject(id, published(n));
        expect(answer.result).toMatchObject({ delivered: n });
        expect(body(encodeAnswerFrame(answer, 1 << 20, serialise)), `${JSON.stringify(id)} ${n}`).toBe(JSON.stringify(answer));
      }
    }
  });

  it("writes a reply's answer, accepted or not, alone or in a batch, exactly as JSON.stringify does", () => {
    const batch: RpcResponseObject[] = [];
    for (const id of IDS) {
      for (const accepted of [true, false]) {
        const answer = resultObject(id, new ReplyAnswer(accepted));
        expect(JSON.parse(body(encodeAnswerFrame(answer, 1 << 20, serialise))).result).toEqual({ accepted });
        expect(body(encodeAnswerFrame(answer, 1 << 20, serialise)), `${JSON.stringify(id)} ${accepted}`).toBe(JSON.stringify(answer));
        batch.push(answer);
      }
    }
    expect(body(encodeAnswerFrame(batch, 1 << 20, serialise))).toBe(JSON.stringify(batch));
  });

  it('joins a batch of publish answers, other results, errors and a foreign message id as JSON.stringify of the array', () => {
    const batch: RpcResponseObject[] = [];
    for (const [k, id] of IDS.entries()) {
      batch.push(resultObject(id, published(COUNTS[k % COUNTS.length]!)));
      batch.push(resultObject(id, { pong: true, timestamp: 'é' }));
      batch.push(errorObject(id, new RpcError(ErrorCode.INVALID_PARAMS, 'bad "topic"', { topic: 'a..b' })));
      batch.push(resultObject(id, new PublishAnswer(foreign, k)));
    }
    const text = body(encodeAnswerFrame(batch, 1 << 20, serialise));
    expect(text).toBe(JSON.stringify(batch));
    expect(JSON.parse(text)[0].result.message_id).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
  });

  it('measures a self-written answer as it writes it: the output limit refuses it by its exact size', () => {
    const single = resultObject('é', published(42));
    const size = Buffer.byteLength(JSON.stringify(single));
    expect(encodeAnswerFrame(single, size - 1, serialise)).toEqual({ tooLarge: size });
    expect(body(encodeAnswerFrame(single, size, serialise))).toBe(JSON.stringify(single));
    const batch = [single, resultObject(7, published(3)), resultObject(8, { n: 1 })];
    const batchSize = Buffer.byteLength(JSON.stringify(batch));
    expect(encodeAnswerFrame(batch, batchSize - 1, serialise)).toEqual({ tooLarge: batchSize });
    expect(body(encodeAnswerFrame(batch, batchSize, serialise))).toBe(JSON.stringify(batch));
  });
});
