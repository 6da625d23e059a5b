import { invalidParams } from '../../protocol/jsonrpc.js';
import type { ConnectResult } from '../../protocol/messages.js';
import type { MethodSpec } from '../context.js';
import { optionalBoolean, optionalString, requireString } from '../params.js';
import { SYSTEM_SENDER } from '../system-events.js';

const MAX_CLIENT_ID = 128;

const AUTH_FAILURE_MESSAGES = {
  wrong_secret: 'authentication failed: wrong token',
  no_credentials: 'authentication failed: this broker accepts only clients with credentials (send "token")',
} as const;

/**
 * `connect`: binds the socket to a session. A client id already connected elsewhere is
 * taken over (the old socket closes with reason `replaced`); its session, subscriptions
 * and unacked QoS 1 messages carry over unless `clean_session` is set.
 */
export const connect: MethodSpec = {
  name: 'connect',
  params: ['client_id', 'client_type', 'version', 'token', 'clean_session'],
  requiresConnect: false,
  onlyBeforeConnect: true,
  handle({ broker, conn, params, after }) {
    const clientId = requireString(params, 'client_id');
    if (clientId.length < 1 || clientId.length > MAX_CLIENT_ID) {
      throw invalidParams(`client_id must be 1 to ${MAX_CLIENT_ID} characters`);
    }
    if (clientId === SYSTEM_SENDER) throw invalidParams(`client_id "${SYSTEM_SENDER}" is reserved for the broker's own events`);
    const clientType = optionalString(params, 'client_type') ?? 'unknown';
    const version = params.version;
    if (version !== undefined && version !== null && typeof version !== 'string' && typeof version !== 'number') {
      throw invalidParams('version must be a string');
    }
    const clean = optionalBoolean(params, 'clean_session', false);
    const { config } = broker;
    // With credentials configured, a token of the wrong type is a wrong token: refused
    // and closed like any other. Without, it is only a malformed param.
    if (!broker.auth.hasCredentials) optionalString(params, 'token');
    const auth = broker.auth.authenticate(clientId, params.token);
    if (!auth.ok) {
      broker.authFailures.record(conn.remoteAddress, clientId, auth.reason);
      after(() => conn.close('protocol_error'));
      throw invalidParams(AUTH_FAILURE_MESSAGES[auth.reason], { reason: 'invalid_token' });
    }

    const existing = broker.sessions.get(clientId);
    const previous = existing?.connection;
    if (existing && previous) {
      broker.log.info('client id taken over by a new connection', { client_id: clientId, old: previous.remote, new: conn.remote });
      // Detach first so closing the old socket does not start the session's expiry.
      existing.connection = null;
      previous.close('replaced');
    }
    const { session, present } = broker.sessions.open(clientId, clean);
    session.connection = conn;
    session.clientType = clientType;
    session.identity = auth.identity;
    conn.session = session;
    broker.durability?.attached(session);
    broker.log.info('client connected', {
      client_id: clientId,
      client_type: clientType,
      version,
      remote: conn.remote,
      identity: auth.identity.name,
      session_present: present,
    });

    after(() => {
      broker.system.publish('system.client.connected', { client_id: clientId, client_type: clientType });
      broker.router.resume(session);
    });
    const result: ConnectResult = {
      client_id: clientId,
      server_version: broker.version,
      heartbeat_interval: config.heartbeat_interval,
      heartbeat_timeout: config.heartbeat_timeout,
      max_message_size: config.max_message_size,
      max_queue_size: config.max_queue_size,
      session_expiry: config.session_expiry,
      session_present: present,
    };
    if (previous) result.replaced = true;
    return result;
  },
};
