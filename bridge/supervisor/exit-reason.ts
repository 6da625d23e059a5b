/**
 * Why a script ended. AutoHotkey's exit codes lie (docs/autohotkey.md): 0 after an unhandled
 * runtime error, 1 when anything TerminateProcess'd it, 2 for a load failure, so the
 * reason comes from what we asked for and what the script printed, not the code alone.
 */
import type { LoadError } from './line-protocol.js';

/**
 * `load_failure`: AutoHotkey reported a syntax or load error. `start_failure`: the script
 * could not be started at all (no interpreter, or the file is not executable).
 */
export type StopReason = 'clean_exit' | 'crash' | 'stopped' | 'load_failure' | 'start_failure';

export interface ExitFacts {
  exitCode: number | null;
  signal: string | null;
  /** We asked it to stop (stop request, Ctrl+C, restart). */
  stopRequested: boolean;
  /** A load error AutoHotkey printed on stderr (`path (line) : ==> message`). */
  loadError: LoadError | null;
  /** Bridge.ahk reported a runtime error on stderr before the end. */
  runtimeError: boolean;
  /** The process could not be started at all (no interpreter, ENOENT, EACCES). */
  spawnFailed?: boolean;
}

export function classifyExit(f: ExitFacts): StopReason {
  if (f.stopRequested) return 'stopped';
  if (f.spawnFailed) return 'start_failure';
  if (f.exitCode === 2 && f.loadError) return 'load_failure';
  if (f.exitCode === 0 && !f.signal && !f.runtimeError) return 'clean_exit';
  return 'crash';
}
