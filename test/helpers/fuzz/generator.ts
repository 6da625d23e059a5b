/**
 * Frame generators for the broker fuzz test: grammar-built JSON-RPC frames (valid calls,
 * notifications, invalid requests, ids of every kind, batches, nesting at and past the
 * depth limit, unparsable text) and mutations of them (byte flips, truncation, insertion,
 * deletion, splices, invalid UTF-8, random bytes). Expectations are not made here: the
 * oracle derives them from the bytes, so a frame built one way and one mutated into the
 * same bytes are judged alike.
 */
import { cp1252Body, Raw, writeJson } from './json-text.js';
import type { ConnModel } from './oracle.js';
import type { Rng } from './prng.js';

export const CATEGORIES = [
  'call',
  'notification',
  'batch',
  'invalid-request',
  'invalid-id',
  'connect-junk',
  'second-connect',
  'depth',
  'parse-error',
  'empty-frame',
  'empty-batch',
  'top-scalar',
  'disconnect',
  'mut-flip',
  'mut-truncate',
  'mut-insert',
  'mut-delete',
  'mut-splice',
  'mut-dup',
  'mut-utf8',
  'random-bytes',
  'token-soup',
] as const;
export type Category = (typeof CATEGORIES)[number];

export interface GenFrame {
  body: Buffer;
  category: Category;
  /** What was generated, e.g. `publish`, `id:1e400`, `depth:65-batch`, `mut-flip<-subscribe`. */
  label: string;
}

/** Words for topics and patterns; `é` lets frames be re-encoded as Windows-1252. */
const WORDS = ['a', 'b', 'c', 'jobs', 'x1', 'lvl', 'é', 'Müller', '日本', '_u'];
const FUZZ = 'fuzz';
const REQ = 'fuzzreq';

const INVALID_PATTERNS = ['', 'fuzz.', '.fuzz', 'fuzz..a', 'fuzz.fo+o', 'fuzz.a#', 'fuzz.#.a', 'fuzz.*x', 'fuzz.a\u0001', '#.fuzz', 'fuzz.##', 'fuzz.+a.b'];
const BAD_TOPICS: unknown[] = ['', 'fuzz.', '.fuzz', 'fuzz..x', 'fuzz.*', 'fuzz.#', 'fuzz.a+', 'fuzz.+', 'fuzz.\u0007', 5, true, ['fuzz.a'], { t: 1 }];
const RESERVED_TOPICS = ['system.x', '_internal.x', 'system.client.connected', 'system.broker.ready', '_internal.message_acks.x'];
const UNKNOWN_METHODS = [
  'foo',
  'Ping',
  'PING',
  'pong',
  '',
  ' ',
  'message',
  '__proto__',
  'constructor',
  'toString',
  'hasOwnProperty',
  'valueOf',
  'rpc.discover',
  'system.status',
  'publish.',
  'subscribe\u0000',
  'status\n',
  'ﬁ',
  'ping\u200b',
  'Connect',
  'sübscribe',
];
const PLAIN = 'abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789 .-_/:;!?@$%^&*()=+<>|`\'';
const SPECIAL = ['\u0000', '\n', '\t', '"', '\\', 'é', '€', 'Ω', '😀', '\ud800', '\udfff', '\u2028', '\ufeff', '[', '{', ']', '}', '[[[', '{"a":[', '\\"['];
const JSON_TOKENS = [
  ...['{', '}', '[', ']', ':', ',', ' ', '"', '\\', '1', '-0', '1e400', 'null', 'true', '"x"'],
  ...['"jsonrpc"', '"2.0"', '"method"', '"ping"', '"publish"', '"id"', '"params"', '"topic"', '"fuzz.a"'],
];
const INTERESTING_BYTES = Buffer.from('{}[]",:\\0123456789-.etnrfu \n');

const MAX_SAFE = Number.MAX_SAFE_INTEGER;

interface Element {
  value: unknown;
  category: Category;
  label: string;
}

