/**
 * Shapes of the contract's params and results, shared by broker and client.
 * Field names are snake_case because that is what the wire carries.
 */

/** Params of a `message` delivery (broker to client). */
export interface DeliveryParams {
  topic: string;
  payload: unknown;
  timestamp: string;
  sender: string;
  message_id: string;
  qos: 0 | 1;
  retained?: true;
  redelivered?: true;
  reply_to?: string;
}

/** Result of `connect`. */
export interface ConnectResult {
  client_id: string;
  server_version: string;
  heartbeat_interval: number;
  heartbeat_timeout: number;
  max_message_size: number;
  max_queue_size: number;
  session_expiry: number;
  session_present: boolean;
  /**
   * Present (true) when the client id had a live connection, which this connect closed
   * (reason `replaced`). An addition to the contract: a client must not require it.
   */
  replaced?: true;
}

/** Result of `publish`. */
export interface PublishResult {
  message_id: string;
  delivered: number;
}

/** Result of `_internal.message_acks`. */
export interface MessageAcksResult {
  message_id: string;
  clients: string[];
  pending: string[];
}

/** Disconnect reasons, as published in `system.client.disconnected`. */
export type DisconnectReason =
  | 'client_disconnect'
  | 'connection_lost'
  | 'replaced'
  | 'heartbeat_timeout'
  | 'connection_timeout'
  | 'protocol_error'
  | 'output_limit'
  | 'shutdown';

/** The method a broker uses for deliveries. */
export const DELIVERY_METHOD = 'message';

/** Topic prefixes that clients cannot publish to. */
export const RESERVED_PREFIXES = ['system.', '_internal.'] as const;

/** Default TCP port of the broker. */
export const DEFAULT_PORT = 15234;
/** Default host: loopback only. */
export const DEFAULT_HOST = 'localhost';
