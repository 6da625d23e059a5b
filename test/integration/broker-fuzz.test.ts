/**
 * Seeded, time-bounded fuzzing of the broker over real TCP. Each seed starts a broker,
 * runs three fuzz connections (two connected, one never connected) and a QoS 1 canary
 * pair for FUZZ_SECONDS, and checks every answer against an oracle written from the wire
 * contract (see test/helpers/fuzz/oracle.ts).
 *
 *   FUZZ_SECONDS=20 FUZZ_SEEDS=1-3 npx vitest run test/integration/broker-fuzz.test.ts
 *
 * Defaults (two fixed seeds, 2 s each) keep `npm test` short and its frames deterministic.
 * A failure names the seed, the connection and the frame number, and shows the frame.
 * For triage: FUZZ_DUMP=file (every failure as JSON lines), FUZZ_TRACE=A|B|U (every frame
 * of one connection with what was expected and received, on stderr), FUZZ_DEBUG=1.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { startBroker, type StartedBroker } from '../helpers/broker-fixture.js';
import { fuzzSeed, formatFailures, type SeedStats } from '../helpers/fuzz/driver.js';
import { frameOf } from '../helpers/fuzz/json-text.js';
import { MAX_MESSAGE_SIZE, type Resp } from '../helpers/fuzz/oracle.js';
import { parseSeeds, Rng } from '../helpers/fuzz/prng.js';
import { frameJson, FuzzSocket } from '../helpers/fuzz/wire.js';

const SECONDS = Number(process.env.FUZZ_SECONDS ?? '2');
if (!(SECONDS > 0)) throw new Error(`FUZZ_SECONDS must be a positive number, got ${process.env.FUZZ_SECONDS}`);
const SEEDS = parseSeeds(process.env.FUZZ_SEEDS, [1, 2]);
/** Fuzzing, then draining windows and the canary, on a loaded machine. */
const PER_SEED_TIMEOUT_MS = SECONDS * 1000 + 90_000;

const results: (SeedStats & { failureCount: number })[] = [];

afterAll(() => {
  if (results.length === 0) return;
  const frames: Record<string, number> = {};
  for (const r of results) for (const [k, n] of Object.entries(r.frames)) frames[k] = (frames[k] ?? 0) + n;
  const sum = (f: (r: SeedStats) => number): number => results.reduce((n, r) => n + f(r), 0);
  const perCategory = Object.entries(frames)
    .map(([k, n]) => `${k}=${n}`)
    .join(' ');
  console.log(
    `broker-fuzz: seeds ${results.map((r) => r.seed).join(',')} x ${SECONDS}s; frames ${sum((r) => r.framesTotal)} (${perCategory}); ` +
      `frames checked ${sum((r) => r.framesChecked)}, answers checked ${sum((r) => r.answersChecked)}, late answers ${sum((r) => r.lateAnswers)}, ` +
      `windows ${sum((r) => r.windows)}, deliveries to fuzz connections ${sum((r) => r.deliveries)}, auto-replies ${sum((r) => r.autoReplies)}, ` +
      `accidental connects ${sum((r) => r.accidentalConnects)}, reconnects ${sum((r) => r.reopened)}; canary messages ${sum((r) => r.canaryMessages)}; ` +
      `failures ${results.reduce((n, r) => n + r.failureCount, 0)}`,
  );
});

describe('broker fuzz', () => {
  for (const seed of SEEDS) {
    it(
      `seed ${seed}: every frame gets the contract's answer, the connection stays open, the canary is intact`,
      async () => {
        const r = await fuzzSeed(seed, SECONDS);
        results.push(r);
        if (r.failureCount > 0) {
          expect.fail(`seed ${seed}: ${r.failureCount} failing checks, ${new Set(r.failures.map((f) => f.key)).size} distinct:\n${formatFailures(r.failures, SECONDS)}`);
        }
      },
      PER_SEED_TIMEOUT_MS,
    );
  }

  describe('a header declaring more than max_message_size', () => {
    let broker: StartedBroker | undefined;
    const sockets: FuzzSocket[] = [];
    afterAll(async () => {
      for (const s of sockets) s.close();
      await broker?.stop();
    });
    const open = async (): Promise<FuzzSocket> => {
      broker ??= await startBroker();
      const s = await FuzzSocket.open(broker.port);
      sockets.push(s);
      return s;
    };
    const header = (n: number): Buffer => {
      const h = Buffer.alloc(4);
      h.writeUInt32BE(n, 0);
      return h;
    };
    /** The one answer must be -32600 with data.max_message_size, then the broker closes. */
    const expectRefusedAndClosed = async (s: FuzzSocket, before: number): Promise<void> => {
      expect(await s.closedWithin(10_000), 'the broker closes the connection').toBe(true);
      const answers = s.answers.slice(before);
      expect(answers).toHaveLength(1);
      const a = answers[0] as Resp;
      expect(a).toMatchObject({ jsonrpc: '2.0', id: null, error: { code: -32600, data: { max_message_size: MAX_MESSAGE_SIZE } } });
    };

    // The declared size and how the header is cut come from the first seed, so reruns vary them with FUZZ_SEEDS.
    const rng = new Rng(SEEDS[0]!, 99);

    it('is refused with -32600 and closed, without the body being sent', async () => {
      const s = await open();
      const declared = rng.pick([MAX_MESSAGE_SIZE + 1, MAX_MESSAGE_SIZE + rng.int(2, 1 << 20), 0xffff_ffff]);
      s.write(Buffer.concat([header(declared), Buffer.from('{"jsonrpc":"2.0"')]));
      await expectRefusedAndClosed(s, 0);
    });

    it('is refused when the header arrives a byte at a time', async () => {
      const s = await open();
      const h = header(0xffff_ffff - rng.int(0, 1000));
      for (const b of h) {
        s.write(Buffer.from([b]));
        await new Promise((r) => setImmediate(r));
      }
      await expectRefusedAndClosed(s, 0);
    });

    it('answers what came before it first', async () => {
      const s = await open();
      s.write(Buffer.concat([frameJson({ jsonrpc: '2.0', method: 'ping', id: 'before' }), header(MAX_MESSAGE_SIZE + 1)]));
      await s.until(() => s.answers.length >= 1, 10_000);
      expect((s.answers[0] as Resp).id).toBe('before');
      await expectRefusedAndClosed(s, 1);
    });

    it('accepts a frame of exactly max_message_size and stays open', async () => {
      const s = await open();
      const prefix = '{"jsonrpc":"2.0","method":"ping","id":"';
      const id = 'x'.repeat(MAX_MESSAGE_SIZE - prefix.length - 2);
      const body = Buffer.from(`${prefix}${id}"}`);
      expect(body.length).toBe(MAX_MESSAGE_SIZE);
      s.write(frameOf(body));
      s.write(frameJson({ jsonrpc: '2.0', method: 'ping', id: 'after' }));
      expect(await s.until(() => s.answers.length >= 2, 10_000)).toBe(true);
      expect((s.answers[0] as Resp).id).toBe(id);
      expect((s.answers[1] as Resp).id).toBe('after');
      expect(s.isClosed).toBe(false);
      // The broker still serves other clients.
      const other = await open();
      expect(((await other.call('ping', undefined, 'p')) as Resp).result).toMatchObject({ pong: true });
    });
  });
});
