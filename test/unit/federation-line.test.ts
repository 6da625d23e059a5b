/** The federation row of `bridge status`: counters, and which upstream subscriptions are still unacknowledged. */
import { describe, expect, it } from 'vitest';
import { federationLine } from '../../bridge/commands/status.js';
import type { FederationStatus } from '../../src/broker/federation/federation.js';

const up: FederationStatus = {
  engine: 'mqtt', upstream: 'mqtt://plc-host:1883', state: 'up', since: '2026-12-04T09:00:00.000+00:00', origin_id: 'ahk-1',
  export: ['#'], import: ['#'], interest: ['jobs.#', 'saw.*'], subscribed: ['jobs.#', 'saw.*'],
  exported: 3, imported: 2, queued: 0, dropped: 0, expired: 0, duplicates: 0,
};

describe('bridge status: the federation row', () => {
  it('lists the upstream interest, and names the patterns the upstream has not acknowledged yet', () => {
    expect(federationLine(up)).toBe(
      'federation mqtt mqtt://plc-host:1883: up since 2026-12-04T09:00:00.000+00:00; exported 3, imported 2, queued 0, dropped 0; upstream interest jobs.# saw.*',
    );
    expect(federationLine({ ...up, subscribed: ['jobs.#'] })).toMatch(/; upstream interest jobs\.# saw\.\* \(not acknowledged upstream: saw\.\*\)$/);
    expect(federationLine({ ...up, interest: [], subscribed: [] })).toMatch(/; upstream interest none$/);
    // A broker of a version before the field: nothing said about acknowledgements.
    const { subscribed: _omitted, ...older } = up;
    expect(federationLine({ ...older, interest: ['jobs.#'] })).toMatch(/; upstream interest jobs\.#$/);
    expect(federationLine(undefined)).toBeNull();
  });
});
