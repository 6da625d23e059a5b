/**
 * The `publish` calls of a batch (`BrokerClient.publishBatch`), written into the batch's
 * frame piece by piece rather than each serialised through an object.
 */
import type { BatchPublish } from './call-types.js';
import { JsonPiece, type CallWriter } from './batch-frame.js';

const PUBLISH_TOPIC = new JsonPiece('{"jsonrpc":"2.0","method":"publish","params":{"topic":');
const PAYLOAD = new JsonPiece(',"payload":');
const NULL = new JsonPiece('null');
const QOS = new JsonPiece(',"qos":');
const TTL = new JsonPiece(',"ttl":');
const RETAIN = new JsonPiece(',"retain":');
const ID = new JsonPiece('},"id":');
const CALL_END = new JsonPiece('}');

/**
 * The JSON of the last topic asked for, as bytes: a batch's publishes mostly share one,
 * and writing its text into the frame again for every call (encoding it to UTF-8 each
 * time) was 5 % of `bridge tail`'s CPU on a backlog.
 */
export class TopicJson {
  private topic: string | undefined;
  private json: JsonPiece = NULL;
  of(topic: string): JsonPiece {
    if (topic !== this.topic) {
      this.topic = topic;
      this.json = new JsonPiece(JSON.stringify(topic));
    }
    return this.json;
  }
}

/**
 * Write the `publish` call of `item` with `id` piece by piece: a batch makes hundreds,
 * and serialising each through an object was the largest cost of a queue backlog's
 * client. A `payloadJson` goes in as it is.
 * @throws TypeError when the topic is not a string or an option or the payload is not JSON
 */
export function writePublishCall(item: BatchPublish, id: number, out: CallWriter, topics: TopicJson, defaultQos: 0 | 1 | undefined): void {
  if (typeof item.topic !== 'string') throw new TypeError(`the topic is a ${typeof item.topic}, not a string`);
  out.piece(PUBLISH_TOPIC);
  out.piece(topics.of(item.topic));
  out.piece(PAYLOAD);
  if (item.writePayload !== undefined) item.writePayload(out);
  else if (item.payloadJson !== undefined) out.json(item.payloadJson);
  else if (item.payload === undefined) out.piece(NULL);
  else out.json(json(item.payload, 'payload'));
  const qos = item.qos ?? defaultQos;
  if (qos !== undefined) {
    out.piece(QOS);
    if (qos === 0 || qos === 1) out.uint(qos);
    else out.json(json(qos, 'qos'));
  }
  if (item.ttl !== undefined) {
    out.piece(TTL);
    out.json(json(item.ttl, 'ttl'));
  }
  if (item.retain !== undefined) {
    out.piece(RETAIN);
    out.json(json(item.retain, 'retain'));
  }
  out.piece(ID);
  out.uint(id);
  out.piece(CALL_END);
}

/**
 * `value` as JSON text. JSON.stringify gives undefined for a function or a symbol, which
 * spliced into a frame would make the broker refuse all of it: thrown instead, for this
 * message alone.
 */
function json(value: unknown, what: string): string {
  const text = JSON.stringify(value) as string | undefined;
  if (text === undefined) throw new TypeError(`the ${what} is a ${typeof value}, not a JSON value`);
  return text;
}
