/**
 * Vitest global setup: bring dist/'s JavaScript up to date before any test runs (the
 * declarations, which no test runs, come with `npm run build`). The CLI tests start
 * `node dist/bridge/cli.js` as real processes; without this, `npx vitest run FILE` after an
 * edit would test the previous build. The build is incremental, so an unchanged tree
 * costs about two seconds.
 */
import { execFileSync } from 'node:child_process';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';

export default function setup(): void {
  const root = fileURLToPath(new URL('..', import.meta.url));
  const tsc = createRequire(import.meta.url).resolve('typescript/bin/tsc');
  execFileSync(process.execPath, [tsc, '-p', 'tsconfig.build.json'], { cwd: root, stdio: 'inherit' });
}
