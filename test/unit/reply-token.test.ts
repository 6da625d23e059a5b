import { describe, expect, it } from 'vitest';
import { newReplyToken, REPLY_TOKEN_LENGTH } from '../../src/broker/reply-token.js';

const UUID_V4 = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;

describe('reply tokens', () => {
  it('are version 4 UUIDs, all different, across many draws of random bytes', () => {
    const tokens = Array.from({ length: 1000 }, () => newReplyToken());
    for (const token of tokens) {
      expect(token).toMatch(UUID_V4);
      expect(token).toHaveLength(REPLY_TOKEN_LENGTH);
    }
    expect(new Set(tokens).size).toBe(tokens.length);
  });

  it('use every random digit: each of the 30 free hex positions takes many values', () => {
    const tokens = Array.from({ length: 2000 }, () => newReplyToken().replaceAll('-', ''));
    for (let position = 0; position < 32; position++) {
      if (position === 12 || position === 16) continue; // the version digit, and the variant's
      const values = new Set(tokens.map((t) => t[position]));
      expect(values.size, `hex digit ${position}`).toBe(16);
    }
    expect(new Set(tokens.map((t) => t[16])).size).toBe(4); // the variant digit: 8, 9, a or b
  });
});
