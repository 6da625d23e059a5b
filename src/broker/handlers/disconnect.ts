import type { MethodSpec } from '../context.js';

/** `disconnect`: answer, then close; the session stays for `session_expiry`. */
export const disconnect: MethodSpec = {
  name: 'disconnect',
  params: [],
  requiresConnect: false,
  handle({ conn, after }) {
    after(() => conn.close('client_disconnect'));
    return { disconnected: true };
  },
};
