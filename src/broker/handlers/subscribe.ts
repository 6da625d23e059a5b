import { ErrorCode, RpcError } from '../../protocol/errors.js';
import { patternError } from '../../protocol/topics.js';
import { mayReceive, requireSubscribePermission } from '../auth/enforce.js';
import type { MethodSpec } from '../context.js';
import { requireStringArray } from '../params.js';

/**
 * `subscribe`: all patterns or none. Matching retained messages follow right after the
 * response, each once even when several new patterns match it.
 */
export const subscribe: MethodSpec = {
  name: 'subscribe',
  params: ['patterns'],
  requiresConnect: true,
  handle({ broker, conn, params, after }) {
    const patterns = [...new Set(requireStringArray(params, 'patterns'))];
    const errors = patterns.flatMap((pattern) => {
      const reason = patternError(pattern);
      return reason ? [{ pattern, reason }] : [];
    });
    if (errors.length > 0) {
      throw new RpcError(ErrorCode.SUBSCRIPTION_ERROR, `Invalid pattern: ${errors.map((e) => `"${e.pattern}" (${e.reason})`).join(', ')}`, {
        invalid: errors.map((e) => e.pattern),
        reasons: errors,
      });
    }
    const session = conn.session!;
    requireSubscribePermission(session, patterns);
    const added = patterns.filter((p) => !session.patterns.has(p));
    const limit = broker.config.max_subscriptions;
    if (session.patterns.size + added.length > limit) {
      throw new RpcError(ErrorCode.SUBSCRIPTION_ERROR, `Too many subscriptions: a client may hold at most ${limit} patterns`, {
        max_subscriptions: limit,
        current: session.patterns.size,
      });
    }
    for (const p of added) broker.sessions.subscribe(session, p);
    // Not awaited: the subscription works at once, and the journal writes in order, so it
    // is durable before any QoS 1 publish answered after this.
    if (added.length > 0) broker.durability?.patternsChanged(session);
    broker.log.debug('subscribed', { client_id: session.clientId, patterns });
    const retained = broker.retained.matching(patterns).filter((msg) => mayReceive(session, msg.topic));
    if (retained.length > 0) {
      after(() =>
        broker.router.sendRetained(
          session,
          retained,
          () => broker.fault('retained-replay'),
          (msg, err) =>
            broker.log.error('retained message could not be delivered; skipped', {
              client_id: session.clientId,
              topic: msg.topic,
              message_id: msg.id,
              error: err as Error,
              stack: (err as Error)?.stack,
            }),
        ),
      );
    }
    return { subscribed: patterns };
  },
};
