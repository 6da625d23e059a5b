/**
 * The size of an MQTT 5 PUBLISH packet as the link sends it, counted as the server counts
 * it against the Maximum Packet Size its CONNACK announces (MQTT 5.0, 3.1.2.11.4): the
 * whole packet, fixed header included. A server that gets a larger one disconnects the
 * client, and the link would send the same QoS 1 export again after every reconnect.
 */

/** The properties of an export's PUBLISH (see mqtt-link.ts `publish`). */
export interface PublishProperties {
  /** MQTT allows a key more than once: an array is one property per value. */
  userProperties?: Readonly<Record<string, string | readonly string[]>>;
  contentType?: string;
  payloadFormatIndicator?: boolean;
  messageExpiryInterval?: number;
  responseTopic?: string;
  correlationData?: Uint8Array;
}

/** Bytes of MQTT's Variable Byte Integer for `n`. */
function varIntBytes(n: number): number {
  return n < 128 ? 1 : n < 16_384 ? 2 : n < 2_097_152 ? 3 : 4;
}

/** A UTF-8 string as MQTT writes it: two length bytes, then the bytes. */
const stringBytes = (s: string): number => 2 + Buffer.byteLength(s);

/** The whole PUBLISH packet's size in bytes. */
export function publishPacketBytes(topic: string, payloadBytes: number, qos: 0 | 1, properties: PublishProperties): number {
  let props = 0;
  if (properties.payloadFormatIndicator !== undefined) props += 1 + 1;
  if (properties.messageExpiryInterval !== undefined) props += 1 + 4;
  if (properties.contentType !== undefined) props += 1 + stringBytes(properties.contentType);
  if (properties.responseTopic !== undefined) props += 1 + stringBytes(properties.responseTopic);
  if (properties.correlationData !== undefined) props += 1 + 2 + properties.correlationData.length;
  for (const [key, values] of Object.entries(properties.userProperties ?? {})) {
    for (const value of typeof values === 'string' ? [values] : values) props += 1 + stringBytes(key) + stringBytes(value);
  }
  const remaining = stringBytes(topic) + (qos > 0 ? 2 : 0) + varIntBytes(props) + props + payloadBytes;
  return 1 + varIntBytes(remaining) + remaining;
}
