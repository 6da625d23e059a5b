import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { permanentRefusal, queueEntryProblem } from '../../bridge/queues.js';
import { ErrorCode, RpcError } from '../../src/protocol/errors.js';

describe('permanentRefusal (which failed queue publishes are dead-lettered instead of retried)', () => {
  it('takes the refusals no retry can change: bad params, over the size limit, a permission rule', () => {
    expect(permanentRefusal(new RpcError(ErrorCode.INVALID_PARAMS, 'Invalid params: bad topic'))).toBe('Invalid params: bad topic');
    expect(permanentRefusal(new RpcError(ErrorCode.INVALID_REQUEST, '"publish" is 5000 bytes, over the limit', { max_message_size: 4096 }))).toBe(
      '"publish" is 5000 bytes, over the limit',
    );
    expect(permanentRefusal(new RpcError(ErrorCode.PUBLISH_ERROR, 'Not allowed', { topic: 't', rule: 'publish.deny[0]', identity: 'x' }))).toBe('Not allowed');
  });

  it('leaves everything a retry may fix to the retry', () => {
    expect(permanentRefusal(new RpcError(ErrorCode.PUBLISH_ERROR, 'Publish failed: could not be stored (ENOSPC)', { reason: 'ENOSPC', code: 'ENOSPC' }))).toBeNull();
    for (const code of [ErrorCode.NOT_CONNECTED, ErrorCode.TIMEOUT, ErrorCode.INTERNAL_ERROR, ErrorCode.LIMIT_EXCEEDED]) {
      expect(permanentRefusal(new RpcError(code, 'x'))).toBeNull();
    }
    expect(permanentRefusal(new Error('socket hang up'))).toBeNull();
    expect(permanentRefusal(undefined)).toBeNull();
  });
});

describe('queueEntryProblem (checked for every queue before any starts, also under bridge run and bridge up)', () => {
  it('names the queue and the rule broken; a file that does not exist yet is fine', () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'queue-entry-'));
    try {
      const file = path.join(dir, 'q.txt');
      expect(queueEntryProblem({ file, qos: 1, prefix: 'cad', topicMap: { A: 'jobs.a' } })).toBeNull();
      expect(queueEntryProblem({ file: dir, qos: 1 })).toBe(`${dir} is a directory; give the queue file inside it, e.g. ${path.join(dir, 'broker_queue.txt')}`);
      expect(queueEntryProblem({ file, qos: 1, prefix: '#' })).toBe(`queue ${file}: invalid prefix "#": topic contains a wildcard (*, + or #)`);
      expect(queueEntryProblem({ file, qos: 1, prefix: 'cad', topicMap: { A: 'x..y' } })).toBe(
        `queue ${file}: topic map entry "A" -> "cad.x..y" is not a topic lines can be published to: topic has an empty level`,
      );
      expect(queueEntryProblem({ file, qos: 1, positionFile: dir })).toMatch(/the position file .* is a directory/);
      const nowhere = path.join(dir, 'nodir', 'q.dead');
      expect(queueEntryProblem({ file, qos: 1, deadLetterFile: nowhere })).toBe(
        `queue ${file}: the dead-letter file ${nowhere} cannot be written: the folder ${path.join(dir, 'nodir')} does not exist; create it first`,
      );
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
