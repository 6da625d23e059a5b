/**
 * Peers that reach the broker's port speaking another protocol: a browser or curl (HTTP)
 * and a TLS client. A real broker over real TCP; its log is captured as JSON lines.
 * Each must get a WARNING that names it and its address (not "frame too large
 * declared=1195725856"), an HTTP peer an answer it can print, and the broker must go on
 * serving normal clients.
 */
import http from 'node:http';
import net from 'node:net';
import tls from 'node:tls';
import { describe, expect, it } from 'vitest';
import { encodeJsonFrame } from '../../src/protocol/index.js';
import { loggedBroker, roundTrip, useTestBed, type LogLine } from '../helpers/test-bed.js';

const bed = useTestBed();

/** A broker whose log (debug and up) is kept as parsed JSON lines. */
const logged = (): Promise<{ port: number; logs: LogLine[] }> => loggedBroker(bed, { max_message_size: 64 * 1024 });

/** Write `parts` (awaiting each write's flush, so they arrive as separate reads) and collect all bytes until the broker closes. */
async function exchange(port: number, parts: (string | Buffer)[]): Promise<{ text: string; local: string }> {
  const socket = net.connect({ port, host: '127.0.0.1' });
  socket.setNoDelay(true);
  await new Promise<void>((resolve, reject) => socket.once('connect', resolve).once('error', reject));
  const local = `127.0.0.1:${socket.localPort}`;
  const chunks: Buffer[] = [];
  socket.on('data', (c: Buffer) => chunks.push(c));
  const closed = new Promise<void>((resolve, reject) => {
    socket.once('close', () => resolve());
    socket.once('error', reject);
  });
  for (const part of parts) await new Promise<void>((resolve, reject) => socket.write(part, (err) => (err ? reject(err) : resolve())));
  await closed;
  return { text: Buffer.concat(chunks).toString('utf8'), local };
}

const warnings = (logs: LogLine[]): LogLine[] => logs.filter((l) => l.level === 'warning');
const CURL_REQUEST = 'GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nUser-Agent: curl/8.5.0\r\nAccept: */*\r\n\r\n';
const NOT_HTTP = "this is the broker's TCP port, not HTTP";

describe('an HTTP client on the broker port', () => {
  it('gets a 400 whose one-line body says what the port is, the log one WARNING with its address; the broker keeps serving', async () => {
    const { port, logs } = await logged();
    const { text, local } = await exchange(port, [CURL_REQUEST]);
    const [head, body] = text.split('\r\n\r\n');
    expect(head!.split('\r\n')).toEqual([
      'HTTP/1.1 400 Bad Request',
      'Content-Type: text/plain; charset=utf-8',
      `Content-Length: ${Buffer.byteLength(body!)}`,
      'Connection: close',
    ]);
    expect(body).toMatch(new RegExp(`^${NOT_HTTP}: ahk-bridge speaks length-prefixed JSON-RPC over plain TCP; [^\\n]+\\n$`));
    expect(warnings(logs)).toEqual([
      expect.objectContaining({ level: 'warning', msg: NOT_HTTP, remote: local, method: 'GET', request: 'GET / HTTP/1.1' }),
    ]);
    expect(logs.some((l) => /too large/.test(l.msg))).toBe(false);
    const c = await bed.connected(port, 'after-http');
    await roundTrip(c);
  });

  it('answers what node:http (as a browser would) reads as a complete 400 response', async () => {
    const { port, logs } = await logged();
    const res = await new Promise<{ status: number | undefined; body: string }>((resolve, reject) => {
      http
        .get({ host: '127.0.0.1', port, path: '/favicon.ico', agent: false }, (r) => {
          let body = '';
          r.setEncoding('utf8').on('data', (d: string) => (body += d)).on('end', () => resolve({ status: r.statusCode, body }));
        })
        .on('error', reject);
    });
    expect(res.status).toBe(400);
    expect(res.body.startsWith(`${NOT_HTTP}:`)).toBe(true);
    expect(warnings(logs)).toEqual([expect.objectContaining({ msg: NOT_HTTP, method: 'GET', request: 'GET /favicon.ico HTTP/1.1' })]);
  });

  it.each(['POST', 'PUT', 'DELETE', 'OPTIONS', 'PATCH', 'CONNECT'])('recognises %s', async (method) => {
    const { port, logs } = await logged();
    const { text } = await exchange(port, [`${method} /x HTTP/1.1\r\nHost: a\r\nContent-Length: 0\r\n\r\n`]);
    expect(text).toMatch(new RegExp(`^HTTP/1\\.1 400 Bad Request\\r\\n[^]*\\r\\n\\r\\n${NOT_HTTP}: `));
    expect(warnings(logs)).toEqual([expect.objectContaining({ msg: NOT_HTTP, method, request: `${method} /x HTTP/1.1` })]);
  });

  it('answers HEAD with the status and headers only, as HTTP requires', async () => {
    const { port } = await logged();
    const { text } = await exchange(port, ['HEAD / HTTP/1.1\r\nHost: a\r\n\r\n']);
    expect(text.startsWith('HTTP/1.1 400 Bad Request\r\n')).toBe(true);
    expect(text.endsWith('\r\n\r\n')).toBe(true);
  });

  it('recognises a request whose first bytes arrive in separate writes', async () => {
    const { port, logs } = await logged();
    const { text, local } = await exchange(port, ['G', 'E', 'T', ' /slow HTTP/1.1\r\n\r\n']);
    expect(text.startsWith('HTTP/1.1 400 Bad Request\r\n')).toBe(true);
    expect(warnings(logs)).toEqual([expect.objectContaining({ msg: NOT_HTTP, method: 'GET', remote: local })]);
    // The request line is shown only when the read that completed the header holds it all;
    // whether TCP kept the writes apart is up to the OS.
    expect([undefined, 'GET /slow HTTP/1.1']).toContain(warnings(logs)[0]!.request);
  });

  it('is not guessed after a valid frame: "GET " as a later header is an oversize frame (-32600), as the contract says', async () => {
    const { port, logs } = await logged();
    const ping = encodeJsonFrame({ jsonrpc: '2.0', id: 1, method: 'ping' });
    const { text } = await exchange(port, [Buffer.concat([ping, Buffer.from(CURL_REQUEST)])]);
    expect(text).not.toContain('HTTP/1.1');
    expect(text).toContain('"code":-32600');
    expect(warnings(logs)).toEqual([expect.objectContaining({ msg: 'frame too large; closing connection', declared: 0x47455420 })]);
  });
});

describe('a TLS client on the broker port', () => {
  it('gets a WARNING of its own with its address and is closed; the broker keeps serving', async () => {
    const { port, logs } = await logged();
    const socket = tls.connect({ host: '127.0.0.1', port, rejectUnauthorized: false });
    const local = await new Promise<string>((resolve) => socket.once('connect', () => resolve(`127.0.0.1:${socket.localPort}`)));
    const failure = await new Promise<NodeJS.ErrnoException>((resolve, reject) => {
      socket.once('error', resolve);
      socket.once('secureConnect', () => reject(new Error('a TLS handshake with the broker cannot succeed')));
    });
    expect(failure.code).toBe('ECONNRESET'); // "Client network socket disconnected before secure TLS connection was established"
    expect(warnings(logs)).toEqual([
      expect.objectContaining({ level: 'warning', msg: 'a TLS client; the broker speaks plain TCP', remote: local }),
    ]);
    const c = await bed.connected(port, 'after-tls');
    await roundTrip(c);
  });
});
