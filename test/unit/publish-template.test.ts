/**
 * PublishTemplate (src/broker/publish-template.ts) compares each frame's envelope with the
 * one it learned, a word at a time: a frame that differs in any one byte of it must take
 * the full path, wherever the frame sits in its buffer and whatever the envelope's length
 * modulo the word.
 */
import { describe, expect, it } from 'vitest';
import { PublishTemplate } from '../../src/broker/publish-template.js';
import { scanCall } from '../../src/protocol/call-scan.js';
import { placed } from '../helpers/placed-text.js';

const RAW_PAYLOAD = (method: string): readonly string[] | undefined => (method === 'publish' ? ['payload'] : undefined);
const envelope = (topic: string): string => `{"jsonrpc":"2.0","method":"publish","params":{"topic":${JSON.stringify(topic)},"payload":`;
const PAYLOAD = '{"seq":1,"pad":"xyz"}';

function learned(topic: string): PublishTemplate {
  const { buf, start, end } = placed(`${envelope(topic)}${PAYLOAD}}}`, 3);
  const call = scanCall(buf, start, end, RAW_PAYLOAD);
  const template = call && PublishTemplate.learn(call, buf, start, end);
  expect(template).not.toBeNull();
  return template!;
}

describe('PublishTemplate', () => {
  // Topics of four consecutive lengths: envelopes of every length modulo 4.
  for (const topic of ['t.ab', 't.abc', 't.abcd', 't.abcde']) {
    it(`takes its envelope's frames at any offset, and none that differs in one byte of it (topic ${topic})`, () => {
      const template = learned(topic);
      const head = envelope(topic);
      for (let at = 0; at < 8; at++) {
        const same = placed(`${head}{"n":${at}}}}`, at);
        expect(template.payloadOf(same.buf, same.start, same.end)?.toString()).toBe(`{"n":${at}}`);
        for (let k = 0; k < head.length; k++) {
          const changed = placed(`${head}{"n":1}}}`, at);
          changed.buf[changed.start + k] = changed.buf[changed.start + k]! ^ 0x01;
          expect(template.payloadOf(changed.buf, changed.start, changed.end), `byte ${k} at offset ${at}`).toBeNull();
        }
      }
    });
  }

  it('reads a frame in a buffer larger than a read (assembled from many) as any other', () => {
    const template = learned('t.big');
    const big = placed(`${envelope('t.big')}"${'x'.repeat(300 * 1024)}"}}`, 2);
    expect(template.payloadOf(big.buf, big.start, big.end)?.length).toBe(300 * 1024 + 2);
    big.buf[big.start + 5] = big.buf[big.start + 5]! ^ 0x01;
    expect(template.payloadOf(big.buf, big.start, big.end)).toBeNull();
    const small = placed(`${envelope('t.big')}1}}`, 1);
    expect(template.payloadOf(small.buf, small.start, small.end)?.toString()).toBe('1');
  });

  it('reads frames of different buffers in turn against the right bytes', () => {
    const template = learned('t.x');
    const a = placed(`${envelope('t.x')}1}}`, 1);
    const b = placed(`${envelope('t.y')}2}}`, 1);
    expect(template.payloadOf(a.buf, a.start, a.end)?.toString()).toBe('1');
    expect(template.payloadOf(b.buf, b.start, b.end)).toBeNull();
    expect(template.payloadOf(a.buf, a.start, a.end)?.toString()).toBe('1');
  });
});