/** Per-connection generator: deterministic for a given seed and role. */
export class FrameGenerator {
  private readonly history: { body: Buffer; label: string }[] = [];
  private n = 0;

  constructor(
    private readonly rng: Rng,
    /** Short tag that keeps this connection's unique strings apart from the others'. */
    private readonly tag: string,
  ) {}

  /** The next fuzz frame for a connection in state `model`. */
  next(model: ConnModel): GenFrame {
    this.n++;
    const r = this.rng;
    if (model.connected && model.patterns && model.patterns.size > 400) {
      // Keep under max_subscriptions (mutations add patterns of their own over a long run).
      return this.finish({ value: this.call('unsubscribe', { patterns: [...model.patterns] }, `c${this.n}`), category: 'call', label: 'unsubscribe-cleanup' });
    }
    const kind = r.weighted<string>([
      [40, 'single'],
      [14, 'batch'],
      [1.5, 'empty-batch'],
      [1.5, 'top-scalar'],
      [1, 'empty-frame'],
      [4, 'depth'],
      [4, 'parse-error'],
      [24, 'mutation'],
      [3, 'random'],
      [0.4, 'disconnect'],
    ]);
    switch (kind) {
      case 'single':
        return this.finish(this.element(model));
      case 'batch':
        return this.batch(model);
      case 'empty-batch':
        return { body: Buffer.from(r.pick(['[]', '[ ]', '[\n]', ' [] '])), category: 'empty-batch', label: 'empty-batch' };
      case 'top-scalar': {
        const t = r.pick(['1', '"x"', 'null', 'true', 'false', '-0', '1e400', '"ping"', '0.5']);
        return { body: Buffer.from(t), category: 'top-scalar', label: `top-scalar:${t}` };
      }
      case 'empty-frame':
        return { body: Buffer.alloc(0), category: 'empty-frame', label: 'empty-frame' };
      case 'depth':
        return this.depth();
      case 'parse-error':
        return this.parseError(model);
      case 'mutation':
        return this.mutation();
      case 'random':
        return this.random();
      default:
        return this.disconnect();
    }
  }

  // -------------------------------------------------------------------------------------
  // Grammar

  private call(method: unknown, params: unknown, id: unknown | undefined): Record<string, unknown> {
    const c: Record<string, unknown> = { jsonrpc: '2.0', method };
    if (params !== undefined) c.params = params;
    if (id !== undefined) c.id = id;
    return c;
  }

  /** An id: absent (notification) or any kind of value, with a label for the kind. */
  private id(): { v: unknown; kind: string; invalid: boolean } | undefined {
    const r = this.rng;
    const k = r.weighted<string>([
      [20, 'none'],
      [18, 'str'],
      [8, 'str-odd'],
      [16, 'int'],
      [4, 'int-edge'],
      [5, 'null'],
      [10, 'bad-number'],
      [5, 'odd-number'],
      [5, 'non-scalar'],
    ]);
    switch (k) {
      case 'none':
        return undefined;
      case 'str':
        return { v: `${this.tag}-${this.n}`, kind: 'string', invalid: false };
      case 'str-odd':
        return {
          v: r.pick(['', ' ', '0', '1', 'null', '日本', '😀', '\ud800', '"quoted"', 'back\\slash', 'x'.repeat(r.int(100, 3000)), this.randomString(12)]),
          kind: 'string-odd',
          invalid: false,
        };
      case 'int':
        return { v: r.pick([this.n, -this.n, 0, 1, -1, r.int(0, 1e9)]), kind: 'integer', invalid: false };
      case 'int-edge':
        return { v: r.pick([MAX_SAFE, -MAX_SAFE, new Raw('9007199254740991'), new Raw('-9007199254740991')]), kind: 'integer-edge', invalid: false };
      case 'null':
        return { v: null, kind: 'null', invalid: false };
      case 'bad-number': {
        const t = r.pick(['1.5', '-0.5', '9007199254740992', '9007199254740993', '-9007199254740993', '1e400', '-1e400', '1e21', '0.1', '1e-7', '18446744073709551616']);
        return { v: new Raw(t), kind: `id:${t}`, invalid: true };
      }
      case 'odd-number': {
        // Spellings of safe integers: valid ids, echoed as the integer.
        const t = r.pick(['1e3', '1.0', '-0', '1E2', '0.1e1', '100e-2', '-0.0']);
        return { v: new Raw(t), kind: `id:${t}`, invalid: false };
      }
      default: {
        const v = r.pick<unknown>([true, false, {}, [], { a: 1 }, [1], { id: 1 }]);
        return { v, kind: `id:${JSON.stringify(v)}`, invalid: true };
      }
    }
  }

