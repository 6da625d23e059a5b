/**
 * The files of a Windows-lane vitest log that Wine never started, relative to `root`, or
 * null when the run failed otherwise (see unstarted-files.mjs).
 */
export function unstartedFiles(log: string, root: string): string[] | null;
