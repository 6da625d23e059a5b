/**
 * A short, log-safe piece of text a peer sent: whatever arrived (a broken frame, an HTTP
 * request line) is shown to the operator, but never as raw control characters that
 * would break a log line or a terminal, and never at full length.
 */

/** Characters shown before an excerpt is cut (about one log line's worth). */
export const EXCERPT_CHARS = 60;

/**
 * Characters of a name a client sent (a pattern, a topic, a method) that an error
 * message repeats: a name of 65,535 characters is still refused in a message one can
 * read, and a request does not come back several times its size.
 */
export const SHOWN_NAME_CHARS = 100;

// C0 and C1 controls, DEL, the two Unicode line separators, and lone surrogates.
const UNSAFE = /[\u0000-\u001f\u007f-\u009f\u2028\u2029]|[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/g;

const NAMED: Readonly<Record<string, string>> = { '\n': '\\n', '\r': '\\r', '\t': '\\t' };

function escapeChar(c: string): string {
  return NAMED[c] ?? `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`;
}

/**
 * The first `maxChars` characters of `text` with control characters escaped (`\n`,
 * `\u0001`, ...) and `...` appended when there was more. A surrogate pair is never cut
 * in half.
 */
export function safeExcerpt(text: string, maxChars: number = EXCERPT_CHARS): string {
  const end = cutAt(text, maxChars);
  const head = text.slice(0, end).replace(UNSAFE, escapeChar);
  return end < text.length ? `${head}...` : head;
}

/** Where `text` is cut to at most `maxChars` characters: never after the high half of a pair. */
function cutAt(text: string, maxChars: number): number {
  let end = Math.min(text.length, maxChars);
  if (end < text.length && end > 0) {
    const last = text.charCodeAt(end - 1);
    if (last >= 0xd800 && last <= 0xdbff) end--;
  }
  return end;
}

/**
 * A name a client sent (a method, a topic, a pattern), as an error message shows it:
 * {@link safeExcerpt} of {@link SHOWN_NAME_CHARS}, followed by its full length when cut.
 * @param quoted put the shown characters between double quotes (the length stays outside)
 */
export function shownName(name: string, quoted = false): string {
  const shown = safeExcerpt(name, SHOWN_NAME_CHARS);
  const text = quoted ? `"${shown}"` : shown;
  return name.length > SHOWN_NAME_CHARS ? `${text} (${name.length} characters)` : text;
}

/** Names an error message lists one by one; the others are counted. */
export const NAMES_LISTED = 5;

/** `items` as an error message lists them: the first {@link NAMES_LISTED} shown, then how many more. */
export function listedNames<T>(items: readonly T[], show: (item: T) => string): string {
  const listed = items.slice(0, NAMES_LISTED).map(show);
  if (items.length > NAMES_LISTED) listed.push(`and ${items.length - NAMES_LISTED} more`);
  return listed.join(', ');
}

/**
 * `name` as sent when it has up to {@link SHOWN_NAME_CHARS} characters, else its first
 * ones and `...` (never half a surrogate pair): for an error's data, which a client may
 * match against what it sent, so nothing in it is escaped.
 */
export function cutName(name: string): string {
  return name.length <= SHOWN_NAME_CHARS ? name : `${name.slice(0, cutAt(name, SHOWN_NAME_CHARS))}...`;
}
