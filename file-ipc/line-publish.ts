/**
 * What one queue line publishes: its topic, its payload with the line's id in it, and
 * that id.
 *
 * A line whose payload is JSON is sent as the script's own text with `queue_id` spliced
 * in, so that text is all its publish holds while its batch is out at the broker. The
 * parsed value and the id string are made again when something asks for them (a report,
 * a dead letter, a test's fake broker). On a backlog, the parsed objects and id strings
 * kept for each line in flight outlived young-generation collections and were promoted
 * to the old generation, which then grew with them.
 */
import type { PayloadWriter } from '../src/client/index.js';
import type { DecodedLine } from './decoder.js';
import { hasReadableBytes } from './decoder.js';
import type { LineParser, ParsedLine } from './line-parser.js';
import { scanObjectLine } from './line-scan.js';
import type { QueuePublish } from './tailer-types.js';

/** The ids of the lines of one file generation: `<fileId>:<byte offset>`. */
export class LineIds {
  /** `"<fileId>:` as JSON text, without its closing quote: the offset's digits follow. */
  readonly jsonHead: string;
  /** `,"queue_id":"<fileId>:` in bytes: what goes before a member's offset digits. */
  readonly memberHead: Buffer;

  constructor(readonly fileId: string) {
    this.jsonHead = JSON.stringify(`${fileId}:`).slice(0, -1);
    this.memberHead = Buffer.from(`,"queue_id":${this.jsonHead}`, 'utf8');
  }

  /**
   * `objectText` (a JSON object's text, ending with its `}`) with the id of the line at
   * `offset` as its last member: the text form of what {@link memberHead} writes as bytes.
   * @param first the object has no member yet (no comma before the id)
   */
  withIdMember(objectText: string, first: boolean, offset: number): string {
    return `${objectText.slice(0, -1)}${first ? '' : ','}"queue_id":${this.jsonHead}${offsetDigits(offset)}"}`;
  }

  /** The id of the line starting at byte `offset`. */
  of(offset: number): string {
    return `${this.fileId}:${offsetDigits(offset)}`;
  }
}

/**
 * The decimal digits of a byte offset. Not `${offset}`: V8 keeps the strings it makes
 * from numbers in a cache that the young generation's collections treat as live, so the
 * string of every line's offset, used once, was promoted to the old generation: on a
 * 200,000-line backlog 4.6 MB of the 11.4 MB promoted (V8's sampling heap profiler,
 * minor-collected objects left out). `toFixed` makes its string anew, and an offset
 * (below 2^53) has no fraction nor exponent.
 */
function offsetDigits(offset: number): string {
  return offset.toFixed(0);
}

/** A line's publish whose payload is JSON text: only that text is kept. */
class JsonLinePublish implements QueuePublish {
  constructor(
    readonly topic: string,
    readonly payloadJson: string,
    private readonly ids: LineIds,
    private readonly offset: number,
  ) {}

  get queueId(): string {
    return this.ids.of(this.offset);
  }

  /** The text parsed again: the same value as the line's (its big integers were refused as JSON). */
  get payload(): unknown {
    return JSON.parse(this.payloadJson) as unknown;
  }
}

/** `"}`: what ends the `queue_id` member and the object after the offset's digits. */
const MEMBER_TAIL = Buffer.from('"}', 'latin1');

/**
 * A line's publish read from its bytes (see line-scan.ts): its payload is the object's
 * bytes in the decoder's copy of the file, with the id's member written after them when
 * the object has none. Its text and value are made only when asked for.
 */
class ObjectLinePublish implements QueuePublish {
  constructor(
    readonly topic: string,
    private readonly bytes: Buffer,
    private readonly from: number,
    /** Just past the object's `}`. */
    private readonly to: number,
    /** What goes between the object's last member and the id: `,`, nothing (`{}`), or no id at all. */
    private readonly splice: 'member' | 'first' | 'none',
    private readonly ids: LineIds,
    private readonly offset: number,
  ) {}

  get queueId(): string {
    return this.ids.of(this.offset);
  }

