/**
 * Who may use the status page, and from where:
 * - with a broker `token`, a request needs a session cookie (from the sign-in form or a
 *   one-time `?token=`) or `Authorization: Bearer <token>`;
 * - on loopback, the `Host` must be a loopback name, or a DNS-rebinding page could read
 *   the API through the victim's browser;
 * - a state-changing request must come from the page's own origin and carry JSON, so
 *   another site open in the same browser cannot press its buttons.
 */
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Logger } from '../../src/log/logger.js';
import { COMMON_HEADERS, HttpError } from './http-replies.js';

/** How long a sign-in lasts. */
const SESSION_MS = 7 * 24 * 3600 * 1000;
/** Sign-ins remembered at once; the oldest is forgotten past this. */
const MAX_SESSIONS = 200;
/** One failed sign-in WARNING per address per this long. */
const FAILURE_LOG_MS = 10_000;

const LOOPBACK_NAMES = new Set(['localhost', '127.0.0.1', '[::1]', '::1']);

const digest = (s: string): Buffer => createHash('sha256').update(s).digest();

/** The host name of a `Host` header, without its port. */
export function hostName(header: string | undefined): string {
  if (!header) return '';
  const h = header.trim().toLowerCase();
  if (h.startsWith('[')) return h.slice(0, h.indexOf(']') + 1);
  const colon = h.lastIndexOf(':');
  return colon === -1 ? h : h.slice(0, colon);
}

export interface AccessOptions {
  /** The broker's shared token; `null`: no sign-in. */
  token: string | null;
  /** True when the server listens on loopback only (the Host check applies). */
  loopbackOnly: boolean;
  /** Names the cookie, so pages of brokers on other ports keep their own sign-ins. */
  port: number;
  log: Logger;
}

export class AccessGate {
  private readonly tokenDigest: Buffer | null;
  private readonly sessions = new Map<string, number>();
  private readonly failuresLogged = new Map<string, number>();
  readonly cookieName: string;

  constructor(private readonly opts: AccessOptions) {
    this.tokenDigest = opts.token === null ? null : digest(opts.token);
    this.cookieName = `bridge_session_${opts.port}`;
  }

  /** Whether a sign-in is needed at all. */
  get required(): boolean {
    return this.tokenDigest !== null;
  }

  /** @throws HttpError 421 when a loopback server is reached under another name */
  checkHost(req: IncomingMessage): void {
    if (!this.opts.loopbackOnly) return;
    const name = hostName(req.headers.host);
    if (!LOOPBACK_NAMES.has(name)) {
      throw new HttpError(421, 'misdirected_host', `this status page answers to localhost only, not "${name}"; open http://localhost:${this.opts.port}/`);
    }
  }

  /** Whether `given` is the token (compared by digest, in constant time). */
  tokenMatches(given: unknown): boolean {
    return this.tokenDigest !== null && typeof given === 'string' && timingSafeEqual(digest(given), this.tokenDigest);
  }

  /** Whether the request is signed in (always, without a token). */
  isSignedIn(req: IncomingMessage): boolean {
    if (this.tokenDigest === null) return true;
    const auth = req.headers.authorization;
    if (auth !== undefined && /^Bearer /i.test(auth)) return this.tokenMatches(auth.slice(7).trim());
    const id = this.cookieOf(req);
    if (id === null) return false;
    const since = this.sessions.get(id);
    if (since === undefined) return false;
    if (Date.now() - since > SESSION_MS) {
      this.sessions.delete(id);
      return false;
    }
    return true;
  }

  /** Start a session: the `Set-Cookie` header for it. */
  signIn(): string {
    const id = randomBytes(24).toString('base64url');
    this.sessions.set(id, Date.now());
    if (this.sessions.size > MAX_SESSIONS) this.sessions.delete(this.sessions.keys().next().value!);
    return `${this.cookieName}=${id}; Path=/; HttpOnly; SameSite=Strict; Max-Age=${SESSION_MS / 1000}`;
  }

  /** A wrong token was presented: a WARNING (at most one per address every 10 s). */
  recordFailure(req: IncomingMessage, how: string): void {
    const address = req.socket.remoteAddress ?? '?';
    const now = Date.now();
    const last = this.failuresLogged.get(address);
    if (last !== undefined && now - last < FAILURE_LOG_MS) return;
    this.failuresLogged.set(address, now);
    if (this.failuresLogged.size > 1000) this.failuresLogged.delete(this.failuresLogged.keys().next().value!);
    this.opts.log.warning('status page: wrong token', { remote: address, via: how });
  }

  /**
   * A state-changing request: refused unless it comes from the page's own origin (or from
   * no browser at all: no `Origin`) and sends JSON.
   * @throws HttpError 403 cross_origin, 415 unsupported_media_type
   */
  checkStateChange(req: IncomingMessage): void {
    const origin = req.headers.origin;
    if (origin !== undefined && origin !== `http://${req.headers.host ?? ''}`) {
      throw new HttpError(403, 'cross_origin', `refused: a request from ${origin} may not change anything here (only the status page itself may)`);
    }
    const type = (req.headers['content-type'] ?? '').split(';')[0]!.trim().toLowerCase();
    if (type !== 'application/json') {
      throw new HttpError(415, 'unsupported_media_type', 'send the request body as JSON (Content-Type: application/json)');
    }
  }

  /** Answer a page request that is not signed in: off to the sign-in form. */
  redirectToLogin(res: ServerResponse): void {
    res.writeHead(303, { ...COMMON_HEADERS, Location: '/login' });
    res.end();
  }

  private cookieOf(req: IncomingMessage): string | null {
    const header = req.headers.cookie;
    if (!header) return null;
    for (const part of header.split(';')) {
      const eq = part.indexOf('=');
      if (eq !== -1 && part.slice(0, eq).trim() === this.cookieName) return part.slice(eq + 1).trim();
    }
    return null;
  }
}
