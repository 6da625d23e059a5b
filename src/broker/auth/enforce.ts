/** Permission checks at the protocol edge: each refusal is an `RpcError` naming its rule. */
import { ErrorCode, RpcError } from '../../protocol/errors.js';
import { listedNames, shownName } from '../../protocol/excerpt.js';
import type { Session } from '../session.js';

/** Refuse a `publish` or `request` on `topic` that `session` may not send (-32004). */
export function requireSendPermission(session: Session, kind: 'publish' | 'request', topic: string): void {
  const perms = session.identity.permissions;
  if (perms === null) return;
  const denial = perms[kind].checkTopic(topic);
  if (denial === null) return;
  throw new RpcError(ErrorCode.PUBLISH_ERROR, `Not allowed: ${session.identity.name} may not ${kind} on ${shownName(topic, true)} (${denial.rule})`, {
    topic,
    rule: denial.rule,
    identity: session.identity.name,
  });
}

/** Refuse subscribing to any of `patterns` that `session` may not hold (-32003). */
export function requireSubscribePermission(session: Session, patterns: readonly string[]): void {
  const perms = session.identity.permissions;
  if (perms === null) return;
  const denied = patterns.flatMap((pattern) => {
    const denial = perms.subscribe.checkPattern(pattern);
    return denial ? [{ pattern, rule: denial.rule }] : [];
  });
  if (denied.length === 0) return;
  throw new RpcError(ErrorCode.SUBSCRIPTION_ERROR, `Not allowed: ${session.identity.name} may not subscribe to ${listedNames(denied, (d) => `${shownName(d.pattern, true)} (${d.rule})`)}`, {
    denied,
    identity: session.identity.name,
  });
}

/** Whether a delivery on `topic` may reach `session` (its subscribe permission). */
export function mayReceive(session: Session, topic: string): boolean {
  const perms = session.identity.permissions;
  return perms === null || perms.subscribe.checkTopic(topic) === null;
}
