/** The method table: one handler file per protocol method. */
import type { MethodSpec } from '../context.js';
import { ack } from './ack.js';
import { connect } from './connect.js';
import { disconnect } from './disconnect.js';
import { internalMessageAcks } from './message-acks.js';
import { ping } from './ping.js';
import { publish } from './publish.js';
import { reply } from './reply.js';
import { request } from './request.js';
import { status } from './status.js';
import { subscribe } from './subscribe.js';
import { subscriptions } from './subscriptions.js';
import { unsubscribe } from './unsubscribe.js';

export const METHODS: ReadonlyMap<string, MethodSpec> = new Map(
  [connect, disconnect, subscribe, unsubscribe, publish, request, reply, ack, ping, status, subscriptions, internalMessageAcks].map(
    (m) => [m.name, m],
  ),
);
