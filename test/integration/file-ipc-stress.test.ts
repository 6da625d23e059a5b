/**
 * The issue's stress test for file IPC, with real processes throughout: several writer
 * processes append 10,000 lines each to ONE queue file, open-append-close per line (as
 * AutoHotkey's FileAppend does), while `bridge tail` publishes them to a real broker and
 * is killed with SIGKILL and restarted three times. A subscriber, connected the whole
 * time, must end up with every line at least once, in order per writer, and every
 * duplicate must be of the in-flight kind: published by the killed instance at or after
 * the position it had saved, and published again, first thing, by the next instance.
 *
 * Kill points are events: the first delivery that starts a publish burst once the
 * subscriber holds 20 %, 45 %, 70 % of the lines (so a batch is usually in flight); each
 * restart waits for the broker's `system.client.disconnected` of the killed instance, so
 * the instances' deliveries fall into disjoint windows of the subscriber's arrival order:
 * between `system.client.connected` and `system.client.disconnected` of each instance.
 *
 * Defaults are the issue's numbers (3 writers x 10,000 lines). For a quick local run:
 *   STRESS_WRITERS=3 STRESS_LINES=2000 npx vitest run test/integration/file-ipc-stress.test.ts
 * STRESS_RATE (lines per second per writer, default 1000; 0 = unpaced) sets the pace.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { BrokerClient, type Message } from '../../src/client/index.js';
import { SAVE_EVERY_BATCHES } from '../../file-ipc/publish-batch.js';
import { startBroker, type StartedBroker } from '../helpers/broker-fixture.js';
import { startCli } from '../helpers/cli.js';
import { POSIX_SIGNALS } from '../helpers/platform.js';

const WRITER = fileURLToPath(new URL('../helpers/queue-writer.mjs', import.meta.url));

function envInt(name: string, fallback: number): number {
  const raw = process.env[name];
  if (raw === undefined || raw === '') return fallback;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < 0) throw new Error(`${name} must be a non-negative integer, got "${raw}"`);
  return n;
}

const WRITERS = envInt('STRESS_WRITERS', 3);
const LINES = envInt('STRESS_LINES', 10_000);
const RATE = envInt('STRESS_RATE', 1000);
const TOTAL = WRITERS * LINES;
/** Fractions of all lines the subscriber holds when each kill happens. */
const KILL_AT = [0.2, 0.45, 0.7];
/** The tailer's default `batchLines` and `maxBatchesInFlight`. */
const BATCH_LINES = 500;
const BATCHES_IN_FLIGHT = 2;
/** Silence before a delivery that marks it the start of a new publish burst. */
const BURST_GAP_MS = 10;
/** Kill anyway this many lines past a kill point when no burst start was seen. */
const BURST_SLACK_LINES = Math.max(50, Math.ceil(TOTAL * 0.02));
/** Bounds on waits for events; they only turn a hang into a readable failure. */
const PHASE_TIMEOUT_MS = 60_000;

type TailProc = ReturnType<typeof startCli>;

interface Delivery {
  /** Position in the subscriber's arrival order (all recorded deliveries, markers included). */
  idx: number;
  topic: string;
  payload: { w: number; n: number; queue_id: string; [k: string]: unknown };
  queueId: string;
  fileId: string;
  offset: number;
  /** The tail instance it came from (by arrival window). */
  instance: number;
}

interface Marker {
  idx: number;
  at: number;
  clientId: string;
  reason?: string;
}

/** Everything the subscriber received, in arrival order, and waits on it. */
class Recorder {
  arrivals = 0;
  readonly stress: Omit<Delivery, 'instance'>[] = [];
  readonly connects: Marker[] = [];
  readonly disconnects: Marker[] = [];
  readonly slow: unknown[] = [];
  readonly other: Message[] = [];
  /** (w, n) -> arrival indexes of its copies. */
  readonly copies = new Map<string, number[]>();
  /** Milliseconds of silence before the latest stress delivery (large: the start of a publish burst). */
  gapBeforeLast = 0;
  private lastStressAt = 0;
  private waiters: { pred: () => boolean; resolve: () => void }[] = [];

  get unique(): number {
    return this.copies.size;
  }

