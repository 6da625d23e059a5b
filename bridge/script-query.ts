/**
 * What the script-management commands (`ps`, `logs`, `start|stop|restart`) ask the
 * bridges on a broker: which scripts each one supervises, and who owns a key.
 */
import { ErrorCode, RpcError, type BrokerClient } from '../src/client/index.js';
import { CliError } from './cli-error.js';
import { ownerTopic, SCRIPTS_QUERY_TOPIC, type ScriptsAnswer } from './script-registry.js';
import type { ScriptRow } from './script-table.js';

/** How long `bridge ps` waits for bridges that have not answered. */
export const QUERY_WAIT_MS = 2000;

/** The client type bridges connect with (BrokerLink). */
const BRIDGE_CLIENT_TYPE = 'bridge';

/** How long the owner question may take (a `bridge.#` subscriber that is not a bridge never answers). */
const OWNER_TIMEOUT_S = 2;

export interface ScriptsSnapshot {
  answers: ScriptsAnswer[];
  /** Connected bridges that did not answer in time (an older version, or a busy one). */
  silent: string[];
}

/** The topic under which a client's query answers arrive (`<base>.<round>`). */
export function answerTopicBase(clientId: string): string {
  // A client id may hold characters a topic level may not (`-i "my cli"`).
  return `bridge.scripts.answer.${clientId.replace(/[^A-Za-z0-9_-]/g, '_')}`;
}

/** Every script of every answer, with the bridge that has it. */
export function rowsOf(snapshot: ScriptsSnapshot): ScriptRow[] {
  return snapshot.answers.flatMap((a) => a.scripts.map((status) => ({ status, bridge: a.bridge })));
}

/** The keys of every script on the broker, sorted, without repeats. */
export function knownKeys(snapshot: ScriptsSnapshot): string[] {
  return [...new Set(rowsOf(snapshot).map((r) => r.status.key))].sort();
}

function isAnswer(payload: unknown): payload is ScriptsAnswer {
  const p = payload as Partial<ScriptsAnswer> | null;
  return typeof p === 'object' && p !== null && typeof p.bridge === 'string' && Array.isArray(p.scripts);
}

/**
 * Asks every bridge for its scripts: the bridges publish their answers on a topic of this
 * client's own, so several are gathered (a request would take the first only). Knows how
 * many to wait for from the broker's `status`; waits at most `waitMs` for the rest.
 */
export class ScriptsQuery {
  private round = 0;
  private readonly base: string;
  private collecting: ((round: number, answer: ScriptsAnswer) => void) | null = null;
  private subscribed = false;

  constructor(
    private readonly client: BrokerClient,
    private readonly waitMs = QUERY_WAIT_MS,
  ) {
    this.base = answerTopicBase(client.clientId);
  }

  /** Ask once; resolves with what arrived from the connected bridges. */
  async ask(): Promise<ScriptsSnapshot> {
    if (!this.subscribed) {
      await this.client.subscribe([`${this.base}.*`], (msg) => {
        const round = Number(msg.topic.slice(this.base.length + 1));
        if (isAnswer(msg.payload)) this.collecting?.(round, msg.payload);
        return undefined;
      });
      this.subscribed = true;
    }
    const expected = await this.connectedBridges();
    if (expected.length === 0) return { answers: [], silent: [] };
    const round = ++this.round;
    const answers = new Map<string, ScriptsAnswer>();
    const complete = (): boolean => expected.every((id) => answers.has(id));
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(finish, this.waitMs);
      function finish(): void {
        clearTimeout(timer);
        resolve();
      }
      this.collecting = (r, answer) => {
        // A late answer to an earlier round describes an older state.
        if (r !== round) return;
        answers.set(answer.bridge, answer);
        if (complete()) finish();
      };
      this.client.publish(SCRIPTS_QUERY_TOPIC, { reply_topic: `${this.base}.${round}` }).catch((err: unknown) => {
        clearTimeout(timer);
        reject(new CliError(`could not ask the bridges for their scripts: ${(err as Error).message}`));
      });
    }).finally(() => {
      this.collecting = null;
    });
    return { answers: [...answers.values()], silent: expected.filter((id) => !answers.has(id)) };
  }

  /** The client ids of the bridges connected now (the `status` method needs no permission). */
  private async connectedBridges(): Promise<string[]> {
    try {
      const status = (await this.client.status()) as unknown as { clients?: { client_id: string; client_type: string; connected: boolean }[] };
      return (status.clients ?? []).filter((c) => c.connected && c.client_type === BRIDGE_CLIENT_TYPE).map((c) => c.client_id);
    } catch (err) {
      throw new CliError(`could not ask the broker for its status: ${(err as Error).message}`);
    }
  }
}

/** The stderr note for bridges that did not answer, or null when all did. */
export function silentNote(snapshot: ScriptsSnapshot, waitMs = QUERY_WAIT_MS): string | null {
  if (snapshot.silent.length === 0) return null;
  const s = snapshot.silent.length === 1 ? '' : 's';
  return `no answer within ${waitMs / 1000} s from bridge${s} ${snapshot.silent.join(', ')} (an older version, or busy); their scripts are not listed`;
}

/** What to say when nothing runs scripts on this broker. */
export const NO_BRIDGE = 'no bridge is running on this broker: start scripts with `bridge run` or `bridge up`';

/** The error for a key no bridge has, naming the keys there are. */
export async function unknownKeyError(client: BrokerClient, key: string): Promise<CliError> {
  const snapshot = await new ScriptsQuery(client).ask();
  if (snapshot.answers.length === 0 && snapshot.silent.length === 0) return new CliError(`no script with key "${key}": ${NO_BRIDGE}`);
  const keys = knownKeys(snapshot);
  return new CliError(`no script with key "${key}" on this broker; known keys: ${keys.length > 0 ? keys.join(', ') : 'none'} (\`bridge ps\` lists them)`);
}

/**
 * Throws the unknown-key error unless some bridge supervises `key`. Asked before a
 * request on `scripts.<key>.*`, which a `scripts.#` subscriber (a `bridge sub` in another
 * terminal) would otherwise hold until its timeout when no bridge has the key.
 */
export async function requireOwner(client: BrokerClient, key: string): Promise<void> {
  try {
    await client.request(ownerTopic(key), null, { timeout: OWNER_TIMEOUT_S });
  } catch (err) {
    if (err instanceof RpcError && err.code === ErrorCode.NO_RESPONDERS) throw await unknownKeyError(client, key);
    // A timeout means someone listens but did not answer: the request itself decides.
    if (err instanceof RpcError && err.code === ErrorCode.TIMEOUT) return;
    throw new CliError(`could not ask who supervises "${key}": ${(err as Error).message}`);
  }
}
