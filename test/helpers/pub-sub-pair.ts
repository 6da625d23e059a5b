/**
 * A publisher and a subscriber connected to a broker on this machine, disconnected when
 * the test ends: the load that several CLI tests put through a broker they started.
 */
import { onTestFinished } from 'vitest';
import { BrokerClient } from '../../src/client/index.js';

export interface PubSubPair {
  pub: BrokerClient;
  sub: BrokerClient;
}

/** Connect `<name>-pub` and `<name>-sub` to the broker at 127.0.0.1:`port`, without reconnecting. */
export async function connectPubSub(port: number, name: string): Promise<PubSubPair> {
  const sub = new BrokerClient(`${name}-sub`, { host: '127.0.0.1', port, autoReconnect: false });
  const pub = new BrokerClient(`${name}-pub`, { host: '127.0.0.1', port, autoReconnect: false });
  onTestFinished(async () => {
    await sub.disconnect();
    await pub.disconnect();
  });
  await sub.connect();
  await pub.connect();
  return { pub, sub };
}
