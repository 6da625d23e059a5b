/**
 * Text from other clients shown on a terminal: a client id, a topic, a payload printed as
 * text. A control character in it would act on the terminal (a newline splits a table
 * row, a tab misaligns it, an ESC sequence changes the title or the colours), so each is
 * shown escaped, as JSON writes it (`\n`, `\u001b`), and so is a bidi override. Printable text, backslashes
 * included, is left as it is: a Windows path stays readable.
 */

/**
 * C0 controls, DEL and the C1 controls (a terminal may take U+009B as an escape), and the
 * bidirectional embeddings, overrides and isolates, with which a client id would show the
 * rest of a table row reversed on a terminal that orders text both ways.
 */
const CONTROL = /[\u0000-\u001f\u007f-\u009f\u202a-\u202e\u2066-\u2069]/;
const CONTROLS = new RegExp(CONTROL.source, 'g');
const SHORT: Readonly<Record<string, string>> = { '\b': '\\b', '\t': '\\t', '\n': '\\n', '\f': '\\f', '\r': '\\r' };

/** `text` with its control characters escaped; the same string when it has none. */
export function visible(text: string): string {
  if (!CONTROL.test(text)) return text;
  return text.replace(CONTROLS, (c) => SHORT[c] ?? `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
}
