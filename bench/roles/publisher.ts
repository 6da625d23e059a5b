/**
 * Publisher role: `publish` notifications (fire-and-forget, as AutoHotkey clients send
 * them) on one connection, as fast as credit and backpressure allow (see FramePump).
 */
import { performance } from 'node:perf_hooks';
import { BenchConnection } from '../client.js';
import type { PublisherInit } from '../ipc.js';
import { PublishTemplate } from '../wire.js';
import { cpuMs, emit, type Role } from './common.js';
import { FramePump } from './frame-pump.js';

export async function startPublisher(init: PublisherInit): Promise<Role> {
  const conn = await BenchConnection.open(init.port, `${init.idPrefix}-0`);
  const pump = new FramePump(conn, new PublishTemplate(init.topic, init.payloadBytes));

  return {
    onCommand(cmd) {
      switch (cmd.cmd) {
        case 'start':
        case 'credit':
          pump.grant(cmd.allowed);
          break;
        case 'snap':
          emit({ ev: 'snap', count: pump.sent, min: pump.sent, atMs: performance.now(), cpuMs: cpuMs(), closedConns: conn.closed ? 1 : 0, outOfOrder: 0 });
          break;
        case 'stop':
          pump.stop();
          emit({ ev: 'stopped', sent: pump.sent });
          break;
        case 'exit':
          break;
      }
    },
    close() {
      pump.stop();
      conn.close();
    },
  };
}
