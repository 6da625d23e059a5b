/**
 * Start a real broker for a test: loopback, a free port, silent unless TEST_LOG_LEVEL
 * (e.g. `TEST_LOG_LEVEL=debug npx vitest run ...`) asks for logs.
 */
import { MessageBroker, type BrokerConfig, type MessageBrokerOptions } from '../../src/broker/index.js';
import { parseLogLevel } from '../../src/log/logger.js';

/** A running broker and how to reach and stop it. */
export interface StartedBroker {
  broker: MessageBroker;
  port: number;
  /** Stop the broker; safe to call more than once. */
  stop(): Promise<void>;
}

/**
 * Start a broker on 127.0.0.1, port 0 (a free one) unless `overrides.port` says
 * otherwise (the reconnect tests restart a broker on the port of a stopped one).
 */
export async function startBroker(overrides: Partial<BrokerConfig> = {}, options: MessageBrokerOptions = {}): Promise<StartedBroker> {
  const level = (process.env.TEST_LOG_LEVEL && parseLogLevel(process.env.TEST_LOG_LEVEL)) || 'silent';
  const broker = new MessageBroker({ host: '127.0.0.1', port: 0, log_level: level, ...overrides }, options);
  await broker.start();
  return { broker, port: broker.port, stop: () => broker.stop() };
}
