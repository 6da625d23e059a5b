/**
 * Which program plays `schtasks.exe`. `BRIDGE_SCHTASKS` names another one: the tests point
 * it at a stub that records its arguments, so what would be registered is checked exactly
 * without touching the machine's Task Scheduler.
 */
import path from 'node:path';

/**
 * The program that plays schtasks: by its full path, since Windows looks in the current
 * folder first for a bare name.
 */
export function schtasksProgram(env: Record<string, string | undefined> = process.env): string {
  if (env.BRIDGE_SCHTASKS) return env.BRIDGE_SCHTASKS;
  const systemRoot = env.SystemRoot || env.SYSTEMROOT || env.windir;
  return systemRoot ? path.win32.join(systemRoot, 'System32', 'schtasks.exe') : 'schtasks.exe';
}
