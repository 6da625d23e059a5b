import { describe, expect, it } from 'vitest';
import { COMMAND_DEFINITIONS, commandsFor } from '../../bridge/command-definitions.js';

describe('command definitions', () => {
  it('each entry answers to exactly the names and aliases its commands declare', async () => {
    for (const entry of COMMAND_DEFINITIONS) {
      const commands = await entry.load();
      const declared = commands.flatMap((cmd) => [cmd.name(), ...cmd.aliases()]);
      expect(declared.sort(), entry.names.join(',')).toEqual([...entry.names].sort());
    }
  });

  it('no name belongs to two entries', () => {
    const names = COMMAND_DEFINITIONS.flatMap((entry) => entry.names);
    expect(new Set(names).size).toBe(names.length);
  });

  it('a named subcommand, or its alias, loads only its own definition', async () => {
    expect((await commandsFor(['broker', '--port', '0'])).map((cmd) => cmd.name())).toEqual(['broker']);
    expect((await commandsFor(['ls'])).map((cmd) => cmd.name())).toEqual(['ps']);
    expect((await commandsFor(['stop', 'cad'])).map((cmd) => cmd.name())).toEqual(['start', 'stop', 'restart']);
  });

  it('anything else loads every definition, in the order help lists them', async () => {
    const all = (await Promise.all(COMMAND_DEFINITIONS.map((entry) => entry.load()))).flat().map((cmd) => cmd.name());
    expect(all.length).toBeGreaterThan(18);
    for (const argv of [[], ['--help'], ['help', 'broker'], ['brokr'], ['-v'], ['']]) {
      expect((await commandsFor(argv)).map((cmd) => cmd.name()), JSON.stringify(argv)).toEqual(all);
    }
  });
});
