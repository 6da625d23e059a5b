/**
 * How `bridge sub` (and `bridge reply`) print a message: `topic payload`, one JSON object
 * with `--json`, or a `--format` pattern with mosquitto_sub-like placeholders. What other
 * clients chose (a sender's id, a topic, a payload's text) is printed with its control
 * characters escaped, except in `--json`, which is for programs. A payload is shown as
 * its publisher wrote it when the client kept its text (payload.ts), on one line.
 */
import type { Message } from '../src/client/index.js';
import { textWithRawMembers } from '../src/protocol/raw-json.js';
import { jsonText, payloadLine } from './payload.js';
import { visible } from './terminal-text.js';

/**
 * One output line for `message` (without the newline): `topic payload`, or JSON. JSON
 * escapes C0 controls already; escaping DEL and C1 too keeps the payload the same JSON
 * value (a control character is only ever inside a string there).
 */
export function formatMessage(message: Message, json: boolean): string {
  if (!json) return visible(`${message.topic} ${payloadLine(message)}`);
  return recordJson(messageRecord(message));
}

/** A `--json` record as its line: a payload kept as text is written as that text. */
export function recordJson(record: Record<string, unknown>): string {
  return textWithRawMembers(record) ?? JSON.stringify(record);
}

/** The `--json` object of a message; its payload is the text as written when the client kept it. */
export function messageRecord(message: Message): Record<string, unknown> {
  const out: Record<string, unknown> = {
    topic: message.topic,
    payload: message.payloadText === undefined ? message.payload : jsonText(payloadLine(message)),
    sender: message.sender,
    timestamp: message.timestamp,
    message_id: message.messageId,
    qos: message.qos,
  };
  if (message.retained) out.retained = true;
  if (message.redelivered) out.redelivered = true;
  if (message.replyTo) out.reply_to = message.replyTo;
  return out;
}

/** The text of a payload: a string as it is, anything else as JSON (as written, when kept). */
export function rawText(message: Pick<Message, 'payload' | 'payloadText'>): string {
  return typeof message.payload === 'string' ? message.payload : payloadLine(message);
}

/** Each placeholder's text, control characters not yet escaped (see compileFormat). */
const PLACEHOLDERS: Readonly<Record<string, (m: Message) => string>> = {
  t: (m) => m.topic,
  p: (m) => payloadLine(m),
  P: (m) => rawText(m),
  s: (m) => m.sender,
  i: (m) => m.messageId,
  q: (m) => String(m.qos),
  T: (m) => m.timestamp,
  r: (m) => (m.retained ? '1' : '0'),
};

const ESCAPES: Readonly<Record<string, string>> = { n: '\n', t: '\t', '\\': '\\' };

/** The `--format` placeholders, for the help text. */
export const FORMAT_HELP = `--format placeholders:
  %t  topic                          %s  sender (client id)
  %p  payload as JSON                %i  message id
  %P  payload as text when it is     %q  qos (0 or 1)
      a string, JSON otherwise       %T  timestamp (ISO 8601 UTC)
  %r  retained: 1 or 0               %%  a literal %
  escapes: \\n newline, \\t tab, \\\\ backslash; each message ends with a newline
  control characters in a field are shown as \\n, \\u001b, ...: a message stays one line
  e.g. --format '%T %s %t %P'`;

/** A `--format` pattern that cannot be used. */
export class FormatError extends Error {
  override name = 'FormatError';
}

/**
 * Compile a `--format` pattern into a function from a message to its line.
 * @throws FormatError on an unknown placeholder or a `%` at the end
 */
export function compileFormat(pattern: string): (message: Message) => string {
  const parts: (string | ((m: Message) => string))[] = [];
  let text = '';
  for (let i = 0; i < pattern.length; i++) {
    const c = pattern[i]!;
    if (c === '\\' && i + 1 < pattern.length && ESCAPES[pattern[i + 1]!] !== undefined) {
      text += ESCAPES[pattern[++i]!];
      continue;
    }
    if (c !== '%') {
      text += c;
      continue;
    }
    const next = pattern[++i];
    if (next === undefined) throw new FormatError('a "%" at the end: write %% for a literal %');
    if (next === '%') {
      text += '%';
      continue;
    }
    const field = PLACEHOLDERS[next];
    if (!field) throw new FormatError(`unknown placeholder "%${next}": use %t %p %P %s %i %q %T %r or %% (see --help)`);
    if (text) parts.push(text);
    text = '';
    // A field is other clients' text: it may not move the cursor or retitle the
    // terminal. The pattern's own text (its \n and \t) is the user's and stays.
    parts.push((m) => visible(field(m)));
  }
  if (text) parts.push(text);
  return (m) => parts.map((p) => (typeof p === 'string' ? p : p(m))).join('');
}
