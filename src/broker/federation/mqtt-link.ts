/** The MQTT adapter: not written yet (see docs/federation.md). */
import type { Logger } from '../../log/logger.js';
import { ConfigError } from '../config-error.js';
import type { FederationSetting } from './federation-setting.js';
import type { LinkHandlers, LinkMessage, LinkReply, UpstreamLink } from './upstream-link.js';

export class MqttLink implements UpstreamLink {
  readonly engine = 'mqtt';
  readonly address: string;
  readonly connected = false;

  constructor(setting: FederationSetting, _id: string, _log: Logger) {
    this.address = setting.upstream;
    throw new ConfigError('federation through MQTT is not available yet: use a nats:// upstream');
  }

  start(_handlers: LinkHandlers): Promise<void> {
    return Promise.resolve();
  }
  publish(_msg: LinkMessage): Promise<void> {
    return Promise.resolve();
  }
  setInterest(_patterns: readonly string[]): void {}
  request(_msg: LinkMessage, _timeoutMs: number): Promise<LinkReply> {
    return Promise.resolve({ ok: false, code: 0, message: '' });
  }
  close(): Promise<void> {
    return Promise.resolve();
  }
}