  private word(): string {
    return this.rng.pick(WORDS);
  }

  private topic(): string {
    return this.rng.chance(0.6) ? `${FUZZ}.${this.word()}` : `${FUZZ}.${this.word()}.${this.word()}`;
  }

  private pattern(): string {
    const r = this.rng;
    return r.weighted<() => string>([
      [6, () => `${FUZZ}.${this.word()}`],
      [3, () => `${FUZZ}.${this.word()}.${this.word()}`],
      [2, () => `${FUZZ}.*`],
      [2, () => `${FUZZ}.+`],
      [2, () => `${FUZZ}.${this.word()}.*`],
      [2, () => `${FUZZ}.+.${this.word()}`],
      [2, () => `${FUZZ}.#`],
      [2, () => `${FUZZ}.${this.word()}.#`],
      [0.5, () => '#'],
      [0.5, () => `*.${this.word()}`],
    ])();
  }

  private randomString(max: number): string {
    const r = this.rng;
    let s = '';
    const n = r.int(0, max);
    for (let i = 0; i < n; i++) s += r.chance(0.85) ? PLAIN[r.int(0, PLAIN.length - 1)]! : r.pick(SPECIAL);
    return s;
  }

  /** A random JSON value whose containers nest at most `depth` levels. */
  private json(depth: number): unknown {
    const r = this.rng;
    const leaf = (): unknown =>
      r.weighted<() => unknown>([
        [2, () => null],
        [2, () => r.chance(0.5)],
        [3, () => r.int(-1000, 1000)],
        [1, () => r.pick([MAX_SAFE, -MAX_SAFE, 1e308, -1e-308, 0.1, 2 ** 53 + 2, 5e-324])],
        [1, () => new Raw(r.pick(['1E+2', '-0.0e-0', '1e400', '-1e400', '123456789012345678901234567890', '-0']))],
        [4, () => this.randomString(20)],
        [1, () => r.pick(['[[[[[[[[[[', '{{{{{{', ']]]]', '\\"[{', '"[', 'café €5', ''])],
      ])();
    if (depth <= 0 || r.chance(0.45)) return leaf();
    if (r.chance(0.5)) return Array.from({ length: r.int(0, 4) }, () => this.json(depth - 1));
    const o: Record<string, unknown> = {};
    for (let i = r.int(0, 4); i > 0; i--) o[r.pick(['a', 'b', 'payload', 'topic', 'id', '__proto__', 'constructor', 'toString', '', 'é', this.randomString(6)])] = this.json(depth - 1);
    return o;
  }

  private payload(): unknown {
    return this.json(this.rng.weighted([
      [6, 0],
      [6, 2],
      [3, 5],
      [1, 12],
    ]));
  }

