import { ErrorCode, RpcError } from '../../protocol/errors.js';
import { cutName, listedNames, shownName } from '../../protocol/excerpt.js';
import { patternError } from '../../protocol/topics.js';
import { mayReceive, requireSubscribePermission } from '../auth/enforce.js';
import type { CallContext, MethodSpec } from '../context.js';
import { requireStringArray } from '../params.js';
import { chainStep } from '../publish-chain.js';

/** Invalid patterns given a reason in the error's data. */
export const MAX_PATTERN_REASONS = 100;

/**
 * Throws SUBSCRIPTION_ERROR (-32003) listing the patterns that are not valid, but for
 * those in `held`: a session restored from the journal may hold one that an older
 * version took, and its client must be able to drop it. `data.invalid` lists them as
 * sent, for the client to find in its own list; the message shows them shortened (and
 * escaped), `data.reasons` (the first {@link MAX_PATTERN_REASONS}, in the same order) cut
 * past 100 characters, so that a request of long patterns is not answered with several
 * copies of itself.
 */
export function refuseInvalidPatterns(patterns: readonly string[], held?: ReadonlySet<string>): void {
  const errors = patterns.flatMap((pattern) => {
    const reason = held?.has(pattern) ? null : patternError(pattern);
    return reason ? [{ pattern, reason }] : [];
  });
  if (errors.length === 0) return;
  throw new RpcError(ErrorCode.SUBSCRIPTION_ERROR, `Invalid pattern: ${listedNames(errors, (e) => `${shownName(e.pattern, true)} (${e.reason})`)}`, {
    invalid: errors.map((e) => e.pattern),
    reasons: errors.slice(0, MAX_PATTERN_REASONS).map((e) => ({ pattern: cutName(e.pattern), reason: e.reason })),
  });
}

/**
 * `subscribe`: all patterns or none. Matching retained messages follow right after the
 * response, each once even when several new patterns match it.
 */
export const subscribe: MethodSpec = {
  name: 'subscribe',
  params: ['patterns'],
  requiresConnect: true,
  handle(ctx) {
    const { broker, conn, params } = ctx;
    const patterns = [...new Set(requireStringArray(params, 'patterns'))];
    refuseInvalidPatterns(patterns);
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
    const durability = broker.durability;
    if (durability === null || (added.length === 0 && session.publishChain === null)) return subscribeNow(ctx, patterns);
    // With persistence, answered only once the new pattern set is stored, and applied
    // only then: a subscription the client was told about survives a killed broker, and
    // no live message of the new patterns arrives before the answer (and so before the
    // retained ones). The client's later publishes and subscribes queue behind it, so
    // one it subscribes and then publishes to still reaches it.
    const before = session.publishChain;
    const stored = (before ?? Promise.resolve()).then(() =>
      added.length > 0 ? durability.storePatterns(session, [...session.patterns, ...added]) : null,
    );
    const step = stored.then((refusal) => {
      if (refusal) throw refusal;
      return subscribeNow(ctx, patterns);
    });
    return chainStep(session, step, true);
  },
};

/** Apply a validated subscribe: index the new patterns, answer, replay the retained. */
function subscribeNow(ctx: CallContext, patterns: string[]): { subscribed: string[] } {
  const { broker, conn, after } = ctx;
  const session = conn.session!;
  const added = patterns.filter((p) => !session.patterns.has(p));
  for (const p of added) broker.sessions.subscribe(session, p);
  broker.log.debug('subscribed', { client_id: session.clientId, patterns });
  // Looked up when they are sent, right after the answer, not now: in a batch, a retained
  // publish after this call changes them before the batch's answer goes, and replaying the
  // value it replaced would leave the client with that older one.
  after(() => {
    const retained = broker.retained.matching(patterns).filter((msg) => mayReceive(session, msg.topic));
    if (retained.length > 0) {
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
      );
    }
  });
  return { subscribed: patterns };
}
