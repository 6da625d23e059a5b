/**
 * `node:crypto`, loaded the first time the broker needs it: a request's reply token, a
 * credential check, the persistence lock's owner token, the status page's own secret.
 *
 * Loading it costs a broker about 0.6 MB of memory (Node's crypto layer is some twenty
 * modules), and a broker that only relays messages between local clients never needs
 * it. Synchronous, so the code that uses it stays synchronous. Imported statically
 * anywhere in the broker, it would be loaded at start again; the lint config forbids that.
 */
type NodeCrypto = typeof import('node:crypto');

let loaded: NodeCrypto | undefined;

/** The `node:crypto` module, loaded on first call. */
export function nodeCrypto(): NodeCrypto {
  loaded ??= process.getBuiltinModule('node:crypto');
  return loaded;
}
