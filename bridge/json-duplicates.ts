/**
 * A name given twice in one object of a JSON text. `JSON.parse` keeps the last silently,
 * so a config with `"scripts"` twice (the second list empty) or an entry with `"key"`
 * twice starts something other than what its author reads in it.
 */
import { at, type JsonSyntaxError } from '../src/protocol/json-break.js';

/** Where the first repeated name is (its second occurrence), in valid JSON `text`; null when none is. */
export function repeatedName(text: string): (JsonSyntaxError & { name: string }) | null {
  /** Per open object the names seen, per open array null. */
  const open: (Set<string> | null)[] = [];
  let expectName = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (c === '"') {
      const start = i;
      for (i++; i < text.length && text[i] !== '"'; i++) if (text[i] === '\\') i++;
      const names = open[open.length - 1];
      if (expectName && names) {
        const name = JSON.parse(text.slice(start, i + 1)) as string;
        if (names.has(name)) return { ...at(text, start, `the name "${name}" is given twice in one object`), name };
        names.add(name);
        expectName = false;
      }
    } else if (c === '{') {
      open.push(new Set());
      expectName = true;
    } else if (c === '[') {
      open.push(null);
    } else if (c === '}' || c === ']') {
      open.pop();
    } else if (c === ',') {
      expectName = open[open.length - 1] != null;
    }
  }
  return null;
}
