/**
 * `--peers`: after our table, run the shared side-by-side harness (Mosquitto, NATS, Redis,
 * Aedes, a minimal Node relay as the ceiling) with our broker as one of the systems. It
 * lives outside the project (../shared/peer-bench) and may be absent, in which case we
 * say so and skip. It runs in its own process group, bounded by a timeout.
 */
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { signal, track, waitExit } from './processes.js';

/** Installing three Debian brokers and npm clients, then ~5 min of runs. */
const PEERS_TIMEOUT_MS = 20 * 60_000;
/** How the harness starts our broker: no shell, split on spaces, run from the project root. */
const OUR_BROKER_CMD = 'node dist/bridge/cli.js broker';
const PEER_SCENARIOS = 'fanout-1to10,latency';

/** Returns the harness' exit code, or null when it was skipped. */
export async function runPeers(projectRoot: string, extraArgs: string[]): Promise<number | null> {
  const script = path.resolve(projectRoot, '../shared/peer-bench/compare.sh');
  if (!existsSync(script)) {
    console.log(`\n--peers: ${script} not found (no shared folder beside the project); peer comparison skipped.`);
    return null;
  }
  const args = [script, OUR_BROKER_CMD, '--scenarios', PEER_SCENARIOS, ...extraArgs];
  console.log(`\n## Peers: bash ${args.map((a) => (a.includes(' ') ? JSON.stringify(a) : a)).join(' ')}\n`);
  // detached: its own process group, so a timeout stops npm/apt/brokers it started too.
  const child = spawn('bash', args, { cwd: projectRoot, stdio: 'inherit', detached: true });
  track(child, true);
  const done = new Promise<number>((resolve) => {
    child.once('exit', (code, sig) => resolve(code ?? (sig ? 128 : 1)));
    child.once('error', () => resolve(127));
  });
  if (!(await waitExit(child, PEERS_TIMEOUT_MS)) && child.pid !== undefined) {
    console.log(`--peers: no result after ${PEERS_TIMEOUT_MS / 60_000} min; stopping it.`);
    signal(child.pid, 'SIGTERM');
    if (!(await waitExit(child, 5000))) signal(child.pid, 'SIGKILL');
  }
  return done;
}
