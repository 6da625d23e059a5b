/**
 * The golden examples the AutoHotkey libraries carry in comments (`; golden-out: ...`):
 * hand-written samples of what the library prints or sends, which the golden tests hold
 * to the TypeScript side of the protocol. They document behaviour; they are not output
 * captured from a real AutoHotkey, which cannot run here.
 */

/** Every `; <tag>: <text>` comment line of an AutoHotkey source, in order. */
export function golden(text: string, tag: string): string[] {
  const re = new RegExp(`^\\s*;\\s*${tag}: (.*)$`);
  return text
    .split('\n')
    .map((line) => re.exec(line.replace(/\r$/, ''))?.[1])
    .filter((line): line is string => line !== undefined);
}
