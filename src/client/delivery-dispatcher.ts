/**
 * Turns deliveries into callbacks, then into a reply (for requests) and an ack (QoS 1).
 * Deliveries run one after another by default, so acks and replies keep arrival order;
 * with `concurrent` each runs as it arrives (one slow callback does not hold up others).
 */
import { ErrorCode, RpcError } from '../protocol/errors.js';
import type { Connection } from './connection.js';
import { errorText } from './errors.js';
import type { Message, MessageHandler } from './message.js';

/** What the dispatcher needs from its client. */
export interface DispatcherDeps {
  concurrent: boolean;
  /** Every callback whose pattern matches `topic`, each once. */
  handlersFor(topic: string): Set<MessageHandler>;
  /** False once `conn` closed or was replaced: its reply_to tokens are void. */
  isCurrent(conn: Connection): boolean;
  /** Send a notification on `conn`; false when it could not be queued. */
  notify(conn: Connection, method: string, params: unknown): boolean;
  /** A callback or a reply failed: the client's `error_occurred`. */
  reportError(err: Error): void;
  /** The dispatch itself failed (a bug): logged, and the chain goes on. */
  logFailure(err: unknown): void;
}


export class DeliveryDispatcher {
  private chain: Promise<void> = Promise.resolve();
  /** Deliveries whose callbacks are still running. */
  private inFlight = 0;
  private readonly idleWaiters: (() => void)[] = [];

  constructor(private readonly deps: DispatcherDeps) {}

  /**
   * Run `message`'s callbacks (now, or after the deliveries before it): every one whose
   * pattern matches, or with `target` only that one among them (`null`: none).
   */
  deliver(conn: Connection, message: Message, target?: MessageHandler | null): void {
    const run = (): Promise<void> => {
      this.inFlight++;
      return this.dispatch(conn, message, target)
        .catch((err: unknown) => this.deps.logFailure(err))
        .finally(() => {
          if (--this.inFlight === 0) for (const w of this.idleWaiters.splice(0)) w();
        });
    };
    // run() ends in its own catch: it cannot reject.
    // eslint-disable-next-line @typescript-eslint/no-floating-promises
    if (this.deps.concurrent) void run();
    else this.chain = this.chain.then(run);
  }

  /** Resolves once no callback is running, or after `timeoutMs`. */
  idle(timeoutMs: number): Promise<void> {
    if (this.inFlight === 0) return Promise.resolve();
    return new Promise((resolve) => {
      const timer = setTimeout(resolve, timeoutMs);
      timer.unref();
      this.idleWaiters.push(() => {
        clearTimeout(timer);
        resolve();
      });
    });
  }

  /** Run the callbacks of one delivery, then reply and ack. Never rejects. */
  private async dispatch(conn: Connection, message: Message, target: MessageHandler | null | undefined): Promise<void> {
    const matching = this.deps.handlersFor(message.topic);
    const handlers = target === undefined ? matching : new Set(target !== null && matching.has(target) ? [target] : []);
    // async wrapper: a synchronous throw becomes a rejection like an async one.
    const outcomes = await Promise.allSettled([...handlers].map(async (handler) => handler(message)));

    let answer: { value: unknown } | undefined;
    let failure: unknown;
    let failed = false;
    for (const outcome of outcomes) {
      if (outcome.status === 'rejected') {
        if (!failed) failure = outcome.reason;
        failed = true;
        this.deps.reportError(
          new Error(`subscription callback for "${message.topic}" (message ${message.messageId}) threw: ${errorText(outcome.reason)}`, {
            cause: outcome.reason,
          }),
        );
        // null is "no answer" to the broker, so it must not shadow another callback's value.
      } else if (!answer && outcome.value !== undefined && outcome.value !== null) {
        answer = { value: outcome.value };
      }
    }

    // A delivery from a connection that has since closed is redelivered on the new one
    // (QoS 1) or is lost anyway (QoS 0); its reply_to belongs to the old connection.
    if (!this.deps.isCurrent(conn)) return;

    if (message.replyTo !== undefined) {
      let sent = false;
      const unsendable = answer ? notJsonValue(answer.value) : null;
      if (unsendable) {
        // JSON.stringify would drop it, or write null: to the broker "not answering", so
        // the requester would wait for its timeout.
        failed = true;
        failure = new Error(`reply value is not JSON: ${unsendable}`);
        this.deps.reportError(new Error(`cannot reply to "${message.topic}": ${errorText(failure)}`));
      } else if (answer) {
        try {
          sent = this.deps.notify(conn, 'reply', { reply_to: message.replyTo, result: answer.value });
        } catch (err) {
          failed = true;
          // Too deep for the broker: its RpcError says so, with the code the requester gets.
          failure = err instanceof RpcError ? err : new Error(`reply value is not JSON-serialisable: ${errorText(err)}`);
          this.deps.reportError(new Error(`cannot reply to "${message.topic}": ${errorText(failure)}`, { cause: err }));
        }
      }
      if (!sent && failed) {
        // Answer with an error so the requester fails now instead of at its timeout.
        // A handler that throws an RpcError chose its code (e.g. -32602 for bad input).
        const error = failure instanceof RpcError ? failure.toJSON() : { code: ErrorCode.INTERNAL_ERROR, message: errorText(failure) };
        this.deps.notify(conn, 'reply', { reply_to: message.replyTo, error });
      }
    }
    // Ack even after a failure: a message that always throws would otherwise be
    // redelivered on every reconnect, forever.
    if (message.qos === 1) this.deps.notify(conn, 'ack', { message_id: message.messageId });
  }
}

/** What a callback's answer is when JSON has no value for it (a function, a symbol, NaN, Infinity), or null. */
function notJsonValue(value: unknown): string | null {
  if (typeof value === 'function') return 'a function';
  if (typeof value === 'symbol') return 'a symbol';
  if (typeof value === 'number' && !Number.isFinite(value)) return String(value);
  return null;
}
