/**
 * The TypeScript broker client: `BrokerClient` and the types its API uses.
 */
export { BrokerClient, REQUEST_TIMEOUT_MARGIN } from './client.js';
export type {
  BatchPublish,
  BatchPublishOutcome,
  ClientState,
  PayloadWriter,
  PingResult,
  PublishBatchOptions,
  PublishOptions,
  RequestOptions,
  SubscribeOptions,
  StatusResult,
  SubscriptionsResult,
} from './call-types.js';
export type { BrokerClientEvents } from './events.js';
export type { Message, MessageHandler } from './message.js';
export { type BrokerClientOptions, defaultClientVersion } from './options.js';
export { BrokerConnectionError } from './errors.js';
export { reconnectDelay, type BackoffPolicy } from './backoff.js';
// Re-exported so client users need one import for errors and result shapes.
export { ErrorCode, RpcError } from '../protocol/errors.js';
export type { ConnectResult, MessageAcksResult } from '../protocol/messages.js';
