import { configDefaults, defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    // bridge.exe under Wine: run by test/windows/run.sh once the lane has set Wine up.
    exclude: [...configDefaults.exclude, 'test/package/**'],
    // Builds dist/ (incrementally) first: the CLI tests run the built CLI.
    globalSetup: ['test/global-setup.ts'],
    // Integration tests open real sockets and child processes; on the 2-core CI box a
    // generous per-test budget avoids false timeouts while tests still wait on events.
    testTimeout: 20_000,
    hookTimeout: 20_000,
    pool: 'forks',
  },
});
