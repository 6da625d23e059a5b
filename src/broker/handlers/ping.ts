import { isoTimestamp } from '../../protocol/timestamp.js';
import type { MethodSpec } from '../context.js';
import { watchHeartbeat } from '../liveness.js';

/**
 * `ping`: a heartbeat. The first one opts the client into the heartbeat timeout; clients
 * that never ping (AutoHotkey scripts) are never timed out.
 */
export const ping: MethodSpec = {
  name: 'ping',
  params: [],
  requiresConnect: false,
  handle({ broker, conn }) {
    if (!conn.pinged) {
      conn.pinged = true;
      watchHeartbeat(conn, broker.config.heartbeat_timeout * 1000, () => {
        broker.log.info('closing silent client', { client_id: conn.clientId, remote: conn.remote, heartbeat_timeout: broker.config.heartbeat_timeout });
        conn.close('heartbeat_timeout');
      });
    }
    return { pong: true, timestamp: isoTimestamp() };
  },
};
