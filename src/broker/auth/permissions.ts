/** What one client may do: a {@link TopicPermission} per kind of call. */
import { parsePermission, type TopicPermission } from './topic-permission.js';

export interface Permissions {
  readonly publish: TopicPermission;
  /** Also filters deliveries: nothing outside it reaches the client, retained included. */
  readonly subscribe: TopicPermission;
  readonly request: TopicPermission;
}

const KINDS = ['publish', 'subscribe', 'request'] as const;

/**
 * Read the permission kinds of one config object (a `clients` entry or
 * `anonymous_permissions`). Returns null when nothing is restricted, so the hot paths can
 * skip every check for unrestricted clients with one comparison.
 */
export function parsePermissions(obj: Record<string, unknown>, where: string): Permissions | null {
  const perms = {
    publish: parsePermission('publish', obj.publish, `${where}.publish`),
    subscribe: parsePermission('subscribe', obj.subscribe, `${where}.subscribe`),
    request: parsePermission('request', obj.request, `${where}.request`),
  };
  return KINDS.every((k) => perms[k].unrestricted) ? null : perms;
}
