/**
 * Per-client credentials from the config file: for a client id, or a pattern of ids with
 * `*`, the secret it must present as `token` in `connect` and what it may do.
 *
 *   "clients": [
 *     { "id": "job_manager", "secret": "...", "publish": ["jobs.#"], "request": ["scripts.#"] },
 *     { "id": "cad_*", "secret": "sha256:<64 hex digits>", "publish": { "deny": ["scripts.#"] } }
 *   ]
 *
 * A secret is kept only as its SHA-256 digest, written as plain text or already hashed
 * (`sha256:` + hex) so the file need not hold it in the clear. Error messages name the
 * entry by index and id, never its secret.
 */
import { nodeCrypto } from '../crypto-on-demand.js';
import { parsePermissions, type Permissions } from './permissions.js';

export interface ClientCredential {
  /** The id or id pattern as written: also the identity shown in `status`. */
  readonly id: string;
  readonly secretDigest: Buffer;
  readonly permissions: Permissions | null;
  /** True for an id pattern (`cad_*`); exact ids are looked up first. */
  readonly isPattern: boolean;
  matches(clientId: string): boolean;
}

const ENTRY_KEYS = new Set(['id', 'secret', 'publish', 'subscribe', 'request']);
const HASHED = /^sha256:([0-9a-f]{64})$/i;

/** SHA-256 of a presented secret, for comparison with a stored digest. */
export const digestSecret = (secret: string): Buffer => nodeCrypto().createHash('sha256').update(secret, 'utf8').digest();

function globMatcher(pattern: string): (id: string) => boolean {
  if (!pattern.includes('*')) return (id) => id === pattern;
  const re = new RegExp(`^${pattern.split('*').map((part) => part.replace(/[.+?^${}()|[\]\\]/g, '\\$&')).join('.*')}$`, 's');
  return (id) => re.test(id);
}

/** Check and compile the `clients` option. @throws Error naming the entry */
export function parseClientCredentials(value: unknown, source: string): ClientCredential[] {
  if (!Array.isArray(value)) throw new Error(`${source}: clients must be a list of {"id", "secret", "publish", "subscribe", "request"} entries`);
  const seen = new Set<string>();
  return value.map((entry: unknown, i) => {
    const where = `${source}: clients[${i}]`;
    if (typeof entry !== 'object' || entry === null || Array.isArray(entry)) throw new Error(`${where} must be an object`);
    const obj = entry as Record<string, unknown>;
    const { id, secret } = obj;
    if (typeof id !== 'string' || id.length === 0 || id.length > 128) throw new Error(`${where}: id must be a client id (1-128 characters), or a pattern with *`);
    const named = `${where} (${id})`;
    for (const key of Object.keys(obj)) {
      if (!ENTRY_KEYS.has(key)) throw new Error(`${named} has an unknown key "${key}" (known: ${[...ENTRY_KEYS].join(', ')})`);
    }
    if (seen.has(id)) throw new Error(`${named}: id is listed twice`);
    seen.add(id);
    if (typeof secret !== 'string' || secret.length === 0) throw new Error(`${named}: secret must be a non-empty string`);
    const hashed = HASHED.exec(secret);
    return {
      id,
      secretDigest: hashed ? Buffer.from(hashed[1]!, 'hex') : digestSecret(secret),
      permissions: parsePermissions(obj, named),
      isPattern: id.includes('*'),
      matches: globMatcher(id),
    };
  });
}

/** Check and compile `anonymous_permissions`. @throws Error naming the key */
export function parseAnonymousPermissions(value: unknown, source: string): Permissions | null {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new Error(`${source}: anonymous_permissions must be an object with publish, subscribe and/or request`);
  }
  for (const key of Object.keys(value)) {
    if (key !== 'publish' && key !== 'subscribe' && key !== 'request') {
      throw new Error(`${source}: anonymous_permissions has an unknown key "${key}" (known: publish, subscribe, request)`);
    }
  }
  return parsePermissions(value as Record<string, unknown>, `${source}: anonymous_permissions`);
}
