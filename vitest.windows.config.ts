import { defineConfig } from 'vitest/config';

/**
 * The Windows lane: the same tests under Node for Windows (test/windows/run.sh runs this
 * under Wine). Processes start about 7x slower there, so the budgets are wider and the
 * integration files are the ones that exercise Windows code paths (see README).
 */
export default defineConfig({
  test: {
    include: [
      'test/unit/**/*.test.ts',
      'test/windows/**/*.test.ts',
      'test/integration/**/*.test.ts',
    ],
    // Argument parsing and message wording of the client commands: the same JavaScript on
    // every platform, and at 1-5 s per Windows process start these two files alone cost
    // the lane about 5 minutes of the CI budget. What the commands do as processes on
    // Windows (stdin, Ctrl+C, exit codes, reconnecting) stays in the lane: cli.test.ts,
    // cli-scripts.test.ts, bridge-run.test.ts and the other CLI files.
    exclude: ['test/integration/cli-pubsub.test.ts', 'test/integration/cli-log-flags.test.ts'],
    globalSetup: ['test/global-setup.ts'],
    testTimeout: 120_000,
    hookTimeout: 60_000,
    // Under Wine a process takes 0.5-5 s to start, more when the 2 cores are busy; a test
    // that fails once there is run once more, and vitest's report names every retry.
    retry: 1,
    pool: 'forks',
  },
});
