/**
 * Persistence end to end (issue 11): a broker CHILD PROCESS started with
 * `--persist DIR --persistence-fsync batch|always` is SIGKILLed (TerminateProcess on
 * Windows) at seeded random moments while a publisher keeps QoS 1 publishes in flight,
 * and started again on the same directory and port each time.
 *
 * The promise under test: a QoS 1 publish is answered only once the message is durable.
 * So a durable subscriber session, offline throughout, must in the end hold every
 * publish the publisher got a RESPONSE for (at-least-once: it may also hold publishes
 * whose answer died with the broker; it may not miss an answered one).
 *
 * The truncation variant cuts the journal's last segment at a seeded random byte while
 * the broker is down. Records after the cut are lost, answered or not: that is the damage
 * being simulated. What is asserted is that the broker starts, reports the damage (file,
 * offset, bytes dropped), and delivers exactly the messages of every whole record before
 * the cut, as computed from the journal's bytes by an oracle that shares no code with
 * the broker (test/helpers/journal-reader.ts).
 *
 * Nothing here sleeps to wait for an outcome: every step waits for an event (the
 * "broker listening" log line, a response, a process exit, a socket close), each bounded
 * by a timeout. The one other timer is the 1-4 ms delay that picks a kill's moment.
 * `CRASH_SEED=<n>` runs other random moments (the seed is in every failure message).
 * About 25 s on Linux; about 130 s in the Windows lane, where each start takes seconds.
 */