  /** One grammar element (a call, a notification or an invalid request object). */
  private element(model: ConnModel): Element {
    const r = this.rng;
    const idc = this.id();
    const id = idc?.v;
    const cases: [number, () => [string, unknown, Category?]][] = [
      [6, () => ['ping', r.pick<unknown>([undefined, {}, [], { extra: this.payload() }])]],
      [3, () => ['status', r.pick<unknown>([undefined, {}, []])]],
      [3, () => ['subscriptions', r.pick<unknown>([undefined, {}, [], { client_id: `ghost-${this.tag}-${this.n}` }, [`ghost-${this.tag}-${this.n}`], { client_id: 5 }])]],
      [8, () => {
        const pats = Array.from({ length: r.int(1, 3) }, () => this.pattern());
        if (r.chance(0.1)) pats.push(pats[0]!);
        return ['subscribe', r.chance(0.8) ? { patterns: pats } : [pats]];
      }],
      [3, () => {
        const pats = [this.pattern(), r.pick(INVALID_PATTERNS)];
        if (r.chance(0.4)) pats.push(r.pick(INVALID_PATTERNS));
        return ['subscribe', { patterns: r.shuffle(pats) }];
      }],
      [2, () => ['subscribe', r.pick<unknown>([{ patterns: 'fuzz.a' }, { patterns: [] }, { patterns: [1] }, { patterns: null }, {}, { patterns: { a: 1 } }, { patterns: ['fuzz.a', 2] }])]],
      [4, () => ['unsubscribe', r.chance(0.85) ? { patterns: Array.from({ length: r.int(1, 3) }, () => this.pattern()) } : r.pick<unknown>([{ patterns: 'fuzz.a' }, {}, { patterns: [] }])]],
      [10, () => {
        const p: Record<string, unknown> = { topic: this.topic(), payload: this.payload(), qos: r.pick([0, 1]) };
        if (r.chance(0.3)) p.ttl = r.pick([0, 1, 30, 0.5, 3600]);
        if (r.chance(0.08)) p.retain = true;
        if (r.chance(0.1)) delete p.payload;
        return ['publish', r.chance(0.85) ? p : [p.topic, p.payload ?? null, p.qos]];
      }],
      [2, () => ['publish', { topic: r.pick(RESERVED_TOPICS), payload: this.payload(), retain: r.chance(0.3) }]],
      [2, () => ['publish', r.chance(0.9) ? { topic: r.pick(BAD_TOPICS), payload: 1 } : { payload: 1 }]],
      [2, () => {
        const bad = r.pick<[string, unknown]>([
          ['qos', 2],
          ['qos', -1],
          ['qos', '1'],
          ['qos', 0.5],
          ['qos', true],
          ['ttl', -1],
          ['ttl', 'x'],
          ['ttl', new Raw('1e400')],
          ['retain', 'yes'],
          ['retain', 1],
        ]);
        return ['publish', { topic: this.topic(), payload: 1, [bad[0]]: bad[1] }];
      }],
      [4, () => ['request', { topic: `${REQ}.${this.word()}`, payload: this.payload(), timeout: r.pick([0.2, 0.3, 0.5, 1]) }]],
      [2, () =>
        [
          'request',
          r.pick<unknown>([
            { topic: 'status' },
            { topic: 'subscriptions', payload: {} },
            { topic: '_internal.message_acks', payload: { message_id: 'nosuch' } },
            { topic: '_internal.nosuch', timeout: 1 },
          ]),
        ],
      ],
      [2, () => {
        const bad: unknown[] = [301, 0, -1, 'soon'].map((timeout) => ({ topic: `${REQ}.a`, timeout }));
        return ['request', r.pick(bad.concat([{ topic: 'system.x', timeout: 1 }, { topic: `${REQ}.*`, timeout: 1 }, { timeout: 1 }]))];
      }],
      [3, () =>
        [
          'reply',
          r.pick<unknown>([
            { reply_to: `tok-${this.n}`, result: this.payload() },
            { reply_to: `tok-${this.n}`, error: { code: -32000, message: 'no' } },
            { reply_to: 'tok', error: { code: 1.5, message: 'x' } },
            { reply_to: 'tok', error: 'bad' },
            { result: 1 },
            [`tok-${this.n}`, null],
          ]),
        ],
      ],
      [3, () => ['ack', r.pick<unknown>([{ message_id: `nosuch-${this.n}` }, [`nosuch-${this.n}`], { message_id: 5 }, {}])]],
      [1, () => ['_internal.message_acks', r.pick<unknown>([{ message_id: `nosuch-${this.n}` }, {}])]],
      [4, () => [r.pick(UNKNOWN_METHODS), r.pick<unknown>([undefined, {}, [1, 2], { a: 1 }])]],
      [2, () => r.pick<[string, unknown]>([['ping', [1]], ['status', [1, 2]], ['disconnect', [1]], ['subscriptions', ['a', 'b']], ['ack', ['a', 'b']]])],
    ];
    if (model.connected) {
      // On a connected socket every connect is -32600, whatever its params.
      const second = (): unknown[] => [
        { client_id: `other-${this.tag}-${this.n}`, client_type: 'fuzz', version: '1' },
        [`other-${this.n}`, 't', '1', null, false, 'too-many'],
        { client_id: 5 },
        {},
        { client_id: '' },
      ];
      cases.push([2, () => ['connect', r.pick(second()), 'second-connect']]);
    } else {
      cases.push([6, () => ['connect', this.junkConnect(), 'connect-junk']]);
    }
    const invalidShape = r.chance(0.1);
    if (invalidShape) return this.invalidElement(idc);
    const [method, params, category] = r.weighted(cases)();
    const value = this.call(method, params, id);
    const cat: Category = category ?? (idc === undefined ? 'notification' : idc.invalid ? 'invalid-id' : 'call');
    return { value, category: cat, label: `${method}${idc?.invalid ? ` ${idc.kind}` : ''}${idc === undefined ? ' (notification)' : ''}` };
  }

