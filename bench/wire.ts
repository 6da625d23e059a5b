/**
 * Frames the bench sends. Control calls (connect, subscribe) use the project's own
 * encoder; publishes are stamped out of a prebuilt template, because the publisher must
 * outrun the broker by a wide margin or the bench would measure the publisher instead.
 *
 * A publish payload is JSON of exactly `payloadBytes` bytes:
 *   {"seq":        1234,"t":               0,"pad":"xxxx…"}
 * The numbers are right-aligned in fixed-width slots padded with spaces (JSON allows
 * whitespace there), so a frame never changes length and needs no re-encoding. A QoS 1
 * template is a `publish` REQUEST instead: `"qos":1` and an `"id"` slot of the same kind,
 * filled with {@link QOS1_ID_BASE} + seq.
 */
import { HEADER_BYTES, encodeFrame } from '../src/protocol/framing.js';

const SEQ_WIDTH = 12;
const ID_WIDTH = 12;
/**
 * QoS 1 publish ids are this plus the seq: far above the ids the connection's own calls
 * (`connect`, `subscribe`) use, so an answer is never mistaken for one of theirs.
 */
export const QOS1_ID_BASE = 1_000_000_000;
/** Nanoseconds since the sending process started: 16 digits last 115 days. */
const TIME_WIDTH = 16;
const SPACE = 0x20;
const ZERO = 0x30;

/** One JSON-RPC request frame (`id` present) or notification frame (`id` null). */
export function callFrame(id: number | null, method: string, params: Record<string, unknown>): Buffer {
  const msg = id === null ? { jsonrpc: '2.0', method, params } : { jsonrpc: '2.0', id, method, params };
  return encodeFrame(JSON.stringify(msg));
}

/** Write `value` right-aligned into `buf[end - width, end)`, spaces on the left. */
function writeDigits(buf: Buffer, end: number, width: number, value: number): void {
  if (!Number.isSafeInteger(value) || value < 0 || value >= 10 ** width) {
    throw new RangeError(`value ${value} does not fit ${width} digits`);
  }
  const start = end - width;
  let v = value;
  let i = end - 1;
  do {
    buf[i--] = ZERO + (v % 10);
    v = Math.floor(v / 10);
  } while (v > 0);
  while (i >= start) buf[i--] = SPACE;
}

/** Smallest payload the template can carry (its fixed fields with an empty pad). */
export const MIN_PAYLOAD_BYTES = `{"seq":,"t":,"pad":""}`.length + SEQ_WIDTH + TIME_WIDTH;

/**
 * A `publish` frame for one topic, stamped with a sequence number and time: a
 * notification (fire-and-forget, QoS 0), or with `qos1` a QoS 1 request whose id is
 * {@link QOS1_ID_BASE} + seq.
 */
export class PublishTemplate {
  /** Bytes of one whole frame, header included. */
  readonly frameBytes: number;
  private readonly template: Buffer;
  private readonly idEnd: number;
  private readonly seqEnd: number;
  private readonly timeEnd: number;

  constructor(topic: string, payloadBytes: number, opts: { qos1?: boolean } = {}) {
    if (payloadBytes < MIN_PAYLOAD_BYTES) throw new RangeError(`payload must be at least ${MIN_PAYLOAD_BYTES} bytes`);
    const seqSlot = ' '.repeat(SEQ_WIDTH);
    const timeSlot = ' '.repeat(TIME_WIDTH);
    const pad = 'x'.repeat(payloadBytes - MIN_PAYLOAD_BYTES);
    const payload = `{"seq":${seqSlot},"t":${timeSlot},"pad":"${pad}"}`;
    const idHead = '{"jsonrpc":"2.0","id":';
    const head = opts.qos1
      ? `${idHead}${' '.repeat(ID_WIDTH)},"method":"publish","params":{"topic":${JSON.stringify(topic)},"qos":1,"payload":`
      : `{"jsonrpc":"2.0","method":"publish","params":{"topic":${JSON.stringify(topic)},"payload":`;
    this.template = encodeFrame(`${head}${payload}}}`);
    this.frameBytes = this.template.length;
    this.idEnd = opts.qos1 ? HEADER_BYTES + idHead.length + ID_WIDTH : -1;
    const payloadStart = HEADER_BYTES + Buffer.byteLength(head);
    this.seqEnd = payloadStart + '{"seq":'.length + SEQ_WIDTH;
    this.timeEnd = this.seqEnd + ',"t":'.length + TIME_WIDTH;
  }

  /** Copy the frame into `out` at `offset` with `seq` (and the id made of it) and `timeNs` filled in. */
  write(out: Buffer, offset: number, seq: number, timeNs: number): void {
    this.template.copy(out, offset);
    if (this.idEnd >= 0) writeDigits(out, offset + this.idEnd, ID_WIDTH, QOS1_ID_BASE + seq);
    writeDigits(out, offset + this.seqEnd, SEQ_WIDTH, seq);
    writeDigits(out, offset + this.timeEnd, TIME_WIDTH, timeNs);
  }

  /** `count` consecutive frames starting at `firstSeq`, all stamped `timeNs`, in one buffer. */
  batch(firstSeq: number, count: number, timeNs: number): Buffer {
    const out = Buffer.allocUnsafe(count * this.frameBytes);
    for (let i = 0; i < count; i++) this.write(out, i * this.frameBytes, firstSeq + i, timeNs);
    return out;
  }
}

/**
 * A field of a delivered bench payload, or -1 when the payload is not one of ours.
 * Called once per delivery, so it allocates nothing.
 */
export function payloadField(payload: unknown, field: 'seq' | 't'): number {
  if (typeof payload !== 'object' || payload === null) return -1;
  const v = (payload as Record<string, unknown>)[field];
  return typeof v === 'number' ? v : -1;
}
