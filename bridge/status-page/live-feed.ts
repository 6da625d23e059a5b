/**
 * `/api/live`: what the page's tables and header show, pushed to every open page: the
 * broker's figures each second, the clients when they change (and every 5 s, for "last
 * seen"), the scripts when one starts, stops or restarts (and every 5 s). All of it runs
 * only while at least one page is open. Each push is a snapshot, serialized once for all
 * pages; a page that is behind skips snapshots and gets the newest of each kind once it
 * has read what it was sent (see EventStream.offer).
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { BrokerMonitor } from '../../src/broker/index.js';
import type { Logger } from '../../src/log/logger.js';
import { brokerJson, clientsJson } from './api-json.js';
import { EventStream, eventFrame, eventFrameOfJson, type StreamSettings } from './event-stream.js';
import type { RateHistory } from './rate-history.js';
import type { ScriptsSource } from './scripts-source.js';

/** Seconds between pushes of unchanged clients and scripts. */
const REFRESH_EVERY_S = 5;
/** Lifecycle events of a script (its output and stderr lines are not). */
const LIFECYCLE = new Set(['started', 'stopped', 'restarting', 'restart_limit', 'error', 'ready']);
/** Events close together (a restart is stopped + restarting + started) make one query. */
const SCRIPTS_DEBOUNCE_MS = 150;

export class LiveFeed {
  private readonly viewers = new Set<EventStream>();
  private untap: (() => void) | null = null;
  private lastClients = '';
  private ticks = 0;
  private scriptsTimer: NodeJS.Timeout | null = null;
  private scriptsRunning = false;
  private scriptsAgain = false;

  constructor(
    private readonly monitor: BrokerMonitor,
    private readonly rates: RateHistory,
    private readonly scripts: ScriptsSource,
    private readonly log: Logger,
    private readonly settings: StreamSettings,
  ) {}

  get viewerCount(): number {
    return this.viewers.size;
  }

  open(req: IncomingMessage, res: ServerResponse): EventStream {
    const stream = new EventStream(req, res, this.settings);
    this.viewers.add(stream);
    if (this.viewers.size === 1) {
      this.untap = this.monitor.tap('scripts.*.*', (msg) => {
        if (LIFECYCLE.has(msg.topic.slice(msg.topic.lastIndexOf('.') + 1))) this.refreshScriptsSoon();
      });
    }
    stream.whenClosed(() => {
      this.viewers.delete(stream);
      if (this.viewers.size === 0) {
        this.untap?.();
        this.untap = null;
      }
    });
    stream.offer('broker', eventFrame('broker', brokerJson(this.monitor, this.rates, false)));
    stream.offer('clients', eventFrame('clients', clientsJson(this.monitor)));
    this.refreshScriptsSoon(0);
    return stream;
  }

  /** Each second (the rate sampler's tick): the broker's figures, and clients when due. */
  tick(): void {
    if (this.viewers.size === 0) return;
    this.ticks++;
    this.broadcast('broker', eventFrame('broker', brokerJson(this.monitor, this.rates, false)));
    const text = JSON.stringify(clientsJson(this.monitor));
    const due = this.ticks % REFRESH_EVERY_S === 0;
    if (text !== this.lastClients || due) {
      this.lastClients = text;
      this.broadcast('clients', eventFrameOfJson('clients', text));
    }
    if (due) this.refreshScriptsSoon(0);
  }

  close(): void {
    for (const v of [...this.viewers]) v.close();
    if (this.scriptsTimer) clearTimeout(this.scriptsTimer);
  }

  /** `frame` to every viewer, as the newest snapshot of `kind`. */
  private broadcast(kind: string, frame: string): void {
    for (const v of this.viewers) v.offer(kind, frame);
  }

  private refreshScriptsSoon(delay = SCRIPTS_DEBOUNCE_MS): void {
    if (this.scriptsTimer) return;
    this.scriptsTimer = setTimeout(() => {
      this.scriptsTimer = null;
      this.refreshScripts().catch((err: unknown) => this.log.error('status page: scripts refresh failed', { error: err as Error }));
    }, delay);
    this.scriptsTimer.unref();
  }

  /** One query at a time; an event during one asks for another after it. */
  private async refreshScripts(): Promise<void> {
    if (this.scriptsRunning) {
      this.scriptsAgain = true;
      return;
    }
    this.scriptsRunning = true;
    try {
      const listing = await this.scripts.list();
      this.broadcast('scripts', eventFrame('scripts', listing));
    } catch (err) {
      this.log.warning('status page: could not list the scripts', { error: err as Error });
      // The same kind as a listing: a page behind gets whichever came last.
      this.broadcast('scripts', eventFrame('scripts_error', { message: (err as Error).message }));
    } finally {
      this.scriptsRunning = false;
    }
    if (this.scriptsAgain && this.viewers.size > 0) {
      this.scriptsAgain = false;
      this.refreshScriptsSoon(0);
    }
  }
}