  record = (m: Message): void => {
    const idx = this.arrivals++;
    if (m.topic.startsWith('stress.')) {
      const now = performance.now();
      this.gapBeforeLast = now - this.lastStressAt;
      this.lastStressAt = now;
      const payload = m.payload as Delivery['payload'];
      const match = /^(.*):(\d+)$/.exec(String(payload?.queue_id));
      this.stress.push({ idx, topic: m.topic, payload, queueId: String(payload?.queue_id), fileId: match?.[1] ?? '', offset: match ? Number(match[2]) : -1 });
      const key = `${payload?.w}:${payload?.n}`;
      const list = this.copies.get(key);
      if (list) list.push(idx);
      else this.copies.set(key, [idx]);
    } else if (m.topic === 'system.client.connected' || m.topic === 'system.client.disconnected') {
      const p = m.payload as { client_id: string; reason?: string };
      if (p.client_id.startsWith('bridge.tail.')) {
        (m.topic === 'system.client.connected' ? this.connects : this.disconnects).push({ idx, at: Date.now(), clientId: p.client_id, reason: p.reason });
      }
    } else if (m.topic === 'system.client.slow') {
      this.slow.push(m.payload);
    } else {
      this.other.push(m);
    }
    this.waiters = this.waiters.filter((w) => (w.pred() ? (w.resolve(), false) : true));
  };

  /**
   * Resolves once `pred` holds (checked on every arrival); rejects with `describe()` after
   * `timeoutMs`. `action` runs synchronously at that very arrival, before any later frame of
   * the same socket read is looked at (a promise would only resume after the whole read).
   */
  until(pred: () => boolean, what: string, describe: () => string, timeoutMs = PHASE_TIMEOUT_MS, action: () => void = () => undefined): Promise<void> {
    if (pred()) {
      action();
      return Promise.resolve();
    }
    return new Promise((resolve, reject) => {
      const waiter = {
        pred,
        resolve: () => {
          clearTimeout(timer);
          action();
          resolve();
        },
      };
      const timer = setTimeout(() => {
        this.waiters = this.waiters.filter((w) => w !== waiter);
        reject(new Error(`timed out after ${timeoutMs} ms waiting for ${what}\n${describe()}`));
      }, timeoutMs);
      this.waiters.push(waiter);
    });
  }
}

/** A writer process and its exit. */
function startWriter(file: string, k: number): { child: ChildProcess; done: Promise<{ code: number | null; stdout: string; stderr: string }> } {
  const child = spawn(process.execPath, [WRITER, '--file', file, '--writer', String(k), '--lines', String(LINES), '--rate', String(RATE)]);
  let stdout = '';
  let stderr = '';
  child.stdout!.setEncoding('utf8').on('data', (d: string) => (stdout += d));
  child.stderr!.setEncoding('utf8').on('data', (d: string) => (stderr += d));
  const done = new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve) => child.on('close', (code) => resolve({ code, stdout, stderr })));
  return { child, done };
}

/** The queue file's lines with the byte offset each starts at (CRLF line ends, ASCII only). */
function fileLines(file: string): { offsets: number[]; textAt: Map<number, string>; size: number } {
  const bytes = readFileSync(file);
  const offsets: number[] = [];
  const textAt = new Map<number, string>();
  let start = 0;
  for (;;) {
    const nl = bytes.indexOf('\r\n', start);
    if (nl < 0) break;
    offsets.push(start);
    textAt.set(start, bytes.subarray(start, nl).toString('latin1'));
    start = nl + 2;
  }
  expect(start, 'the queue file ends with a complete line').toBe(bytes.length);
  return { offsets, textAt, size: bytes.length };
}

interface SavedPosition {
  identity: string;
  generation: number;
  offset: number;
}

function readPosition(file: string): SavedPosition {
  const pos = JSON.parse(readFileSync(`${file}.pos`, 'utf8')) as SavedPosition;
  expect(pos).toMatchObject({ identity: expect.any(String), generation: expect.any(Number), offset: expect.any(Number) });
  return pos;
}

