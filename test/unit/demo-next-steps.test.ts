/**
 * `bridge demo`'s closing lines (bridge/commands/demo.ts): `bridge up`, the README's main
 * path, first; and where the demo ran the stand-in interpreter, commands that name it,
 * since without AutoHotkey they fail otherwise. The stand-in case also runs end to end in
 * test/integration/bridge-up.test.ts; AutoHotkey's cannot run here.
 */
import { describe, expect, it } from 'vitest';
import { nextSteps } from '../../bridge/commands/demo.js';

describe('bridge demo: what to run next', () => {
  it('with AutoHotkey found: bridge up first, then bridge run, no --ahk', () => {
    const text = nextSteps(null).join('\n');
    expect(text).toMatch(/^Next: `npx bridge up` runs every script/);
    expect(text).toContain('`npx bridge run <file.ahk> --key <name>`');
    expect(text).not.toContain('--ahk');
  });

  it('with the stand-in: bridge up and bridge run both name it, quoted when it has spaces', () => {
    const text = nextSteps('fixtures/fake-ahk/AutoHotkey.mjs').join('\n');
    expect(text).toContain('`npx bridge up --ahk fixtures/fake-ahk/AutoHotkey.mjs`');
    expect(text).toContain('`npx bridge run <file.ahk> --key <name> --ahk fixtures/fake-ahk/AutoHotkey.mjs`');
    expect(nextSteps('C:/my tools/AutoHotkey.mjs').join('\n')).toContain('--ahk "C:/my tools/AutoHotkey.mjs"`');
  });
});
