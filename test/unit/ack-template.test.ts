/**
 * AckTemplate (src/broker/ack-template.ts): after one plain `ack` notification, a frame
 * that repeats its envelope byte for byte gives its message id without the full scan. A
 * frame that differs in any byte of the envelope or its end, or whose id JSON would spell
 * differently (escapes, quotes, other bytes), must take the full path; and only a plain
 * ack notification teaches an envelope.
 */
import { describe, expect, it } from 'vitest';
import { AckTemplate, ackedIdEnd } from '../../src/broker/ack-template.js';
import { scanCall } from '../../src/protocol/call-scan.js';
import { placed } from '../helpers/placed-text.js';

const NO_RAW = (): undefined => undefined;
const COMPACT = '{"jsonrpc":"2.0","method":"ack","params":{"message_id":"';
/** What Python's json.dumps writes (a space after each `:` and `,`). */
const PYTHON = '{"jsonrpc": "2.0", "method": "ack", "params": {"message_id": "';
const ID = '01ab23cd-0001-000000000a1f';

/** The template `text` teaches (null when it teaches none; the dispatcher learns only from what the scan read). */
function learn(text: string, at = 0): AckTemplate | null {
  const { buf, start, end } = placed(text, at);
  const call = scanCall(buf, start, end, NO_RAW);
  return call && AckTemplate.learn(call, buf, start, end);
}

/** The id the template reads from `text` placed at `at` (null when the frame does not match). */
function idOf(template: AckTemplate, text: string, at = 0): string | null {
  const { buf, start, end } = placed(text, at);
  const idStart = template.idStart(buf, start, end);
  return idStart < 0 ? null : buf.toString('latin1', idStart, ackedIdEnd(end));
}

describe('AckTemplate', () => {
  // Envelopes of every length modulo 4: the prefix is compared a word at a time.
  for (const head of [COMPACT, PYTHON, COMPACT.replace('{', '{ '), COMPACT.replace('{', '{  '), COMPACT.replace('{', '{   ')]) {
    it(`takes the id of frames in its envelope at any offset, and of none that differs in one byte of it (${JSON.stringify(head.slice(0, 14))}, ${head.length} bytes)`, () => {
      const template = learn(`${head}${ID}"}}`, 3)!;
      expect(template).not.toBeNull();
      for (let at = 0; at < 8; at++) {
        expect(idOf(template, `${head}other-id-${at}"}}`, at)).toBe(`other-id-${at}`);
        for (let k = 0; k < head.length; k++) {
          const changed = `${head.slice(0, k)}${head[k] === 'x' ? 'y' : 'x'}${head.slice(k + 1)}`;
          expect([at, k, idOf(template, `${changed}${ID}"}}`, at)]).toEqual([at, k, null]);
        }
      }
    });
  }

  it('takes ids of 1-128 plain characters, and leaves any other to the full path', () => {
    const template = learn(`${COMPACT}${ID}"}}`)!;
    for (const id of ['a', 'Z9', 'A.b_c:d-e', 'x'.repeat(128), ID]) expect(idOf(template, `${COMPACT}${id}"}}`)).toBe(id);
    const notPlain = ['', 'x'.repeat(129), 'a\\u0062', 'a\\"b', 'a"b', 'a b', 'caf\u00e9', '\u2713', 'a/b', 'a\tb', 'a,"x":1'];
    for (const id of notPlain) expect([id, idOf(template, `${COMPACT}${id}"}}`)]).toEqual([id, null]);
  });

  it('takes only a frame closed by exactly "}} after the id', () => {
    const template = learn(`${COMPACT}${ID}"}}`)!;
    for (const end of ['"} }', '" }}', '"}}}', '"}', '}}', '"},"id":1}', '"}, "id": "r1"}', '"}}\n']) {
      expect([end, idOf(template, `${COMPACT}${ID}${end}`)]).toEqual([end, null]);
    }
  });

  it('keeps no envelope longer than 256 bytes (a client that pads its frames takes the full path)', () => {
    const padded = (length: number): string => COMPACT.replace('{', `{${' '.repeat(length - COMPACT.length)}`);
    // At an offset too: the limit is on the envelope, not on where it lies in the read.
    for (const at of [0, 300]) {
      const longest = learn(`${padded(256)}${ID}"}}`, at);
      expect(longest).not.toBeNull();
      expect(idOf(longest!, `${padded(256)}other"}}`, at)).toBe('other');
      expect(learn(`${padded(257)}${ID}"}}`, at)).toBeNull();
    }
  });

  it('is taught only by a plain ack notification of message_id alone, spelled without escapes', () => {
    expect(learn(`${COMPACT}${ID}"}}`)).not.toBeNull();
    const teachesNothing = [
      `{"jsonrpc":"2.0","method":"ack","params":{"message_id":"${ID}"},"id":7}`,
      `{"jsonrpc":"2.0","id":"a1","method":"ack","params":{"message_id":"${ID}"}}`,
      `{"jsonrpc":"2.0","method":"ack","params":["${ID}"]}`,
      `{"jsonrpc":"2.0","method":"ack","params":{"message_id":"${ID}","x":1}}`,
      `{"jsonrpc":"2.0","method":"ack","params":{"x":1,"message_id":"${ID}"}}`,
      `{"jsonrpc":"2.0","method":"ack","params":{"message_id":"a\\u0062"}}`,
      `{"jsonrpc":"2.0","method":"ack","params":{"message_id":"caf\u00e9"}}`,
      `{"jsonrpc":"2.0","method":"ack","params":{"message_id":7}}`,
      `{"jsonrpc":"2.0","method":"ack","params":{"message_id":"${ID}" }}`,
      `{"jsonrpc":"2.0","method":"ping","params":{"message_id":"${ID}"}}`,
      `{"jsonrpc":"2.0","method":"publish","params":{"topic":"t","payload":"${ID}"}}`,
    ];
    for (const text of teachesNothing) expect([text, learn(text)]).toEqual([text, null]);
  });
});
