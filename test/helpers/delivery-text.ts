/**
 * The delivery frame text `JSON.stringify` gives for a message: what the broker's byte-level
 * frame writer (src/broker/delivery-frame.ts) must reproduce exactly.
 */
import type { FrameFlags, FrameSource } from '../../src/broker/delivery-frame.js';

/** `{"jsonrpc":"2.0","method":"message","params":{...}}` for `msg` with `flags`, carrying `payload` (a value). */
export function expectedDeliveryText(msg: FrameSource, flags: FrameFlags, payload: unknown): string {
  const params: Record<string, unknown> = {
    topic: msg.topic,
    payload,
    timestamp: msg.timestamp,
    sender: msg.sender,
    message_id: msg.id,
    qos: msg.qos,
  };
  if (flags.retained) params.retained = true;
  if (flags.redelivered) params.redelivered = true;
  if (msg.replyTo !== undefined) params.reply_to = msg.replyTo;
  return JSON.stringify({ jsonrpc: '2.0', method: 'message', params });
}