  writePayload(out: PayloadWriter): void {
    if (this.splice === 'none') {
      out.bytes(this.bytes, this.from, this.to);
      return;
    }
    const head = this.ids.memberHead;
    out.bytes(this.bytes, this.from, this.to - 1);
    out.bytes(head, this.splice === 'first' ? 1 : 0, head.length);
    out.uint(this.offset);
    out.bytes(MEMBER_TAIL, 0, MEMBER_TAIL.length);
  }

  /** The text {@link writePayload} writes. */
  get payloadJson(): string {
    const object = this.bytes.toString('utf8', this.from, this.to);
    return this.splice === 'none' ? object : this.ids.withIdMember(object, this.splice === 'first', this.offset);
  }

  get payload(): unknown {
    return JSON.parse(this.payloadJson) as unknown;
  }

  /** What a log sees: the publish, not the 32 KiB of the file its bytes share with other lines. */
  toJSON(): { topic: string; payloadJson: string; queueId: string } {
    return { topic: this.topic, payloadJson: this.payloadJson, queueId: this.queueId };
  }
}

/**
 * The publish of `line` read from its bytes, or null when it is not a line read that way
 * (see line-scan.ts) or its name gives no topic lines may be published to: then
 * {@link linePublish} of its parsed text makes the same publish, or the parser says why
 * there is none.
 */
export function objectLinePublish(line: DecodedLine, parser: LineParser, ids: LineIds): QueuePublish | null {
  if (!hasReadableBytes(line)) return null;
  const scan = scanObjectLine(line.bytes, line.textStart, line.textEnd, line.bytesAre === 'ascii');
  if (scan === null) return null;
  const topic = parser.topicOfAsciiName(line.bytes, scan.nameStart, scan.nameEnd);
  if (topic === null) return null;
  const splice = scan.hasQueueId ? 'none' : scan.empty ? 'first' : 'member';
  return new ObjectLinePublish(topic, line.bytes, scan.payloadStart, scan.payloadEnd, splice, ids, line.start);
}

/**
 * Whether `payload` is given the line's id: an object that has no `queue_id` of its own,
 * so subscribers can drop repeats.
 */
function takesQueueId(payload: unknown): payload is Record<string, unknown> {
  return typeof payload === 'object' && payload !== null && !Array.isArray(payload) && !Object.hasOwn(payload, 'queue_id');
}

/**
 * The JSON text `text` of `payload` with the line's id added as a last member, before the
 * object's closing brace, so its own members keep their bytes and order. Sending the
 * script's text rather than serialising the parsed value again was most of the tail's CPU
 * per line (a 17-digit job id inside an object also keeps its digits).
 */
function textWithQueueId(payload: unknown, text: string, ids: LineIds, offset: number): string {
  if (!takesQueueId(payload)) return text;
  let i = text.length - 2; // text ends with the object's `}`
  while (i > 0 && isJsonSpace(text.charCodeAt(i))) i--;
  const empty = text.charCodeAt(i) === 0x7b; // `{`: no member yet
  return ids.withIdMember(text, empty, offset);
}

const isJsonSpace = (c: number): boolean => c === 0x20 || c === 0x09 || c === 0x0a || c === 0x0d;

/**
 * The publish of a line the parser made a publish of, starting at byte `offset` of its
 * file. Text that is not JSON was made `{data: text}` by the parser, an object that gets
 * the id as a member and is serialised by the client.
 */
export function linePublish(parsed: Extract<ParsedLine, { kind: 'publish' }>, ids: LineIds, offset: number): QueuePublish {
  if (parsed.payloadText !== undefined) {
    return new JsonLinePublish(parsed.topic, textWithQueueId(parsed.payload, parsed.payloadText, ids, offset), ids, offset);
  }
  const queueId = ids.of(offset);
  const payload = parsed.payload;
  // The parser made this object for this line alone: the id is added in place.
  if (takesQueueId(payload)) payload.queue_id = queueId;
  return { topic: parsed.topic, payload, queueId };
}
