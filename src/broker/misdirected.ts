/**
 * Peers that reached the broker's port but speak another protocol: a browser or curl
 * (HTTP), or a client that starts TLS. Their first four bytes, read as a length header,
 * announce a frame far over any usable `max_message_size` (`GET ` is 1,195,725,856
 * bytes, a TLS ClientHello about 369 MB), so they are recognised only where the broker
 * would refuse that header anyway: the first header of a connection, found oversize.
 * Normal frames cost nothing. Telling them apart lets the log say what happened instead
 * of "frame too large declared=1195725856", and lets a curl user read the answer.
 */
import { safeExcerpt } from '../protocol/excerpt.js';

/** What the first four bytes of a connection say the peer is. */
export type Misdirected = { kind: 'http'; method: string } | { kind: 'tls' };

/** The log message (and the first words of the HTTP answer) for an HTTP peer. */
export const NOT_HTTP = "this is the broker's TCP port, not HTTP";
/** The log message for a TLS peer. */
export const NOT_TLS = 'a TLS client; the broker speaks plain TCP';

const HTTP_METHODS = ['GET', 'POST', 'PUT', 'HEAD', 'DELETE', 'OPTIONS', 'PATCH', 'CONNECT'];

/** The request's first four bytes (`GET `, `POST`, `DELE`, ...) as a big-endian u32 -> the method. */
const BY_HEADER: ReadonlyMap<number, string> = new Map(
  HTTP_METHODS.map((m) => [Buffer.from(`${m} `.slice(0, 4), 'latin1').readUInt32BE(0), m]),
);

/**
 * What a connection's first length header says, when it is no length at all.
 * @param header the first four bytes as a big-endian unsigned integer
 */
export function recogniseMisdirected(header: number): Misdirected | null {
  const method = BY_HEADER.get(header);
  if (method !== undefined) return { kind: 'http', method };
  // A TLS record: content type 22 (handshake), protocol major version 3.
  if (header >>> 24 === 0x16 && ((header >>> 16) & 0xff) === 0x03) return { kind: 'tls' };
  return null;
}

/** The request line (`GET /favicon.ico HTTP/1.1`), shortened and made log-safe. */
export function requestLineExcerpt(start: Buffer): string {
  const eol = start.indexOf(0x0a);
  const line = start.subarray(0, eol < 0 ? Math.min(start.length, 200) : eol).toString('latin1');
  return safeExcerpt(line.replace(/\r$/, ''), 100);
}

/**
 * A complete `400 Bad Request` answer whose one-line body says where the peer is, so
 * that `curl http://127.0.0.1:15234/` prints something useful. No body for HEAD, as
 * HTTP requires.
 */
export function httpRefusal(method: string): Buffer {
  const body = `${NOT_HTTP}: ahk-bridge speaks length-prefixed JSON-RPC over plain TCP; use a broker client (e.g. bridge status), not a browser or curl\n`;
  const head = [
    'HTTP/1.1 400 Bad Request',
    'Content-Type: text/plain; charset=utf-8',
    `Content-Length: ${Buffer.byteLength(body)}`,
    'Connection: close',
    '',
    '',
  ].join('\r\n');
  return Buffer.from(method === 'HEAD' ? head : head + body, 'utf8');
}
