/**
 * Named conditions for tests that depend on the platform. The Windows lane (Node for
 * Windows under Wine, test/windows/run.sh) skips a test only through one of these, and the
 * README lists them with their reasons.
 */

/** Running under Node for Windows (the Windows lane, or a real Windows machine). */
export const ON_WINDOWS = process.platform === 'win32';

/**
 * POSIX signals: on Windows `child.kill(signal)` is TerminateProcess whatever the signal,
 * so no handler runs and there is no SIGTERM-then-SIGKILL escalation to observe. The
 * Windows versions of these tests stop processes the way Windows users do: a stop
 * request through the broker.
 */
export const POSIX_SIGNALS = !ON_WINDOWS;

/** The Python interpreter for interop tests is a Linux one; Windows node cannot run it. */
export const LINUX_PYTHON = !ON_WINDOWS;

/** What `stopCli` needs of a started CLI process. */
interface StoppableCli {
  child: { kill(signal?: NodeJS.Signals): boolean };
  done: Promise<{ code: number | null; stderr: string }>;
}

/**
 * Stop a CLI process (`bridge run`, `up`, `tail`) as a user would: Ctrl+C (`SIGINT`) or
 * SIGTERM on POSIX, where a clean exit (code 0) is asserted. On Windows a signal from
 * another process is TerminateProcess: no handler runs, so there is no exit code to
 * check, and a test must rely only on what was saved or published before.
 */
export async function stopCli(p: StoppableCli, signal: NodeJS.Signals = 'SIGINT'): Promise<{ code: number | null; stderr: string }> {
  p.child.kill(signal);
  const res = await p.done;
  if (POSIX_SIGNALS && res.code !== 0) throw new Error(`expected a clean exit (0) after ${signal}, got ${res.code}\n${res.stderr}`);
  return res;
}

/** Node for Windows under Wine (the Windows lane), not a real Windows machine. */
export const UNDER_WINE = ON_WINDOWS && process.env.WINEPREFIX !== undefined;

/**
 * Appends from several processes to one file opened for appending land whole, as on
 * Windows (FILE_APPEND_DATA) and POSIX (O_APPEND). Not under Wine: there 4 writers of 2,500
 * lines each left 9,895 lines. Concurrent writers are covered there by the exclusive,
 * FileAppend-style appenders of test/windows/fileappend-stress.test.ts.
 */
export const SHARED_APPEND_IS_ATOMIC = !UNDER_WINE;

/**
 * Node's fetch (undici) can connect. Under Wine its connects fail ("connect UNKNOWN",
 * errno -4094) though node:http's and node:net's work; on real Windows it works.
 */
export const FETCH_CONNECTS = !UNDER_WINE;

/**
 * A folder can be linked to (a symlink on POSIX, a junction on Windows, which needs no
 * privilege there). Not under Wine: it refuses junctions with ENOTSUP.
 */
export const FOLDER_LINKS = !UNDER_WINE;
