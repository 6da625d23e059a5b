/**
 * Last-moment work when the bridge process ends without stopping its scripts (an uncaught
 * exception): one `process.on('exit')` listener for every running script, not one each.
 * A listener per script made Node warn (MaxListenersExceededWarning) from the eleventh
 * script on, a warning about a leak that was none; raising the limit would hide a real one.
 */

/** What runs at exit: synchronous (nothing async runs in 'exit'), and must not throw. */
export type ExitHook = () => void;

const hooks = new Set<ExitHook>();

/** The one 'exit' listener: every hook runs, even when one of them throws. */
function runHooks(): void {
  for (const hook of hooks) {
    try {
      hook();
    } catch (err) {
      // The process is ending: no logger can be trusted any more, but the error is still
      // said, and the remaining scripts still get their hook.
      process.stderr.write(`bridge: a script's exit hook failed: ${err instanceof Error ? err.message : String(err)}\n`);
    }
  }
}

/**
 * Run `hook` if the bridge process exits while it is registered. Returns the function that
 * unregisters it (call it once the script has ended). The 'exit' listener is added with
 * the first hook and removed with the last.
 */
export function onBridgeExit(hook: ExitHook): () => void {
  if (hooks.size === 0) process.on('exit', runHooks);
  hooks.add(hook);
  return () => {
    if (!hooks.delete(hook)) return;
    if (hooks.size === 0) process.off('exit', runHooks);
  };
}
