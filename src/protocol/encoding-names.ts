/**
 * Encoding names as users write them (`UTF-8`, `cp1252`, `Windows-1252`), compared the way
 * iconv-lite compares them: lowercased, without punctuation. And which of them Node
 * decodes itself, so that the queue decoder, the supervisor's output decoder and the
 * broker's encoding checks need not load iconv-lite for them.
 */

/** A Node encoding that decodes what iconv-lite would, for the names {@link nodeEncodingOf} gives it. */
export type NodeEncoding = 'utf8' | 'utf16le' | 'latin1';

/** `name` lowercased without punctuation: `Windows-1252` -> `windows1252`. */
export const encodingKey = (name: string): string => name.toLowerCase().replace(/[^a-z0-9]/g, '');

const NODE_ENCODINGS: ReadonlyMap<string, NodeEncoding> = new Map([
  ['utf8', 'utf8'],
  ['utf16le', 'utf16le'],
  // AutoHotkey's "UTF-16" is little endian. iconv-lite's `utf16` guesses the byte order
  // and holds back the first 16 bytes to do so: a script's short line would wait for more.
  ['utf16', 'utf16le'],
  ['ucs2', 'utf16le'],
  ['latin1', 'latin1'],
  ['iso88591', 'latin1'],
  ['binary', 'latin1'],
]);

/** The Node encoding of `name` (any case or punctuation), or undefined when Node has none for it. */
export const nodeEncodingOf = (name: string): NodeEncoding | undefined => NODE_ENCODINGS.get(encodingKey(name));