  /** Params for `connect` on an unconnected socket that must be refused with -32602. */
  private junkConnect(): unknown {
    const r = this.rng;
    return r.pick<unknown>([
      {},
      { client_id: '' },
      { client_id: 'u'.repeat(129) },
      { client_id: 5 },
      { client_id: null },
      { client_id: ['u1'] },
      { client_id: 'broker' },
      { client_id: `u${this.n % 7}`, clean_session: 'yes' },
      { client_id: `u${this.n % 7}`, client_type: 5 },
      { client_id: `u${this.n % 7}`, version: { v: 1 } },
      [`u${this.n % 7}`, 't', '1', null, false, 'too-many'],
      [5],
      [''],
    ]);
  }

  /** A member that is not a valid request object: answered -32600 echoing a usable id. */
  private invalidElement(idc: ReturnType<FrameGenerator['id']>): Element {
    const r = this.rng;
    const base = (): Record<string, unknown> => this.call('ping', undefined, idc?.v);
    const variants: [string, () => unknown][] = [
      ['no-jsonrpc', () => {
        const c = base();
        delete c.jsonrpc;
        return c;
      }],
      ['jsonrpc-1.0', () => ({ ...base(), jsonrpc: '1.0' })],
      ['jsonrpc-number', () => ({ ...base(), jsonrpc: 2 })],
      ['jsonrpc-null', () => ({ ...base(), jsonrpc: null })],
      ['method-not-string', () => ({ ...base(), method: r.pick<unknown>([5, null, [], {}, true]) })],
      ['no-method', () => {
        const c = base();
        delete c.method;
        return c;
      }],
      ['params-scalar', () => ({ ...base(), method: r.pick(['publish', 'ping', 'nosuch', 'subscribe']), params: r.pick<unknown>(['x', 5, true, null, new Raw('1e400')]) })],
      ['response-result', () => ({ jsonrpc: '2.0', result: 1, id: idc?.v ?? null })],
      ['response-error', () => ({ jsonrpc: '2.0', error: { code: 1, message: 'x' }, id: idc?.v ?? null })],
    ];
    const [name, make] = r.pick(variants);
    return { value: make(), category: 'invalid-request', label: `invalid:${name}${idc?.invalid ? ` ${idc.kind}` : ''}` };
  }

