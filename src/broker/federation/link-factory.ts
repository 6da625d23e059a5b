/**
 * The engine adapter for a federation setting, loaded on demand: a broker that does not
 * federate never loads a NATS or MQTT client.
 */
import type { Logger } from '../../log/logger.js';
import type { FederationSetting } from './federation-setting.js';
import type { UpstreamLink } from './upstream-link.js';

export async function createLink(setting: FederationSetting, id: string, log: Logger): Promise<UpstreamLink> {
  if (setting.engine === 'nats') {
    const { NatsLink } = await import('./nats-link.js');
    return new NatsLink(setting, id, log);
  }
  const { MqttLink } = await import('./mqtt-link.js');
  return new MqttLink(setting, id, log);
}
