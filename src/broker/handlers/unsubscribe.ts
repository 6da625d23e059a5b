import type { MethodSpec } from '../context.js';
import { requireStringArray } from '../params.js';
import { chainStep } from '../publish-chain.js';
import { refuseInvalidPatterns } from './subscribe.js';

/**
 * `unsubscribe`: answers with the patterns that were held and are now removed. A pattern
 * that is not valid (and not held) is -32003, as for `subscribe`: it can name nothing.
 */
export const unsubscribe: MethodSpec = {
  name: 'unsubscribe',
  params: ['patterns'],
  requiresConnect: true,
  handle({ broker, conn, params }) {
    const session = conn.session!;
    const patterns = [...new Set(requireStringArray(params, 'patterns'))];
    refuseInvalidPatterns(patterns, session.patterns);
    const unsubscribeNow = (): { unsubscribed: string[] } => {
      const removed = patterns.filter((p) => broker.sessions.unsubscribe(session, p));
      if (removed.length > 0) broker.durability?.patternsChanged(session);
      broker.log.debug('unsubscribed', { client_id: session.clientId, patterns: removed });
      return { unsubscribed: removed };
    };
    const before = session.publishChain;
    if (before === null) return unsubscribeNow();
    // A subscribe of this client still being stored comes first (persistence only):
    // "subscribe x, unsubscribe x" must end unsubscribed.
    return chainStep(session, before.then(unsubscribeNow), true);
  },
};