  /** Serialise one element or batch, sometimes restyled or re-encoded. */
  private finish(el: Element): GenFrame {
    const r = this.rng;
    const style = r.chance(0.15) ? { shuffleKeys: true, whitespace: true } : {};
    const text = writeJson(el.value, r, style);
    let body: Buffer = Buffer.from(text, 'utf8');
    let label = el.label;
    const v = r.next();
    if (v < 0.05) {
      body = Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), body]);
      label += ' +BOM';
    } else if (v < 0.15 && /[^\x00-\x7f]/.test(text)) {
      const ansi = cp1252Body(text);
      if (ansi) {
        body = ansi;
        label += ' +cp1252';
      }
    }
    this.remember(body, label);
    return { body, category: el.category, label };
  }

  private batch(model: ConnModel): GenFrame {
    const r = this.rng;
    const n = r.weighted([
      [4, 1],
      [6, r.int(2, 4)],
      [3, r.int(5, 10)],
    ]);
    const els: Element[] = [];
    for (let i = 0; i < n; i++) {
      const e = this.element(model);
      if (r.chance(0.05)) e.value = r.pick<unknown>([1, 'x', null, true, [], [1], {}]);
      els.push(e);
    }
    if (r.chance(0.1)) {
      // All notifications: no answer at all.
      for (const e of els) {
        if (typeof e.value === 'object' && e.value !== null && !Array.isArray(e.value) && 'method' in e.value) delete (e.value as Record<string, unknown>).id;
      }
    }
    return this.finish({ value: els.map((e) => e.value), category: 'batch', label: `batch[${els.map((e) => e.label).join(', ')}]` });
  }

  private disconnect(): GenFrame {
    const r = this.rng;
    const id = r.pick<unknown>([undefined, `${this.tag}-bye-${this.n}`, this.n, null]);
    const value = r.chance(0.8) ? this.call('disconnect', r.pick<unknown>([undefined, {}, []]), id) : [this.call('ping', undefined, `${this.tag}-p-${this.n}`), this.call('disconnect', undefined, id)];
    return { body: Buffer.from(writeJson(value), 'utf8'), category: 'disconnect', label: `disconnect${id === undefined ? ' (notification)' : ''}` };
  }

  // -------------------------------------------------------------------------------------
  // Depth

  private depth(): GenFrame {
    const r = this.rng;
    const id = `${this.tag}-d${this.n}`;
    const nest = (levels: number, inner: string, obj = false): string => (obj ? '{"a":'.repeat(levels) + inner + '}'.repeat(levels) : '['.repeat(levels) + inner + ']'.repeat(levels));
    // Text builders: `levels` counts the containers below params (top object 1, params 2).
    const pingWith = (levels: number, obj = false): string => `{"jsonrpc":"2.0","method":"ping","params":{"x":${nest(levels, '1', obj)}},"id":"${id}"}`;
    const kind = r.pick([
      'exact-64-ping',
      'exact-64-alternating',
      'exact-64-publish',
      'exact-64-batch',
      'over-ping',
      'over-alternating',
      'over-batch',
      'over-notification',
      'over-garbage',
      'deep-openers',
      'deep-balanced',
      'brackets-in-strings',
    ]);
    let text: string;
    switch (kind) {
      case 'exact-64-ping':
        text = pingWith(62);
        break;
      case 'exact-64-alternating': {
        let inner = '1';
        for (let i = 0; i < 62; i++) inner = i % 2 ? `{"k":${inner}}` : `[${inner}]`;
        text = `{"jsonrpc":"2.0","method":"ping","params":{"x":${inner}},"id":"${id}"}`;
        break;
      }
      case 'exact-64-publish':
        text = `{"jsonrpc":"2.0","method":"publish","params":{"topic":"${FUZZ}.deep","payload":${nest(62, '"bottom"', r.chance(0.5))},"retain":${r.chance(0.3)}},"id":"${id}"}`;
        break;
      case 'exact-64-batch':
        text = `[{"jsonrpc":"2.0","method":"ping","id":"${id}-a"},{"jsonrpc":"2.0","method":"ping","params":{"x":${nest(61, '1')}},"id":"${id}"}]`;
        break;
      case 'over-ping':
        text = pingWith(r.int(63, 70), r.chance(0.5));
        break;
      case 'over-alternating': {
        let inner = '1';
        for (let i = 0; i < 63; i++) inner = i % 2 ? `[${inner}]` : `{"k":${inner}}`;
        text = `{"jsonrpc":"2.0","method":"ping","params":{"x":${inner}},"id":"${id}"}`;
        break;
      }
      case 'over-batch':
        text = `[{"jsonrpc":"2.0","method":"ping","id":"${id}-a"},{"jsonrpc":"2.0","method":"ping","params":{"x":${nest(r.int(62, 66), '1')}},"id":"${id}"}]`;
        break;
      case 'over-notification':
        text = `{"jsonrpc":"2.0","method":"publish","params":{"topic":"${FUZZ}.deep","payload":${nest(63, '1')}}}`;
        break;
      case 'over-garbage':
        text = '['.repeat(r.int(65, 80)) + r.pick(['x', '}}}', '"unterminated', ',,,', '1,2', '']);
        break;
      case 'deep-openers':
        text = '['.repeat(r.pick([100, 1000, 20_000, 100_000]));
        break;
      case 'deep-balanced': {
        const d = r.pick([100, 1000, 10_000, 50_000]);
        text = r.chance(0.5) ? nest(d, '1') : `{"jsonrpc":"2.0","method":"publish","params":{"topic":"${FUZZ}.deep","payload":${nest(d, '1', r.chance(0.5))}},"id":"${id}"}`;
        break;
      }
      default: {
        // Brackets inside strings never count, escaped quotes included.
        const s = r.pick(['['.repeat(200), '{'.repeat(100) + '['.repeat(100), '\\"' + '['.repeat(100), '[\\\\' + '{'.repeat(80)]);
        text = `{"jsonrpc":"2.0","method":"publish","params":{"topic":"${FUZZ}.str","payload":{"s":"${s}","t":${nest(50, '"x"')}}},"id":"${id}"}`;
        break;
      }
    }
    const body = Buffer.from(text, 'utf8');
    if (body.length < 4096) this.remember(body, `depth:${kind}`);
    return { body, category: 'depth', label: `depth:${kind}` };
  }

  // -------------------------------------------------------------------------------------
  // Unparsable text and mutations

  private parseError(model: ConnModel): GenFrame {
    const r = this.rng;
    const fixed = [
      '{',
      '}',
      '[',
      '{"jsonrpc":"2.0","method":"ping","id":1',
      '{"jsonrpc": "2.0", "method": "foobar, "params": "bar", "baz]',
      '[1,]',
      '{"a":1,}',
      'NaN',
      'Infinity',
      "{'jsonrpc':'2.0'}",
      '{"jsonrpc":"2.0"} x',
      '{}{}',
      '{"a":"\u0001"}',
      '{"a":"\\x"}',
      '"unterminated',
      '-',
      '01',
      '.5',
      '+1',
      '0x10',
      '// comment\n{}',
      'nul',
      'tru',
      '{"jsonrpc":"2.0","method":"ping","id":1}\u0000',
      '\u00a0{}',
    ];
    const k = r.weighted<string>([
      [4, 'fixed'],
      [3, 'truncated'],
      [2, 'trailing'],
    ]);
    let text: string;
    if (k === 'fixed') text = r.pick(fixed);
    else {
      const src = writeJson(this.element(model).value);
      if (k === 'truncated') {
        // A proper prefix of an object or array is never JSON.
        text = src.startsWith('{') || src.startsWith('[') ? src.slice(0, r.int(1, src.length - 1)) : '{';
      } else text = src + r.pick([' x', '{}', ',', ']', '}', ' 1']);
    }
    return { body: Buffer.from(text, 'utf8'), category: 'parse-error', label: `parse-error:${k}` };
  }

  private remember(body: Buffer, label: string): void {
    if (body.length > 8192) return;
    this.history.push({ body, label });
    if (this.history.length > 64) this.history.shift();
  }

  private source(): { body: Buffer; label: string } {
    if (this.history.length === 0) return { body: Buffer.from('{"jsonrpc":"2.0","method":"ping","id":1}'), label: 'ping' };
    return this.rng.pick(this.history);
  }

  private mutation(): GenFrame {
    const r = this.rng;
    const src = this.source();
    const b = src.body;
    const pos = (): number => r.int(0, Math.max(0, b.length - 1));
    const op = r.weighted<Category>([
      [6, 'mut-flip'],
      [3, 'mut-truncate'],
      [3, 'mut-insert'],
      [3, 'mut-delete'],
      [4, 'mut-splice'],
      [1, 'mut-dup'],
      [3, 'mut-utf8'],
      [2, 'token-soup'],
    ]);
    let out: Buffer;
    switch (op) {
      case 'mut-flip': {
        out = Buffer.from(b);
        for (let i = r.int(1, 4); i > 0 && out.length > 0; i--) {
          const at = r.int(0, out.length - 1);
          const how = r.int(0, 2);
          out[at] = how === 0 ? out[at]! ^ (1 << r.int(0, 7)) : how === 1 ? r.int(0, 255) : INTERESTING_BYTES[r.int(0, INTERESTING_BYTES.length - 1)]!;
        }
        break;
      }
      case 'mut-truncate':
        out = b.subarray(0, pos());
        break;
      case 'mut-insert': {
        const at = r.int(0, b.length);
        const ins = r.chance(0.5) ? r.bytes(r.int(1, 8)) : Buffer.from(Array.from({ length: r.int(1, 4) }, () => INTERESTING_BYTES[r.int(0, INTERESTING_BYTES.length - 1)]!));
        out = Buffer.concat([b.subarray(0, at), ins, b.subarray(at)]);
        break;
      }
      case 'mut-delete': {
        const at = pos();
        out = Buffer.concat([b.subarray(0, at), b.subarray(Math.min(b.length, at + r.int(1, 16)))]);
        break;
      }
      case 'mut-splice': {
        const other = this.source().body;
        out = Buffer.concat([b.subarray(0, pos()), other.subarray(r.int(0, other.length))]);
        break;
      }
      case 'mut-dup': {
        const at = pos();
        const end = Math.min(b.length, at + r.int(1, 32));
        out = Buffer.concat([b.subarray(0, end), b.subarray(at, end), b.subarray(end)]);
        break;
      }
      case 'mut-utf8': {
        // Overlong, surrogate, lone continuation, truncated sequence, out-of-range lead byte.
        const bad = r.pick([[0xc0, 0x80], [0xed, 0xa0, 0x80], [0x80], [0xe2, 0x82], [0xf5, 0x80, 0x80, 0x80], [0xff], [0xe9], [0x80, 0xe9, 0xfc]]);
        const at = r.int(0, b.length);
        out = Buffer.concat([b.subarray(0, at), Buffer.from(bad), b.subarray(at)]);
        break;
      }
      default: {
        const parts = Array.from({ length: r.int(2, 30) }, () => r.pick(JSON_TOKENS));
        return { body: Buffer.from(parts.join(''), 'utf8'), category: 'token-soup', label: 'token-soup' };
      }
    }
    return { body: out, category: op, label: `${op}<-${src.label.slice(0, 60)}` };
  }

  private random(): GenFrame {
    const r = this.rng;
    const body = r.chance(0.7) ? r.bytes(r.int(1, 64)) : Buffer.from(this.randomString(40), 'utf8');
    return { body, category: 'random-bytes', label: 'random-bytes' };
  }
}
