/**
 * A client's calls that wait for the journal (persistence only), in the order it made
 * them: each step of its session's `publishChain` starts after the one before it has
 * settled, and the chain ends, opening the synchronous path again, when its last step
 * has.
 */
import type { Session } from './session.js';

/**
 * Make `step` the last of `session`'s chain, and return it. A step that changes the
 * client's subscriptions `movesTargets`: a QoS 1 publish behind it chooses its sessions
 * only once it has run (durable-publish.ts). The chain itself never rejects: a step's
 * outcome goes to its own caller, not to the next step.
 */
export function chainStep<T>(session: Session, step: Promise<T>, movesTargets: boolean): Promise<T> {
  if (movesTargets) session.targetMovesChained++;
  const release = (): void => {
    if (movesTargets) session.targetMovesChained--;
    if (session.publishChain === tail) session.publishChain = null;
  };
  const tail = step.then(release, release);
  session.publishChain = tail;
  return step;
}
