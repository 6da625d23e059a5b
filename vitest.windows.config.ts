import { defineConfig } from 'vitest/config';

/**
 * The Windows lane: the same tests under Node for Windows (test/windows/run.sh runs this
 * under Wine). Processes start about 7x slower there, so the budgets are wider and the
 * integration files are the ones that exercise Windows code paths (see README).
 *
 * Not test/browser: the status page's browser tests drive Debian's chromium, which the
 * Wine lane does not have, and the page is the same HTML and JavaScript served by the
 * same Node code on every platform.
 */
const PROCESS_FILES = ['test/windows/**/*.test.ts', 'test/integration/**/*.test.ts'];

/**
 * What both projects share. Not `extends: true`: a project that extends the root runs the
 * root's globalSetup again, and the setup is a TypeScript build (three builds, not one).
 */
const SHARED = {
  testTimeout: 120_000,
  hookTimeout: 60_000,
  // Under Wine a process takes 0.5-5 s to start, more when the 2 cores are busy; a test
  // that fails once there is run once more, and vitest's report names every retry.
  retry: 1,
  pool: 'forks',
  // Left out unless WINDOWS_LANE_FULL=1, for the CI time budget (each Windows process
  // start costs 1-5 s under Wine, and these files start hundreds):
  // - cli-pubsub, cli-log-flags: argument parsing and message wording, the same
  //   JavaScript on every platform;
  // - cli-scripts, cli-supervise-missteps, cli-tail-missteps: passed in the full lane
  //   when they were written; what they drive on Windows (stopping scripts, ps/logs
  //   over the broker, tailing) is also covered by bridge-run, bridge-up, bridge-tail
  //   and cli.test.ts, which stay;
  // - cli-status-page: about 20 CLI process starts (12 s on Linux; each is 1-5 s under Wine)
  //   for an HTTP server that is platform-neutral Node code; the Linux lane covers it;
  // - cli-lib-export: writing files through the CLI; after this lane, bridge.exe's own
  //   `lib export` runs under Wine (test/package/bridge-exe.test.ts);
  // - cli-down, cli-log-file: `bridge down`, the second-copy message and `--log-file`
  //   are platform-neutral Node; under Windows they are driven end to end by
  //   test/windows/install-startup.test.ts (the logon launcher, run by wscript);
  // - cli-young-generation: how V8 sizes its heap, the same engine on every platform
  //   (it passed in this lane when it was written);
  // - broker-read-turns: a 200,000-publish flood, 10 s here; it passed in this lane when
  //   it was written (libuv's Windows reads pause and resume the same way), and
  //   test/unit/read-turns.test.ts, which stays, covers the shares themselves;
  // - cli-deferred-optimization: when V8 optimizes, the same engine on every platform
  //   (it passed in this lane when it was written);
  // - the randomised and exhaustive unit tests of in-memory structures (outbound-queue
  //   and its shared frames, call-scan, seq-lane, message-records, subscription-index):
  //   bytes and arrays in JavaScript, no file, socket or process, 57 s of this lane's
  //   time; they passed in it when they were written;
  // - more of the same kind (json-scan, timestamp, file-ipc-line-scan, batch-frame,
  //   batch-publish-template, frame-store, decimal, bench-checks): 35 s of this lane's
  //   time in a slow hour; all passed in the lane of the clean-clone CI at 0f01098;
  // Never in this lane, not even the full one: the federation tests run Mosquitto and
  // nats-server, which are Linux binaries here; the federation code is platform-neutral
  // Node, covered by the Linux lane.
  exclude:
    process.env.WINDOWS_LANE_FULL === '1'
      ? ['test/integration/federation-*.test.ts']
      : [
          'test/integration/federation-*.test.ts',
          'test/integration/cli-pubsub.test.ts',
          'test/integration/cli-log-flags.test.ts',
          'test/integration/cli-scripts.test.ts',
          'test/integration/cli-supervise-missteps.test.ts',
          'test/integration/cli-tail-missteps.test.ts',
          'test/integration/cli-status-page.test.ts',
          'test/integration/cli-lib-export.test.ts',
          'test/integration/cli-down.test.ts',
          'test/integration/cli-log-file.test.ts',
          'test/integration/cli-young-generation.test.ts',
          'test/integration/broker-read-turns.test.ts',
          'test/integration/cli-deferred-optimization.test.ts',
          'test/unit/outbound-queue.test.ts',
          'test/unit/outbound-queue-shared-frames.test.ts',
          'test/unit/call-scan.test.ts',
          'test/unit/seq-lane.test.ts',
          'test/unit/message-records.test.ts',
          'test/unit/subscription-index.test.ts',
          'test/unit/json-scan.test.ts',
          'test/unit/timestamp.test.ts',
          'test/unit/file-ipc-line-scan.test.ts',
          'test/unit/batch-frame.test.ts',
          'test/unit/batch-publish-template.test.ts',
          'test/unit/frame-store.test.ts',
          'test/unit/decimal.test.ts',
          'test/unit/bench-checks.test.ts',
        ],
} as const;

export default defineConfig({
  test: {
    // The unit files share one worker process here (isolate: false): a new Windows node
    // per file cost 2-3 s under Wine, 69 files took 285 s instead of 99 s. The Linux lane
    // runs each of them isolated, so a test that leaks state into the next file is caught
    // there; the integration and Windows files stay isolated here too.
    projects: [
      { test: { ...SHARED, name: 'unit', include: ['test/unit/**/*.test.ts'], isolate: false } },
      { test: { ...SHARED, name: 'processes', include: PROCESS_FILES } },
    ],
    globalSetup: ['test/global-setup.ts'],
  },
});
