/**
 * `bridge demo`: the whole flow in one command, for a newcomer. An embedded broker, the
 * example script scripts/cad_hotkeys.ahk under AutoHotkey (or, where there is none, the
 * fake interpreter our tests use), a subscriber printing every event, two requests to the
 * script, then a clean stop. Its flags are in demo-command.ts; this module loads when the
 * command runs.
 */
import { existsSync } from 'node:fs';
import path from 'node:path';
import { BrokerClient, type Message } from '../../src/client/index.js';
import { isSea } from 'node:sea';
import { CliError } from '../cli-error.js';
import { packageRoot } from '../package-root.js';
import { cliLogger, type LogFlags } from '../connect-options.js';
import { openLink } from '../open-link.js';
import { KeyTakenError, ScriptRegistry } from '../script-registry.js';
import type { ScriptSupervisor } from '../supervisor/script-supervisor.js';
import { onShutdownSignal } from '../signals.js';
import { findInterpreter } from '../supervisor/interpreter.js';
import { DEFAULT_RESTART } from '../supervisor/restart-policy.js';
import { wholeNumberFlag } from '../number-flags.js';

export interface DemoFlags extends LogFlags {
  host?: string;
  port?: string;
  ahk?: string;
  keep?: boolean;
  events: string;
}

const root = (): string => {
  const dir = packageRoot();
  if (dir) return dir;
  // The demo's scripts and stand-in interpreter are files of the npm package, which
  // bridge.exe does not carry (it ships the libraries and the status page only).
  if (isSea()) {
    throw new CliError('bridge demo runs from the npm package, whose demo scripts bridge.exe does not carry: try it with `npx bridge demo` where Node is installed, or run your own script here: bridge.exe run script.ahk --key NAME');
  }
  throw new CliError('cannot find the ahk-bridge package folder (scripts/ and fixtures/)');
};

/**
 * The demo's script under key `cad`, or `cad_demo` when a bridge on the broker it joined
 * supervises `cad` already (`npx bridge up` with this checkout's bridge.config.json).
 */
async function addDemoScript(registry: ScriptRegistry, script: string): Promise<ScriptSupervisor> {
  const spec = { path: script, args: [], restart: { ...DEFAULT_RESTART }, encoding: 'utf-8', stopGrace: 3 };
  try {
    return await registry.add({ key: 'cad', ...spec });
  } catch (err) {
    if (!(err instanceof KeyTakenError)) throw err;
  }
  try {
    return await registry.add({ key: 'cad_demo', ...spec });
  } catch (err) {
    if (!(err instanceof KeyTakenError)) throw err;
    throw new CliError(`${err.message}, and so is cad: stop that demo first, or run this one on another --port`);
  }
}

/** Real AutoHotkey when one is found, else the fixture interpreter. */
async function pickInterpreter(explicit: string | undefined, script: string): Promise<{ path: string; fake: boolean }> {
  try {
    const found = await findInterpreter({ explicit, scriptPath: script });
    return { path: found.path, fake: found.isFixture };
  } catch (err) {
    if (explicit) throw new CliError((err as Error).message);
    const fake = path.join(root(), 'fixtures', 'fake-ahk', 'AutoHotkey.mjs');
    if (!existsSync(fake)) throw new CliError(`no AutoHotkey found and no fixture interpreter at ${fake}`);
    return { path: fake, fake: true };
  }
}

const line = (text: string): void => void process.stdout.write(text + '\n');

