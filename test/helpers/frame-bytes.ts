/**
 * The bytes of the frames a broker sends, for tests of what goes out as it came in (a
 * payload's spelling): RawClient keeps frames only parsed.
 */
import { expect } from 'vitest';
import { FrameDecoder } from '../../src/protocol/index.js';
import type { RawClient } from './raw-client.js';

/** Every frame body the broker sends to `c` from now on, as bytes. Call it before any frame arrives, so frame boundaries line up. */
export function captureBodies(c: RawClient): Buffer[] {
  const bodies: Buffer[] = [];
  const decoder = new FrameDecoder(64 * 1024 * 1024);
  c.socket.on('data', (chunk: Buffer) => decoder.push(chunk, (b) => bodies.push(Buffer.from(b))));
  return bodies;
}

/** The bytes of the payload in a delivery frame body, located by the frame's fixed layout. */
export function payloadBytes(frame: Buffer, topic: string, length: number): Buffer {
  const head = Buffer.from(`{"jsonrpc":"2.0","method":"message","params":{"topic":${JSON.stringify(topic)},"payload":`);
  expect(frame.subarray(0, head.length).toString()).toBe(head.toString());
  expect(frame.subarray(head.length + length, head.length + length + 13).toString()).toBe(',"timestamp":');
  return frame.subarray(head.length, head.length + length);
}