// POSIX: the kills are SIGKILL and the last stop a SIGINT; on Windows test/windows/fileappend-stress.test.ts
// runs the same idea with appenders that open the file like AutoHotkey's FileAppend.
describe.runIf(POSIX_SIGNALS)('file IPC stress: writers, SIGKILLed bridge tail, a subscriber throughout', () => {
  let dir: string | undefined;
  let broker: StartedBroker | undefined;
  let sub: BrokerClient | undefined;
  const children: ChildProcess[] = [];

  afterEach(async () => {
    // Only processes this test started, by their own handles.
    await Promise.all(
      children.splice(0).map(async (c) => {
        if (c.exitCode === null && c.signalCode === null) {
          const closed = new Promise((r) => c.once('close', r));
          c.kill('SIGKILL');
          await closed;
        }
      }),
    );
    await sub?.disconnect().catch(() => undefined);
    await broker?.stop();
    if (dir) rmSync(dir, { recursive: true, force: true });
    dir = broker = sub = undefined;
  });

  it(
    `${WRITERS} writers x ${LINES} lines, bridge tail killed (SIGKILL) and restarted ${KILL_AT.length} times: every line at least once, in order per writer, only in-flight repeats`,
    async () => {
      expect(WRITERS).toBeGreaterThan(0);
      expect(LINES).toBeGreaterThanOrEqual(100);
      const t0 = Date.now();
      dir = mkdtempSync(path.join(tmpdir(), 'file-ipc-stress-'));
      const queue = path.join(dir, 'queue.txt');
      writeFileSync(queue, ''); // one file identity for the whole run

      broker = await startBroker();
      const rec = new Recorder();
      sub = new BrokerClient('stress-subscriber', { host: '127.0.0.1', port: broker.port, autoReconnect: false, heartbeatInterval: 0 });
      let subLost = '';
      sub.on('disconnected', (reason) => (subLost = reason));
      await sub.connect();
      // Recorded as each frame is read (message_received), not after the callback chain; the
      // no-op callback is what makes the client ack QoS 1 deliveries.
      sub.on('message_received', (_topic, _payload, _sender, _id, m) => rec.record(m));
      await sub.subscribe(['stress.#', 'system.client.#'], () => undefined);

      const tails: TailProc[] = [];
      const describeState = (): string =>
        [
          `subscriber: ${rec.unique}/${TOTAL} lines, ${rec.stress.length} deliveries, connects ${rec.connects.length}, disconnects ${rec.disconnects.length}${subLost ? `, LOST (${subLost})` : ''}`,
          ...tails.map((t, i) => `tail #${i} (pid ${t.child.pid}, exit ${t.child.exitCode ?? t.child.signalCode ?? 'running'}) stderr:\n${t.stderr().slice(-1500)}`),
        ].join('\n');
      const startTail = async (): Promise<TailProc> => {
        const n = tails.length;
        const p = startCli(['tail', queue, '--host', '127.0.0.1', '--port', String(broker!.port), '--log-level', 'info']);
        children.push(p.child);
        tails.push(p);
        await rec.until(() => rec.connects.length > n, `tail #${n} to connect`, describeState);
        return p;
      };

      // Instance 0 first, so its window (connected ... disconnected) is known; then the writers.
      let tail = await startTail();
      const writers = Array.from({ length: WRITERS }, (_, i) => startWriter(queue, i + 1));
      for (const w of writers) children.push(w.child);
      const writersDone = Promise.all(writers.map((w) => w.done));

      const kills: { at: number; restartedAt: number; saved: SavedPosition; uniqueAtKill: number; killedPid: number }[] = [];
      for (const [k, fraction] of KILL_AT.entries()) {
        const target = Math.ceil(TOTAL * fraction);
        // Kill at the first delivery of a publish burst once past the target (the instance
        // most likely has a batch in flight then), or a little later if no burst starts.
        const killedPid = tail.child.pid!;
        let uniqueAtKill = 0;
        let at = 0;
        const victim = tail.child;
        await rec.until(
          () => rec.unique >= target && (rec.gapBeforeLast >= BURST_GAP_MS || rec.unique >= target + BURST_SLACK_LINES),
          `${Math.round(fraction * 100)} % of the lines (${target})`,
          describeState,
          PHASE_TIMEOUT_MS,
          () => {
            uniqueAtKill = rec.unique;
            at = Date.now();
            victim.kill('SIGKILL');
          },
        );
        const exit = await tail.done;
        expect(exit.signal, `tail #${k} died of our SIGKILL`).toBe('SIGKILL');
        // The broker has processed everything the dead instance sent once it reports the disconnect.
        await rec.until(() => rec.disconnects.length > k, `the broker to notice tail #${k} is gone`, describeState);
        const saved = readPosition(queue); // the killed instance's last saved position
        tail = await startTail();
        kills.push({ at, restartedAt: Date.now(), saved, uniqueAtKill, killedPid });
      }

      const writerExits = await writersDone;
      for (const [i, w] of writerExits.entries()) {
        expect(w.code, `writer ${i + 1} exit (stderr: ${w.stderr})`).toBe(0);
        expect(w.stdout).toMatch(new RegExp(`^done ${i + 1} ${LINES} `));
      }
      const writersEndedAt = Date.now();
      await rec.until(() => rec.unique >= TOTAL, `every line (${TOTAL}) at the subscriber`, describeState);
      const caughtUpAt = Date.now();

      // Stop the last instance gracefully: it exits 0 and its saved position is the end of the file.
      tail.child.kill('SIGINT');
      const last = await tail.done;
      expect(last.code, `last tail exit; stderr:\n${last.stderr}`).toBe(0);
      await rec.until(() => rec.disconnects.length > KILL_AT.length, 'the last tail to disconnect', describeState);
      expect(subLost, 'the subscriber stayed connected throughout').toBe('');
      expect(rec.slow, 'no deliveries dropped for a slow consumer').toEqual([]);
      expect(rec.other.map((m) => m.topic), 'nothing but stress lines on stress.#').toEqual([]);

      // ---- the file as written --------------------------------------------------------------
      const { offsets, textAt, size } = fileLines(queue);
      expect(offsets).toHaveLength(TOTAL);
      const finalPos = readPosition(queue);
      expect(finalPos.offset).toBe(size);
      expect(statSync(queue).size).toBe(size);
      const fileId = `${finalPos.identity}.${finalPos.generation}`;
      const lineIndex = new Map(offsets.map((o, i) => [o, i]));

      // ---- instance windows -------------------------------------------------------------------
      const instances = KILL_AT.length + 1;
      expect(rec.connects).toHaveLength(instances);
      expect(rec.disconnects).toHaveLength(instances);
      const windows = rec.connects.map((c, i) => ({ from: c.idx, to: rec.disconnects[i]!.idx }));
      for (let i = 0; i < instances; i++) {
        expect(windows[i]!.from).toBeLessThan(windows[i]!.to);
        if (i > 0) expect(windows[i]!.from, `tail #${i} connected only after tail #${i - 1} was gone`).toBeGreaterThan(windows[i - 1]!.to);
      }
      for (const d of rec.disconnects.slice(0, -1)) expect(d.reason).toBe('connection_lost');
      const instanceOf = (idx: number): number => windows.findIndex((w) => idx > w.from && idx < w.to);

      // ---- every delivery is a line of the file, and belongs to exactly one instance ------------
      const deliveries: Delivery[] = rec.stress.map((d) => ({ ...d, instance: instanceOf(d.idx) }));
      for (const d of deliveries) {
        const { w, n } = d.payload;
        if (
          d.instance < 0 ||
          d.topic !== `stress.w${w}` ||
          d.fileId !== fileId ||
          textAt.get(d.offset) !== `stress.w${w}|${JSON.stringify({ w, n })}` ||
          JSON.stringify(Object.keys(d.payload)) !== '["w","n","queue_id"]'
        ) {
          throw new Error(`delivery does not match the queue file or no instance window: ${JSON.stringify({ ...d, expectedFileId: fileId, lineAtOffset: textAt.get(d.offset) })}`);
        }
      }

      // ---- at least once; per writer, without repeats, n = 1..LINES in arrival order ------------
      const firstSeen = new Map<string, Delivery>();
      const byWriter = new Map<number, number[]>();
      const repeatsPerKill: Delivery[][] = Array.from({ length: KILL_AT.length }, () => []);
      const lastCopy = new Map<string, Delivery>();
      for (const d of deliveries) {
        const key = `${d.payload.w}:${d.payload.n}`;
        const first = firstSeen.get(key);
        if (!first) {
          firstSeen.set(key, d);
          lastCopy.set(key, d);
          if (!byWriter.has(d.payload.w)) byWriter.set(d.payload.w, []);
          byWriter.get(d.payload.w)!.push(d.payload.n);
          continue;
        }
        // A repeat: the same line (id and payload) as its first copy ...
        expect(d.queueId, `repeat of ${key}`).toBe(first.queueId);
        expect(d.payload, `repeat of ${key}`).toEqual(first.payload);
        expect(d.topic).toBe(first.topic);
        // ... whose previous copy came from the instance killed just before this one started.
        const prev = lastCopy.get(key)!;
        if (d.instance !== prev.instance + 1) {
          throw new Error(`${key} repeated by tail #${d.instance}, but its previous copy came from tail #${prev.instance}: not an in-flight repeat`);
        }
        repeatsPerKill[prev.instance]!.push(d);
        lastCopy.set(key, d);
      }
      expect(firstSeen.size).toBe(TOTAL);
      const expectedNs = Array.from({ length: LINES }, (_, i) => i + 1);
      expect([...byWriter.keys()].sort((a, b) => a - b)).toEqual(Array.from({ length: WRITERS }, (_, i) => i + 1));
      for (const [w, ns] of byWriter) {
        if (ns.length !== LINES || ns.some((n, i) => n !== expectedNs[i])) {
          const at = ns.findIndex((n, i) => n !== expectedNs[i]);
          throw new Error(`writer ${w}: first copies out of order or missing at index ${at}: ${JSON.stringify(ns.slice(Math.max(0, at - 3), at + 3))} (${ns.length} of ${LINES})`);
        }
      }

      // ---- the repeats of each kill are exactly what the killed instance had in flight ----------
      for (const [k, kill] of kills.entries()) {
        const saved = kill.saved;
        expect(`${saved.identity}.${saved.generation}`, `kill ${k + 1}: same file identity`).toBe(fileId);
        const savedIdx = lineIndex.get(saved.offset) ?? (saved.offset === size ? offsets.length : undefined);
        expect(savedIdx, `kill ${k + 1}: saved offset ${saved.offset} is a line start`).toBeDefined();
        const killed = deliveries.filter((d) => d.instance === k);
        const next = deliveries.filter((d) => d.instance === k + 1);
        const repeats = repeatsPerKill[k]!;
        // The restarted instance read nothing below the saved position ...
        const below = next.filter((d) => d.offset < saved.offset);
        expect(below.map((d) => d.queueId), `kill ${k + 1}: tail #${k + 1} re-read lines below the saved offset ${saved.offset}`).toEqual([]);
        // ... and what it repeated is exactly what the killed instance had published at or past
        // that position (accepted by the broker, not yet saved): the in-flight lines.
        const inFlight = killed.filter((d) => d.offset >= saved.offset).map((d) => d.offset);
        expect(repeats.map((d) => d.offset), `kill ${k + 1}: repeats = the killed instance's lines past its saved offset`).toEqual(inFlight);
        // One contiguous run of the file starting at the saved offset ...
        expect(repeats.map((d) => d.offset)).toEqual(offsets.slice(savedIdx!, savedIdx! + repeats.length));
        // ... republished first thing, before any line that is new to the subscriber ...
        expect(next.slice(0, repeats.length).map((d) => d.idx)).toEqual(repeats.map((d) => d.idx));
        // ... and no more than one instance can have accepted past its saved position: the
        // batches in flight, and those accepted since its last save.
        expect(repeats.length).toBeLessThanOrEqual((BATCHES_IN_FLIGHT + SAVE_EVERY_BATCHES) * BATCH_LINES);
      }
      const totalRepeats = repeatsPerKill.reduce((s, r) => s + r.length, 0);
      expect(deliveries.length).toBe(TOTAL + totalRepeats);

      const secs = (ms: number): string => `${(ms / 1000).toFixed(1)} s`;
      console.log(
        [
          `file-ipc stress: ${WRITERS} writers x ${LINES} lines = ${TOTAL} lines (${(size / 1024).toFixed(0)} KiB, rate ${RATE || 'unpaced'}/s per writer), ${deliveries.length} deliveries`,
          ...kills.map(
            (k, i) =>
              `  kill ${i + 1} at ${k.uniqueAtKill} lines (pid ${k.killedPid}): saved offset ${k.saved.offset}, ${repeatsPerKill[i]!.length} repeats, restart took ${k.restartedAt - k.at} ms`,
          ),
          `  writers done after ${secs(writersEndedAt - t0)}, subscriber complete after ${secs(caughtUpAt - t0)} (+${caughtUpAt - writersEndedAt} ms), total ${secs(Date.now() - t0)}`,
        ].join('\n'),
      );
    },
    240_000,
  );
});
