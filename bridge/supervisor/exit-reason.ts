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
  /**
   * The reason Bridge.ahk's OnExit announced (`@pub exiting {"reason": ...}`), when it
   * did: AutoHotkey's own word on why the script ends. `Error` is a runtime error ending
   * it; any other (`Exit` for ExitApp or the end of the code, `Menu`, `Close`, ...) is the
   * script ending on purpose, whatever errors it handled and lived through before.
   */
  exitAnnounced?: string;
  /** The process could not be started at all (no interpreter, ENOENT, EACCES). */
  spawnFailed?: boolean;
}

export function classifyExit(f: ExitFacts): StopReason {
  if (f.stopRequested) return 'stopped';
  if (f.spawnFailed) return 'start_failure';
  if (f.exitCode === 2 && f.loadError) return 'load_failure';
  // An error the script lived through (a failed hotkey thread) does not make a later
  // ExitApp a crash: only AutoHotkey saying the script ends because of one does.
  const endedByError = f.exitAnnounced === undefined ? f.runtimeError : f.exitAnnounced === 'Error';
  if (f.exitCode === 0 && !f.signal && !endedByError) return 'clean_exit';
  return 'crash';
}