import { readFileSync, statSync, truncateSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { Rng } from '../helpers/fuzz/prng.js';
import { useTempDirs } from '../helpers/journal-bed.js';
import { decodeFile, journalFiles, pendingFor, replayRecords } from '../helpers/journal-reader.js';
import { PersistedBroker, portOutsideEphemeralRange, type FsyncPolicy } from '../helpers/persisted-broker.js';
import { ON_WINDOWS, UNDER_WINE } from '../helpers/platform.js';
import { PublishLedger, Qos1Publisher, payloadOf } from '../helpers/qos1-publisher.js';
import { RawClient, type Frame } from '../helpers/raw-client.js';

const BASE_SEED = Number(process.env.CRASH_SEED ?? 20_260_112);
const TOPIC = 'crash.jobs';
const SUB = 'crash-sub';
const PUB = 'crash-pub';
/** Publishes in flight at once: enough for `batch` to group appends, and for a kill to find some queued. */
const WINDOW = 16;
/** Far above what a test publishes: the offline session's queue bound must never drop. */
const MAX_QUEUE = 200_000;
// A process takes 0.5-5 s to start under Wine (the Windows lane): same rounds, wider bounds.
const START_MS = ON_WINDOWS ? 60_000 : 15_000;
/** Bound on one round's acknowledged publishes, and on the final deliveries. */
const PROGRESS_MS = ON_WINDOWS ? 60_000 : 15_000;
const TEST_MS = ON_WINDOWS ? 480_000 : 60_000;
/** Windows lane: how long a killed broker's connection may take to close before we close it. */
const CLOSE_GRACE_MS = 5_000;

const tempDir = useTempDirs();
const running: PersistedBroker[] = [];
const clients: RawClient[] = [];
// Registered after useTempDirs, so it runs before the directories are removed.
afterEach(async () => {
  for (const c of clients.splice(0)) c.close();
  await Promise.all(running.splice(0).map((b) => b.kill()));
});

interface Campaign {
  dir: string;
  port: number;
  fsync: FsyncPolicy;
  seed: number;
  ledger: PublishLedger;
  kills: number;
  /** Acknowledged publishes each round stopped at (0: killed before any answer). */
  killAfter: number[];
  /** Each round's kill delay after that answer, ms. */
  jitterMs: number[];
  ms: number;
}

async function startBroker(c: Pick<Campaign, 'dir' | 'port' | 'fsync'>): Promise<PersistedBroker> {
  const b = await PersistedBroker.start({ dir: c.dir, port: c.port, fsync: c.fsync, startTimeoutMs: START_MS, extraArgs: ['--max-queue-size', String(MAX_QUEUE)] });
  running.push(b);
  return b;
}

async function openClient(port: number): Promise<RawClient> {
  const c = await RawClient.open(port);
  clients.push(c);
  return c;
}

/** Resolves with `p`, or rejects naming `what` once `ms` have passed. */
function within<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what}: not within ${ms} ms`)), ms);
  });
  return Promise.race([p, timeout]).finally(() => clearTimeout(timer));
}

/**
 * Make SUB a session that is offline from then on: connect, subscribe, disconnect. Its
 * QoS 1 messages are kept for it (and journaled) while it is away; the session itself is
 * on disk once the first publish routed to it has been answered (see crashCampaign).
 */
async function makeOfflineSubscriber(port: number): Promise<void> {
  const sub = await openClient(port);
  const hello = await sub.call('connect', { client_id: SUB, client_type: 'test', version: '1' });
  expect(hello.error, 'subscriber connect').toBeUndefined();
  const subscribed = await sub.call('subscribe', { patterns: [TOPIC] });
  expect(subscribed.result, 'subscribe').toEqual({ subscribed: [TOPIC] });
  expect((await sub.call('disconnect')).result).toEqual({ disconnected: true });
  await sub.waitClosed(START_MS);
}

/**
 * The crash loop: `kills` rounds of start broker -> publisher connects and publishes ->
 * SIGKILL after a seeded number of answers (sometimes before any), at once or a few ms
 * later -> wait until the process and the publisher's connection are gone. The broker is
 * down when it returns. `lastRoundAnswers` forces the last round to get at least one
 * answer (the truncation variant needs records in the last segment).
 */
async function crashCampaign(c: Campaign, maxAnswersPerRound: number, lastRoundAnswers = false): Promise<void> {
  const rng = new Rng(c.seed);
  const started = Date.now();
  let broker = await startBroker(c);
  await makeOfflineSubscriber(c.port);
  for (let round = 0; round < c.kills; round++) {
    if (round > 0) broker = await startBroker(c);
    const label = `${c.fsync} round ${round} (seed ${c.seed})`;
    const pub = await Qos1Publisher.connect(c.ledger, { port: c.port, clientId: PUB, topic: TOPIC, window: WINDOW, expectDelivered: 1, connectTimeoutMs: START_MS });
    // One round in seven is killed right after its first window was written, before any
    // answer: a kill while the broker is reading and journaling the first publishes. Not
    // the first round: `subscribe` and `disconnect` are answered before their session
    // records are durable (the broker does not wait for them; they reach the disk in order
    // with the next awaited record), so until one publish routed to the subscriber was
    // answered, a kill may lose its session, and then there is nothing left to check.
    // Not the last round when `lastRoundAnswers` asks for records in the last segment.
    const mayBeZero = round > 0 && !(lastRoundAnswers && round === c.kills - 1);
    const killAfter = mayBeZero && rng.chance(1 / 7) ? 0 : rng.int(1, maxAnswersPerRound);
    // Where in the broker's cycle the kill lands: at once (the next publishes waiting for
    // their group's write) or 1-4 ms later (that write or its fsync under way). This delay
    // IS the random moment, not a wait for an outcome.
    const jitterMs = rng.chance(0.5) ? 0 : rng.int(1, 4);
    c.killAfter.push(killAfter);
    c.jitterMs.push(jitterMs);
    const b = broker;
    let killing: Promise<void> | null = null;
    const kill = (): Promise<void> => (killing ??= b.kill());
    const killed = new Promise<void>((resolve, reject) => {
      // Issued inside the k-th answer's handler (or a few ms after): whatever the broker
      // was doing at that instant is cut short.
      pub.onAck = (n) => {
        if (n !== killAfter) return;
        if (jitterMs === 0) kill().then(resolve, reject);
        else {
          setTimeout(() => {
            kill().then(resolve, reject);
          }, jitterMs);
        }
      };
      b.exited.then(() => {
        if (!killing) reject(new Error(`${label}: the broker exited by itself\n${b.stderr}`));
      }, reject);
    });
    pub.start();
    const roundOver = killAfter === 0 ? kill() : killed;
    await within(roundOver, PROGRESS_MS, `${label}: ${killAfter} answered publishes (${c.ledger.acked.size} so far)`);
    // 'close' comes after every byte the broker sent before it died has been read, so no
    // answer it managed to send is missed.
    if (ON_WINDOWS) {
      // Under Wine the socket of a killed process sometimes stays open for a minute and
      // more (seen in the lane under load). The broker has exited by now; if the close does
      // not come, end the connection here. An answer left unread only shrinks the set of
      // answered ids, so the check stays sound: it can miss a loss, never invent one.
      let graceTimer: NodeJS.Timeout | undefined;
      const grace = new Promise<boolean>((resolve) => {
        graceTimer = setTimeout(() => resolve(false), CLOSE_GRACE_MS);
      });
      const closedInTime = await Promise.race([pub.closed.then(() => true), grace]);
      clearTimeout(graceTimer);
      if (!closedInTime) pub.close();
    }
    await within(pub.closed, PROGRESS_MS, `${label}: publisher connection to close after the kill`);
  }
  c.ms = Date.now() - started;
}

/** Connect SUB again; its session (and the messages kept for it) must still be there. */
async function reconnectSubscriber(port: number): Promise<RawClient> {
  const sub = await openClient(port);
  const hello = await sub.call('connect', { client_id: SUB, client_type: 'test', version: '1' });
  expect(hello.error, 'subscriber reconnect').toBeUndefined();
  expect(hello.result.session_present, 'the subscriber session survived every kill').toBe(true);
  return sub;
}

/** Wait until `sub` has received every message id in `ids` (on TOPIC); returns the deliveries so far. */
async function waitForIds(sub: RawClient, ids: ReadonlySet<string>, what: string): Promise<Frame[]> {
  const missing = new Set(ids);
  if (missing.size > 0) {
    await sub
      .waitFor(
        (f) => {
          if (f.method === 'message' && f.params.topic === TOPIC) missing.delete(f.params.message_id);
          return missing.size === 0;
        },
        PROGRESS_MS,
        what,
      )
      .catch(() => {
        // Name what is missing rather than dumping every frame.
        throw new Error(`${what}: ${missing.size} of ${ids.size} never delivered, e.g. ${[...missing].slice(0, 10).join(', ')}`);
      });
  }
  return sub.deliveries(TOPIC);
}

/** Checks every delivery against what was published: known seq, same payload, publish order. */
function checkDeliveries(deliveries: Frame[], ledger: PublishLedger, label: string): number[] {
  const seqs = deliveries.map((d) => d.payload.seq as number);
  for (const d of deliveries) {
    const seq = d.payload.seq as number;
    expect(seq, `${label}: a delivery that was never published`).toBeLessThan(ledger.nextSeq);
    expect(d.payload, `${label}: payload of seq ${seq}`).toEqual(payloadOf(seq));
    const answeredId = ledger.acked.get(seq);
    if (answeredId !== undefined) expect(d.message_id, `${label}: message_id of seq ${seq}, as its publish was answered`).toBe(answeredId);
  }
  // One publisher, one connection at a time, each waiting for the previous broker to die:
  // its messages reach the subscriber in publish order, once each.
  for (let i = 1; i < seqs.length; i++) expect(seqs[i], `${label}: delivery ${i} out of publish order or repeated`).toBeGreaterThan(seqs[i - 1]!);
  return seqs;
}

function newCampaign(fsync: FsyncPolicy, seed: number, kills: number, port: number): Campaign {
  return { dir: tempDir('broker-crash-'), port, fsync, seed, ledger: new PublishLedger(), kills, killAfter: [], jitterMs: [], ms: 0 };
}

/**
 * Kills per fsync policy. Under Wine a broker process takes 1-5 s to start, and 20 rounds
 * per policy made this one file 6 minutes of the Windows lane's CI budget; 6 rounds there
 * still crash the journal on Windows' file semantics at seeded moments, and the Linux lane
 * keeps the 20.
 */
const KILLS = UNDER_WINE ? 6 : 20;

describe('a persisted broker SIGKILLed at random moments', () => {
  for (const [fsync, seedOffset, maxAnswers] of [
    ['batch', 0, 150],
    // One fsync per append, one after another: fewer answers per round keeps the time bounded.
    ['always', 1, 60],
  ] as const) {
    it(
      `keeps every answered QoS 1 publish for an offline session across ${KILLS} kills (fsync ${fsync})`,
      async () => {
        const c = newCampaign(fsync, BASE_SEED + seedOffset, KILLS, await portOutsideEphemeralRange());
        await crashCampaign(c, maxAnswers);
        const { ledger } = c;
        expect(ledger.errors, 'publish errors').toEqual([]);
        expect(ledger.misrouted, 'answered publishes not routed to the offline session').toEqual([]);
        expect(ledger.acked.size).toBeGreaterThan(c.kills);

        const broker = await startBroker(c);
        const sub = await reconnectSubscriber(c.port);
        const deliveries = await waitForIds(sub, new Set(ledger.acked.values()), `answered publishes (seed ${c.seed})`);
        const seqs = checkDeliveries(deliveries, ledger, `fsync ${fsync}, seed ${c.seed}`);
        const delivered = new Set(seqs);
        for (const seq of ledger.acked.keys()) expect(delivered.has(seq), `seq ${seq} was answered, then lost (seed ${c.seed})`).toBe(true);

        const status = await sub.call('status');
        expect(status.result.persistence, 'status reports persistence').toMatchObject({ enabled: true, fsync });
        console.log(
          `[persistence-broker-crash] fsync ${fsync}, seed ${c.seed}: ${c.kills} SIGKILLs in ${(c.ms / 1000).toFixed(1)} s ` +
            `(after ${c.killAfter.map((k, i) => `${k}${c.jitterMs[i] ? `+${c.jitterMs[i]}ms` : ''}`).join(',')} answers); ${ledger.nextSeq} published, ${ledger.acked.size} answered, ` +
            `${delivered.size} delivered (${delivered.size - ledger.acked.size} unanswered ones kept)`,
        );
        await broker.kill();
      },
      TEST_MS,
    );
  }

  it(
    'starts on a journal whose last segment was cut at a random byte, reports it, and delivers every whole record before the cut',
    async () => {
      const c = newCampaign('batch', BASE_SEED + 2, 6, await portOutsideEphemeralRange());
      await crashCampaign(c, 150, true);
      const { ledger } = c;
      expect(ledger.errors, 'publish errors').toEqual([]);
      expect(ledger.misrouted, 'answered publishes not routed to the offline session').toEqual([]);
      const rng = new Rng(c.seed, 1);

      // Before the cut: every answered publish is on disk, pending for the subscriber.
      const before = pendingFor(replayRecords(c.dir), SUB);
      for (const [seq, id] of ledger.acked) expect(before.has(id), `seq ${seq} (${id}) answered but not in the journal`).toBe(true);

      // Cut the last segment at a seeded byte that is not a record boundary, so some record
      // is torn (a cut on a boundary would be a clean, shorter journal).
      const last = journalFiles(c.dir).segments.at(-1);
      expect(last, 'a journal segment').toBeDefined();
      const path = join(c.dir, last!.name);
      const whole = decodeFile(last!.name, readFileSync(path));
      expect(whole.records.length, 'records in the last segment').toBeGreaterThan(0);
      let cut = rng.int(1, whole.size - 1);
      if (whole.records.some((r) => r.end === cut)) cut++;
      truncateSync(path, cut);
      const kept = decodeFile(last!.name, readFileSync(path)).validBytes;
      expect(kept).toBeLessThan(cut);
      const expected = pendingFor(replayRecords(c.dir), SUB);
      // What the cut took: records of the last segment that do not end by `kept`.
      const lostIds = new Set<string>();
      for (const r of whole.records) {
        if (r.end > kept && r.value?.type === 'enqueue') lostIds.add((r.value.message as { id: string }).id);
      }
      for (const [seq, id] of ledger.acked) {
        if (!expected.has(id)) expect(lostIds.has(id), `seq ${seq} (${id}) missing though its record is before the cut`).toBe(true);
      }

      const broker = await startBroker(c);
      const damage = broker.logged('warning', /damaged/);
      expect(damage, `a warning about the cut segment\n${broker.stderr}`).toEqual([
        expect.objectContaining({ offset: kept, bytes_dropped: cut - kept, file: expect.stringContaining(last!.name) }),
      ]);
      // The torn tail is cut off on disk, so the next start does not report it again.
      expect(statSync(path).size).toBe(kept);

      const sub = await reconnectSubscriber(c.port);
      const deliveries = await waitForIds(sub, new Set(expected.keys()), `whole records before the cut (seed ${c.seed})`);
      checkDeliveries(deliveries, ledger, `truncated, seed ${c.seed}`);
      // Nothing but the journal's whole records: no message from after the cut comes back.
      expect(new Set(deliveries.map((d) => d.message_id as string))).toEqual(new Set(expected.keys()));
      for (const d of deliveries) expect(d.payload).toEqual((expected.get(d.message_id) as { payload: unknown }).payload);

      const answeredLost = [...ledger.acked.values()].filter((id) => !expected.has(id)).length;
      console.log(
        `[persistence-broker-crash] truncation, seed ${c.seed}: ${c.kills} SIGKILLs, last segment ${last!.name} cut at byte ${cut} of ${whole.size} ` +
          `(${kept} whole bytes kept); ${expected.size} messages delivered, ${lostIds.size} records after the cut lost (${answeredLost} of them answered)`,
      );
      await broker.kill();
    },
    TEST_MS,
  );
});
