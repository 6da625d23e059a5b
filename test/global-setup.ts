/**
 * Vitest global setup: bring dist/ up to date before any test runs, as `npm run build`
 * does (the JavaScript, then the declarations). The CLI tests start
 * `node dist/bridge/cli.js` as real processes; without this, `npx vitest run FILE` after an
 * edit would test the previous build. The build is incremental, so an unchanged tree
 * costs a few seconds.
 */
import { execFileSync } from 'node:child_process';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';

export default function setup(): void {
  const root = fileURLToPath(new URL('..', import.meta.url));
  const tsc = createRequire(import.meta.url).resolve('typescript/bin/tsc');
  for (const project of ['tsconfig.build.json', 'tsconfig.types.json']) {
    execFileSync(process.execPath, [tsc, '-p', project], { cwd: root, stdio: 'inherit' });
  }
}
