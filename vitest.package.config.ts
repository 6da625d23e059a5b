import { defineConfig } from 'vitest/config';

/**
 * bridge.exe, built by `npm run package:win` and run under Wine from Linux
 * (test/package/). test/windows/run.sh runs it after the Windows lane, which set Wine up.
 */
export default defineConfig({
  test: {
    include: ['test/package/**/*.test.ts'],
    testTimeout: 120_000,
    hookTimeout: 60_000,
    pool: 'forks',
  },
});