/** Run `bridge demo` with its parsed flags. */
export async function runDemo(flags: DemoFlags): Promise<void> {
  const log = cliLogger(flags, 'demo');
  const script = path.join(root(), 'scripts', 'cad_hotkeys.ahk');
  const interpreter = await pickInterpreter(flags.ahk, script);
  const wanted = wholeNumberFlag(flags.events, '--events');

  const { link, role, host, port } = await openLink(flags, 'bridge.demo', log);
  const registry = new ScriptRegistry({ link, log, interpreter: { explicit: interpreter.path }, scriptFolders: [] });
  let supervisor: ScriptSupervisor;
  try {
    supervisor = await addDemoScript(registry, script);
  } catch (err) {
    await link.stop();
    throw err;
  }
  const key = supervisor.spec.key;
  line(`ahk-bridge demo`);
  line(`  broker:      ${role === 'hosting' ? 'hosting' : 'joined'} on ${host}:${port}`);
  line(`  script:      ${path.relative(process.cwd(), script) || script} as key "${key}"`);
  line(`  interpreter: ${interpreter.fake ? 'the stand-in used by our tests (no AutoHotkey on this machine)' : interpreter.path}`);
  line('');

  const app = new BrokerClient('demo-app', { host, port, clientType: 'demo', cleanSession: true });
  await app.connect();
  let hotkeys = 0;
  let finish: (() => void) | undefined;
  const finished = new Promise<void>((r) => (finish = r));
  const ready = new Promise<void>((resolve, reject) => {
    app.subscribe([`scripts.${key}.#`, 'jobs.#'], (m: Message) => {
      line(`  event    ${m.topic} ${JSON.stringify(m.payload)}`);
      if (m.topic === `scripts.${key}.ready`) resolve();
      if (m.topic === `scripts.${key}.hotkey.pressed` && ++hotkeys >= wanted && !flags.keep) finish?.();
      return undefined;
    }).catch(reject);
  });

  await registry.serveControl();
  const stop = async (): Promise<void> => {
    line('');
    line('  stopping the script (the exit command first, then its whole process tree if needed)');
    await supervisor.stop();
    await app.disconnect();
    await link.stop();
  };
  onShutdownSignal(async () => {
    await stop();
    process.exit(0);
  }, log);
  supervisor.on('settled', (exit) => {
    if (exit.reason !== 'stopped') finish?.();
  });

  await supervisor.start();
  await ready;
  for (const [topic, payload] of [
    [`scripts.${key}.command.ping`, null],
    [`scripts.${key}.command.job.load`, { job: 'A-100' }],
  ] as const) {
    line(`  request  ${topic} ${JSON.stringify(payload)}`);
    const reply = await app.request(topic, payload, { timeout: 5 }).catch((err: unknown) => `error: ${(err as Error).message}`);
    line(`  reply    ${JSON.stringify(reply)}`);
  }
  line(flags.keep ? '  waiting for events; Ctrl+C stops' : `  waiting for ${wanted} hotkey event${wanted === 1 ? '' : 's'} (F1 in AutoHotkey; simulated by the stand-in)`);
  await finished;
  await stop();
  line('');
  for (const text of nextSteps(interpreter.fake ? path.relative(process.cwd(), interpreter.path) || interpreter.path : null)) line(text);
  process.exit(0);
}

/**
 * The demo's closing lines: what to run for real work. `bridge up` first, the README's main
 * path (it hosts the broker and runs every script of the config). `standIn` is the
 * stand-in interpreter the demo used (relative to the current folder), null when it found
 * AutoHotkey: without AutoHotkey, `bridge up` and `bridge run` fail unless given the
 * stand-in too, so each command names it.
 */
export function nextSteps(standIn: string | null): string[] {
  const ahk = standIn === null ? '' : ` --ahk ${/\s/.test(standIn) ? `"${standIn}"` : standIn}`;
  return [
    `Next: \`npx bridge up${ahk}\` runs every script in ./bridge.config.json and hosts the broker`,
    '  (`npx bridge init <folder>` writes one for a folder of .ahk scripts);',
    `  one script alone: \`npx bridge run <file.ahk> --key <name>${ahk}\`;`,
    '  watch with `npx bridge ps` and `npx bridge sub "scripts.#"`.',
    ...(standIn === null
      ? []
      : ['No AutoHotkey was found here, so both take the stand-in with --ahk (or AHK_PATH), as above;', 'it interprets no AutoHotkey code (fixtures/fake-ahk/README.md).']),
    'See README.md and scripts/README.md.',
  ];
}
