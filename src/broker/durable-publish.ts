/**
 * A publish with persistence on: **journal first, route after.**
 *
 * A QoS 1 publish is answered only once its message is durable, and a publish whose
 * append failed is answered -32004. A publisher told "failed" retries, so the message
 * must not have been delivered either: routing first and journaling after would hand
 * subscribers a message that is not stored (lost at the next crash, and delivered
 * twice once the publisher retries). So the sessions a QoS 1 message goes to are chosen
 * when it is published (they are what the `enqueue` record names), the append is made,
 * and only when it succeeded is the message routed, to those sessions, and retained.
 * Behind a subscribe or unsubscribe of the same client that is still being stored, they
 * are chosen, and the append made, once that has been applied.
 *
 * Order: one publisher's messages must reach each subscriber in publish order, and a
 * QoS 0 publish is not journaled. While any publish of a client waits for the journal,
 * its later publishes (QoS 0 included) queue behind it on the session's `publishChain`
 * and are routed in turn. A client with nothing waiting takes the synchronous path, so
 * QoS 0 costs one field read more than without persistence. A `request` is not
 * journaled, but it waits in the chain too (handlers/request.ts).
 */
import { decimalLength, writeDecimal } from '../protocol/decimal.js';
import type { RpcError } from '../protocol/errors.js';
import type { PublishResult } from '../protocol/messages.js';
import type { SelfEncodingResult } from './answer-encoder.js';
import type { BrokerContext } from './context.js';
import type { Durability } from './durability.js';
import { deliveryFrame, type BrokerMessage } from './message.js';
import { MESSAGE_ID_LENGTH, writeMessageId } from './message-id.js';
import { chainStep } from './publish-chain.js';
import type { Session } from './session.js';

/**
 * Retain and route a message that was accepted (and, with persistence, stored): the end
 * of every publish (`ttl` in seconds, for the log). `targets` are the sessions chosen at publish time for a journaled
 * QoS 1 message, `null` to match now.
 */
export function finishPublish(
  broker: BrokerContext,
  session: Session,
  msg: BrokerMessage,
  retain: boolean,
  ttl: number,
  targets: readonly Session[] | null,
): PublishResult {
  return new PublishAnswer(msg, routePublished(broker, session, msg, retain, ttl, targets));
}

/** {@link finishPublish} without the answer; returns the number of sessions `msg` was routed to. */
export function routePublished(
  broker: BrokerContext,
  session: Session,
  msg: BrokerMessage,
  retain: boolean,
  ttl: number,
  targets: readonly Session[] | null,
): number {
  if (retain) broker.retained.set(msg);
  const delivered = targets === null ? broker.router.route(msg) : broker.router.routeTo(msg, targets);
  broker.stats.messages++;
  if (broker.config.log_messages) {
    broker.log.info('publish', { sender: session.clientId, topic: msg.topic, qos: msg.qos, ttl, retain, delivered, message_id: msg.id, payload: msg.payload });
  }
  return delivered;
}

/**
 * The answer to a publish. Its id string is made only when something asks: a
 * notification's never is, and a response writes the id from its sequence number
 * straight into the frame (answer-encoder.ts); making the string cost a visible share of
 * each publish.
 */
export class PublishAnswer implements PublishResult, SelfEncodingResult {
  constructor(
    private readonly msg: BrokerMessage,
    readonly delivered: number,
  ) {}

  get message_id(): string {
    return this.msg.id;
  }

  toJSON(): PublishResult {
    return { message_id: this.msg.id, delivered: this.delivered };
  }

  jsonBytes(): number {
    if (this.msg.idSpace === undefined || this.msg.idSeq === undefined) return -1;
    return ANSWER_HEAD.length + MESSAGE_ID_LENGTH + ANSWER_MIDDLE.length + decimalLength(this.delivered) + 1;
  }

  writeJson(target: Buffer, at: number): number {
    target.set(ANSWER_HEAD, at);
    let off = at + ANSWER_HEAD.length;
    off += writeMessageId(this.msg.idSpace!, this.msg.idSeq!, target, off);
    target.set(ANSWER_MIDDLE, off);
    off = writeDecimal(target, off + ANSWER_MIDDLE.length, this.delivered);
    target[off++] = 0x7d; // }
    return off - at;
  }
}

// JSON.stringify's order of toJSON's keys.
const ANSWER_HEAD = Buffer.from('{"message_id":"', 'latin1');
const ANSWER_MIDDLE = Buffer.from('","delivered":', 'latin1');

/** True when a publish needs {@link publishDurably}: it is journaled, or must wait behind one that is. */
export function needsJournal(durability: Durability | null, session: Session, qos: 0 | 1, retain: boolean): durability is Durability {
  return durability !== null && (qos === 1 || retain || session.publishChain !== null);
}

/** A publish on its way through the journal. */
interface JournaledPublish {
  readonly broker: BrokerContext;
  readonly durability: Durability;
  readonly session: Session;
  readonly msg: BrokerMessage;
  readonly retain: boolean;
  readonly ttl: number;
}

/**
 * Journal `msg` (see the module comment), then finish it. Resolves to the publish result;
 * rejects with -32004 when the journal could not store it, in which case nothing was
 * delivered or retained.
 */
export function publishDurably(
  broker: BrokerContext,
  durability: Durability,
  session: Session,
  msg: BrokerMessage,
  retain: boolean,
  ttl: number,
): PublishResult | Promise<PublishResult> {
  // Built now, as RetainedStore.set would: a message that cannot be serialised fails its
  // own publish, before anything is journaled.
  if (retain) deliveryFrame(msg, { retained: true });
  const p: JournaledPublish = { broker, durability, session, msg, retain, ttl };
  const before = session.publishChain;
  if (msg.qos === 1 && before !== null && session.targetMovesChained > 0) {
    // A subscribe or unsubscribe of this client waits ahead of it: "subscribe, then
    // publish to it" must reach the client, and "unsubscribe, then publish" must not, so
    // its sessions are chosen, and it is journaled, once those have run.
    return chainStep(session, before.then(() => storeAndFinish(p)), true);
  }
  const targets = msg.qos === 1 ? broker.router.targets(msg) : null;
  const stored = durability.storePublish(msg, targets, retain);
  if (stored === null && before === null) return finishPublish(broker, session, msg, retain, ttl, targets);
  const waited = before === null ? stored! : before.then(() => stored);
  return chainStep(session, waited.then(onceStored(p, targets)), false);
}

/** Choose the publish's sessions now, journal it, then finish it. */
function storeAndFinish(p: JournaledPublish): PublishResult | Promise<PublishResult> {
  const targets = p.msg.qos === 1 ? p.broker.router.targets(p.msg) : null;
  const stored = p.durability.storePublish(p.msg, targets, p.retain);
  return stored === null ? onceStored(p, targets)(null) : stored.then(onceStored(p, targets));
}

/** What finishes the publish once the journal answered: its refusal thrown, or the publish routed to `targets`. */
function onceStored(p: JournaledPublish, targets: readonly Session[] | null): (refusal: RpcError | null) => PublishResult {
  return (refusal) => {
    if (refusal) throw refusal;
    return finishPublish(p.broker, p.session, p.msg, p.retain, p.ttl, targets);
  };
}
