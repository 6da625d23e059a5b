import { describe, expect, it } from 'vitest';
import type { Message } from '../../src/client/message.js';
import { RetainedReplay } from '../../src/client/retained-replay.js';

const delivery = (retained: boolean): Message => ({ topic: 't', payload: 1, sender: 's', messageId: 'm', timestamp: '', qos: 0, retained, redelivered: false, replyTo: undefined });
const cb = (): undefined => undefined;

describe('RetainedReplay', () => {
  it("opens at a subscribe's answer and closes at the first frame that is not a retained delivery", () => {
    const r = new RetainedReplay();
    r.expect(7, cb);
    expect(r.targetOf(delivery(true))).toBeUndefined();
    r.answered(7, true);
    expect(r.targetOf(delivery(true))).toBe(cb);
    expect(r.targetOf(delivery(true))).toBe(cb);
    expect(r.targetOf(delivery(false))).toBeUndefined();
    expect(r.targetOf(delivery(true))).toBeUndefined();
    r.expect(8, null);
    r.answered(8, true);
    expect(r.targetOf(delivery(true))).toBeNull();
    r.interrupted();
    expect(r.targetOf(delivery(true))).toBeUndefined();
  });

  it('opens no window for a refused subscribe, another call, or a subscribe that failed here', () => {
    const r = new RetainedReplay();
    r.expect(1, cb);
    r.answered(1, false);
    expect(r.targetOf(delivery(true))).toBeUndefined();
    r.expect(2, cb);
    r.answered(3, true);
    expect(r.targetOf(delivery(true))).toBeUndefined();
    r.forget(2);
    r.answered(2, true);
    expect(r.targetOf(delivery(true))).toBeUndefined();
    // Another answer closes an open window.
    r.expect(4, cb);
    r.answered(4, true);
    r.answered('x', true);
    expect(r.targetOf(delivery(true))).toBeUndefined();
  });
});
