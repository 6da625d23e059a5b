/** Text from an engine's wire (a topic, a header) fit for one log line. */

const CONTROLS = /[\u0000-\u001f\u007f]/g;

/** `text` fit for one log line: control characters escaped, cut after 200 characters. */
export function printable(text: string): string {
  const cut = text.length > 200 ? `${text.slice(0, 200)}...` : text;
  return cut.replace(CONTROLS, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
}
