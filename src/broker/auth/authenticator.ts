/**
 * Decides who a connecting client is, from its `client_id` and the `token` it presents:
 *
 * 1. an id listed in `clients` (exact ids first, then patterns in file order) must present
 *    that entry's secret and gets its permissions;
 * 2. any other id presenting the shared `token` is trusted with everything, as before
 *    per-client credentials existed;
 * 3. otherwise the client is anonymous: accepted only when anonymous clients are allowed,
 *    with `anonymous_permissions`.
 *
 * Secrets are compared as SHA-256 digests with `timingSafeEqual`, so neither the content
 * nor the length of a secret leaks through response times.
 */
import { nodeCrypto } from '../crypto-on-demand.js';
import type { BrokerConfig } from '../config.js';
import { digestSecret, parseAnonymousPermissions, parseClientCredentials, type ClientCredential } from './credentials.js';
import type { Permissions } from './permissions.js';

/** Who a connected client is, for permission checks and `status`. */
export interface Identity {
  /** The matching `clients` entry's id (`cad_*`), or `token`, or `anonymous`. */
  readonly name: string;
  readonly kind: 'client' | 'token' | 'anonymous';
  /** `null`: everything allowed. */
  readonly permissions: Permissions | null;
}

/**
 * `wrong_secret`: a token was presented and did not match; `no_credentials`: none was,
 * and this broker requires one. Both reach the client as `invalid_token`, the contract's
 * reason.
 */
export type AuthOutcome = { ok: true; identity: Identity } | { ok: false; reason: 'wrong_secret' | 'no_credentials' };

const TOKEN_IDENTITY: Identity = { name: 'token', kind: 'token', permissions: null };
/** The broker process's own clients (the status page's), which know its in-memory secret. */
const INTERNAL_IDENTITY: Identity = { name: 'internal', kind: 'token', permissions: null };

function secretMatches(given: unknown, digest: Buffer): boolean {
  return typeof given === 'string' && nodeCrypto().timingSafeEqual(digestSecret(given), digest);
}

export class Authenticator {
  private readonly exact = new Map<string, ClientCredential>();
  private readonly patterns: ClientCredential[] = [];
  private readonly tokenDigest: Buffer | null;
  private readonly anonymous: Identity;
  /** Whether clients without credentials are accepted. */
  readonly anonymousAllowed: boolean;
  /** Whether any credentials are configured at all. */
  readonly hasCredentials: boolean;

  private internalDigest: Buffer | null = null;

  constructor(config: BrokerConfig) {
    for (const c of parseClientCredentials(config.clients, 'config')) {
      if (c.isPattern) this.patterns.push(c);
      else this.exact.set(c.id, c);
    }
    this.tokenDigest = config.token === null ? null : digestSecret(config.token);
    this.hasCredentials = this.tokenDigest !== null || config.clients.length > 0;
    this.anonymousAllowed = config.allow_anonymous ?? !this.hasCredentials;
    const permissions = config.anonymous_permissions === null ? null : parseAnonymousPermissions(config.anonymous_permissions, 'config');
    this.anonymous = { name: 'anonymous', kind: 'anonymous', permissions };
  }

  /**
   * Trust `secret` from now on: it never leaves this process, and a client presenting it
   * as its token is one of the broker process's own and may do everything, whatever
   * `clients` says (the status page asks the bridges for their scripts this way).
   */
  trustInternalSecret(secret: string): void {
    this.internalDigest = digestSecret(secret);
  }

  /** The `clients` entry that governs `clientId`, if any. */
  credentialFor(clientId: string): ClientCredential | undefined {
    return this.exact.get(clientId) ?? this.patterns.find((c) => c.matches(clientId));
  }

  /**
   * Who `clientId` is taken to be before it connects: a session restored from the journal
   * at start, whose queue must still follow its permissions. Its `clients` entry when it
   * has one; otherwise the anonymous identity when anonymous clients are allowed (the
   * narrower guess: a client that used the shared token may get less queued until it
   * reconnects, never more); otherwise the token's, the only other way in.
   */
  presumedIdentity(clientId: string): Identity {
    const entry = this.credentialFor(clientId);
    if (entry) return { name: entry.id, kind: 'client', permissions: entry.permissions };
    if (this.anonymousAllowed || !this.tokenDigest) return this.anonymous;
    return TOKEN_IDENTITY;
  }

  authenticate(clientId: string, token: unknown): AuthOutcome {
    if (this.internalDigest !== null && secretMatches(token, this.internalDigest)) return { ok: true, identity: INTERNAL_IDENTITY };
    const entry = this.credentialFor(clientId);
    if (entry) {
      return secretMatches(token, entry.secretDigest)
        ? { ok: true, identity: { name: entry.id, kind: 'client', permissions: entry.permissions } }
        : { ok: false, reason: 'wrong_secret' };
    }
    const hasToken = token !== undefined && token !== null && token !== '';
    if (this.tokenDigest && hasToken) {
      return secretMatches(token, this.tokenDigest) ? { ok: true, identity: TOKEN_IDENTITY } : { ok: false, reason: 'wrong_secret' };
    }
    if (this.anonymousAllowed) return { ok: true, identity: this.anonymous };
    return { ok: false, reason: hasToken ? 'wrong_secret' : 'no_credentials' };
  }
}
