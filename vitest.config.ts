import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    // Integration tests open real sockets and child processes; on the 2-core CI box a
    // generous per-test budget avoids false timeouts while tests still wait on events.
    testTimeout: 20_000,
    hookTimeout: 20_000,
    pool: 'forks',
  },
});
