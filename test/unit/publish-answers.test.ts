/**
 * readPublishAnswers: a batch answer of publish results read without JSON.parse must give
 * exactly what JSON.parse gives, and anything else, however close, must be left to it.
 */
import { describe, expect, it } from 'vitest';
import { PublishAnswers, readPublishAnswers } from '../../src/client/publish-answers.js';
import { mutate } from '../helpers/byte-damage.js';
import { Rng } from '../helpers/fuzz/prng.js';

interface Response {
  jsonrpc: '2.0';
  result: { message_id: string; delivered: number };
  id: number;
}

/** A batch answer as the broker writes it (JSON.stringify keeps this key order). */
function answerBody(responses: readonly Response[]): Buffer {
  return Buffer.from(JSON.stringify(responses), 'utf8');
}

const response = (id: number, messageId: string, delivered: number): Response => ({ jsonrpc: '2.0', result: { message_id: messageId, delivered }, id });

/** What the general path makes of `body`: the ids and results of an all-publish answer. */
function parsedLikeTheReader(body: Buffer): { ids: number[]; results: unknown[] } {
  const value = JSON.parse(body.toString('utf8')) as Response[];
  return { ids: value.map((r) => r.id), results: value.map((r) => r.result) };
}

function read(body: Buffer): { ids: number[]; results: unknown[] } | null {
  const answers = readPublishAnswers(body);
  if (answers === null) return null;
  expect(answers).toBeInstanceOf(PublishAnswers);
  return { ids: [...answers.ids], results: [...answers.results] };
}

describe('readPublishAnswers', () => {
  it('reads what JSON.parse reads from a broker answer of publish results', () => {
    const responses = [
      response(1, '3f2a9c01-000000000001', 1),
      response(2, '3f2a9c01-000000000002', 0),
      response(12345, 'm', 17),
      response(999999999999999, '', 0),
      response(7, 'a-b_c.d:e/f g~!#$%&()*+,;<=>?@[]^`{|}', 123456789012345),
    ];
    const body = answerBody(responses);
    expect(read(body)).toEqual(parsedLikeTheReader(body));
    expect(read(answerBody([response(42, 'x-1', 1)]))).toEqual({ ids: [42], results: [{ message_id: 'x-1', delivered: 1 }] });
  });

  it('reads a backlog batch of 500 answers in order', () => {
    const responses = Array.from({ length: 500 }, (_, i) => response(1000 + i, `9b1e77aa-${String(i).padStart(12, '0')}`, i % 3));
    const body = answerBody(responses);
    const got = read(body);
    expect(got?.ids).toHaveLength(500);
    expect(got).toEqual(parsedLikeTheReader(body));
  });

  it('leaves every other frame to JSON.parse', () => {
    const ok = '{"jsonrpc":"2.0","result":{"message_id":"m-1","delivered":1},"id":5}';
    const others = [
      ok, // a single response, not a batch
      '[]',
      '[',
      `[${ok}`,
      `${ok}]`,
      `[${ok},]`,
      `[${ok},,${ok}]`,
      `[${ok} ]`,
      `[ ${ok}]`,
      `[${ok},{"jsonrpc":"2.0","error":{"code":-32602,"message":"bad"},"id":6}]`,
      `[${ok},{"jsonrpc":"2.0","result":{"unsubscribed":1},"id":6}]`,
      `[${ok},{"jsonrpc":"2.0","result":null,"id":6}]`,
      '[{"jsonrpc":"2.0","result":{"message_id":"m-\\"1","delivered":1},"id":5}]',
      '[{"jsonrpc":"2.0","result":{"message_id":"m-\\u00e91","delivered":1},"id":5}]',
      '[{"jsonrpc":"2.0","result":{"message_id":"m-é","delivered":1},"id":5}]',
      '[{"jsonrpc":"2.0","result":{"message_id":"m\t1","delivered":1},"id":5}]',
      '[{"jsonrpc":"2.0","result":{"message_id":"m-1","delivered":01},"id":5}]',
      '[{"jsonrpc":"2.0","result":{"message_id":"m-1","delivered":-1},"id":5}]',
      '[{"jsonrpc":"2.0","result":{"message_id":"m-1","delivered":1.0},"id":5}]',
      '[{"jsonrpc":"2.0","result":{"message_id":"m-1","delivered":1e2},"id":5}]',
      '[{"jsonrpc":"2.0","result":{"message_id":"m-1","delivered":1},"id":05}]',
      '[{"jsonrpc":"2.0","result":{"message_id":"m-1","delivered":1},"id":-5}]',
      '[{"jsonrpc":"2.0","result":{"message_id":"m-1","delivered":1},"id":5.5}]',
      '[{"jsonrpc":"2.0","result":{"message_id":"m-1","delivered":1},"id":"5"}]',
      '[{"jsonrpc":"2.0","result":{"message_id":"m-1","delivered":1},"id":null}]',
      '[{"jsonrpc":"2.0","result":{"message_id":"m-1","delivered":1},"id":1234567890123456}]',
      '[{"jsonrpc":"2.0","result":{"message_id":"m-1","delivered":1,"x":2},"id":5}]',
      '[{"jsonrpc":"2.0","result":{"message_id":"m-1","delivered":1},"id":5,"x":2}]',
      '[{"jsonrpc":"2.0", "result":{"message_id":"m-1","delivered":1},"id":5}]',
      '[{"result":{"message_id":"m-1","delivered":1},"jsonrpc":"2.0","id":5}]',
      '[{"jsonrpc":"2.0","result":{"message_id":"m-1","delivered":1},"id":5}}]',
      '[{"jsonrpc":"2.0","result":{"message_id":"m-1","delivered":1},"id":5}{"jsonrpc":"2.0","result":{"message_id":"m-1","delivered":1},"id":6}]',
      '[{"jsonrpc":"2.0","method":"message","params":{}}]',
    ];
    for (const text of others) expect(readPublishAnswers(Buffer.from(text, 'utf8')), text).toBeNull();
  });

  it('agrees with JSON.parse on damaged answers: what it reads is what JSON.parse reads, what JSON.parse refuses it refuses', () => {
    const rng = new Rng(20261205);
    let read = 0;
    let refused = 0;
    for (let n = 0; n < 20_000; n++) {
      const count = rng.int(1, 6);
      const responses = Array.from({ length: count }, () =>
        response(rng.int(0, 2 ** 40), rng.pick(['m-1', 'c0ffee-000000000042', '', 'x:y.z']), rng.int(0, 1000)),
      );
      let body = answerBody(responses);
      for (let k = rng.int(0, 3); k > 0; k--) body = mutate(rng, body);
      const answers = readPublishAnswers(body);
      if (answers === null) {
        refused++;
        continue;
      }
      read++;
      // Whatever the reader takes must be valid JSON of exactly its values.
      const value = JSON.parse(body.toString('utf8')) as unknown[];
      expect(value).toEqual(answers.ids.map((id, i) => ({ jsonrpc: '2.0', result: answers.results[i], id })));
      expect(Object.keys(value[0] as object)).toEqual(['jsonrpc', 'result', 'id']);
    }
    // Both sides were exercised: undamaged answers are read, damaged ones mostly refused.
    expect(read).toBeGreaterThan(1000);
    expect(refused).toBeGreaterThan(1000);
  });
});
