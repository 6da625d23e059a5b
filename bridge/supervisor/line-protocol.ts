/**
 * The line protocol between the bridge and a script (docs/script-protocol.md): parsing
 * what the script prints, and encoding commands written to its stdin so that no payload
 * can break out of its line.
 */
import { isReservedTopic, topicError } from '../../src/protocol/topics.js';

/** A line of script output, classified. */
export type ScriptLine =
  | { kind: 'publish'; topic: string; payload: unknown }
  | { kind: 'reply'; id: string; result: unknown }
  | { kind: 'reply-error'; id: string; message: string }
  | { kind: 'ready' }
  | { kind: 'output'; line: string; error?: string };

/** Longest command name; names are what follows `scripts.<key>.command.` */
export const MAX_COMMAND_NAME = 64;
const COMMAND_NAME = /^[A-Za-z0-9_.-]{1,64}$/;
const REQUEST_ID = /^[A-Za-z0-9_-]{1,128}$/;

/** The payload of an `@pub` line: JSON when it parses, else `{data: text}`; absent = null. */
export function parsePayloadText(text: string | undefined): unknown {
  if (text === undefined || text === '') return null;
  try {
    return JSON.parse(text);
  } catch {
    return { data: text };
  }
}

/**
 * True when `topic` is the script's own command topic (`<baseTopic>.command` or below).
 * What a script publishes there would be written back to its stdin: a script that answers
 * a command by publishing one feeds itself forever. Refused where the script prints it,
 * so that the bridge can deliver every other script's commands, whichever bridge hosts
 * them (all of one bridge's scripts publish under its one client id).
 */
function isOwnCommandTopic(topic: string, baseTopic: string): boolean {
  const own = `${baseTopic}.command`;
  return topic === own || topic.startsWith(`${own}.`);
}

/** Split `rest` at the first space: `[head, tail]` (tail undefined when there is none). */
function splitFirst(rest: string): [string, string | undefined] {
  const i = rest.indexOf(' ');
  return i < 0 ? [rest, undefined] : [rest.slice(0, i), rest.slice(i + 1)];
}

/**
 * Classify one line the script printed (without its line ending). `baseTopic` is
 * `scripts.<key>`; relative topics are joined to it.
 */
export function parseScriptLine(line: string, baseTopic: string): ScriptLine {
  if (!line.startsWith('@')) return { kind: 'output', line };
  const [verb, rest] = splitFirst(line);
  switch (verb) {
    case '@pub': {
      if (!rest) return { kind: 'output', line, error: '@pub needs a topic' };
      const [rawTopic, payloadText] = splitFirst(rest);
      const topic = rawTopic.startsWith('/') ? rawTopic.slice(1) : `${baseTopic}.${rawTopic}`;
      const problem = topicError(topic) ?? (isReservedTopic(topic) ? 'reserved topic (system.* and _internal.*)' : null);
      if (problem) return { kind: 'output', line, error: `invalid @pub topic "${rawTopic}": ${problem}` };
      if (isOwnCommandTopic(topic, baseTopic)) {
        return { kind: 'output', line, error: `invalid @pub topic "${rawTopic}": a script's own command topic; it would be fed its own output (publish on another script's command topic, or on an event topic)` };
      }
      return { kind: 'publish', topic, payload: parsePayloadText(payloadText) };
    }
    case '@reply': {
      const [id, json] = splitFirst(rest ?? '');
      if (!REQUEST_ID.test(id)) return { kind: 'output', line, error: '@reply needs a request id' };
      const result = parsePayloadText(json);
      return { kind: 'reply', id, result };
    }
    case '@error': {
      const [id, message] = splitFirst(rest ?? '');
      if (!REQUEST_ID.test(id)) return { kind: 'output', line, error: '@error needs a request id' };
      return { kind: 'reply-error', id, message: message ?? 'script error' };
    }
    case '@ready':
      return { kind: 'ready' };
    default:
      return { kind: 'output', line };
  }
}

/** True when `name` can be sent as a command name. */
export function isValidCommandName(name: string): boolean {
  return COMMAND_NAME.test(name);
}

/**
 * Names the bridge uses for its own control lines. A broker message on
 * `scripts.<key>.command.exit` would otherwise reach the script as the stop line, and any
 * client could end a script in a way the bridge takes for a clean exit.
 */
export const RESERVED_COMMAND_NAMES: ReadonlySet<string> = new Set(['exit']);

/**
 * JSON on one line, pure ASCII: every non-ASCII and control character escaped. No byte
 * of the result is a line break, and no code page can misread it.
 */
export function asciiJson(value: unknown): string {
  const text = JSON.stringify(value === undefined ? null : value);
  return text.replace(/[\u007f-\uffff]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
}

/**
 * Encode a command line for the script's stdin, ending in `\n`. `id` is the request token
 * for commands that expect a reply, or undefined (`-`).
 * @throws RangeError when the name or id could break the line format
 */
export function encodeCommand(name: string, payload: unknown, id?: string): string {
  if (!isValidCommandName(name)) throw new RangeError(`invalid command name ${JSON.stringify(name)}: use 1-${MAX_COMMAND_NAME} of A-Z a-z 0-9 _ . -`);
  if (id !== undefined && !REQUEST_ID.test(id)) throw new RangeError(`invalid request id ${JSON.stringify(id)}`);
  return `${name} ${id ?? '-'} ${asciiJson(payload)}\n`;
}

/** The line that asks a script to exit. */
export const EXIT_COMMAND = encodeCommand('exit', null);

/** A load-time error as AutoHotkey prints it with /ErrorStdOut: `path (line) : ==> message`. */
export interface LoadError {
  file: string;
  line: number;
  message: string;
}

const LOAD_ERROR = /^(.+?) \((\d+)\) : ==> (.*)$/;

/** Parse a stderr line as an AutoHotkey load-time error, or null. */
export function parseLoadError(line: string): LoadError | null {
  const m = LOAD_ERROR.exec(line.trim());
  return m ? { file: m[1]!, line: Number(m[2]), message: m[3]! } : null;
}

/** Prefix Bridge.ahk uses on stderr for runtime errors it caught instead of a dialog. */
export const RUNTIME_ERROR_PREFIX = '@runtime-error ';
