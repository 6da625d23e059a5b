/**
 * CPU time and peak memory of another process, read from Linux /proc. Elsewhere every
 * reader returns null and the table prints n/a: the figures are only meaningful for the
 * broker process itself, which we cannot instrument from inside without changing src/.
 */
import { execFileSync } from 'node:child_process';
import { readFileSync, realpathSync } from 'node:fs';

const IS_LINUX = process.platform === 'linux';
let ticksPerSecond: number | null = null;

/** USER_HZ: the unit of utime/stime in /proc/<pid>/stat (100 on every common Linux build). */
function clockTicks(): number {
  if (ticksPerSecond === null) {
    try {
      const n = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8', timeout: 2000 }).trim());
      ticksPerSecond = Number.isInteger(n) && n > 0 ? n : 100;
    } catch {
      ticksPerSecond = 100;
    }
  }
  return ticksPerSecond;
}

/** CPU seconds (user + system, all threads) used so far by `pid`, or null. */
export function cpuSeconds(pid: number): number | null {
  if (!IS_LINUX) return null;
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // The command name (field 2) may contain spaces and parentheses: split after the last ')'.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    // fields[0] is field 3 (state), so utime (field 14) is fields[11] and stime fields[12].
    const utime = Number(fields[11]);
    const stime = Number(fields[12]);
    return Number.isFinite(utime) && Number.isFinite(stime) ? (utime + stime) / clockTicks() : null;
  } catch {
    return null;
  }
}

/** A `kB` field of /proc/<pid>/status in MiB, or null. */
function statusMB(pid: number, field: 'VmHWM' | 'VmRSS'): number | null {
  if (!IS_LINUX) return null;
  try {
    const m = new RegExp(`^${field}:\\s+(\\d+)\\s+kB`, 'm').exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) / 1024 : null;
  } catch {
    return null;
  }
}

/** Peak resident set size (VmHWM) of `pid` in MiB, or null. */
export const peakRssMB = (pid: number): number | null => statusMB(pid, 'VmHWM');

/** Current resident set size (VmRSS) of `pid` in MiB, or null. */
export const rssMB = (pid: number): number | null => statusMB(pid, 'VmRSS');

/**
 * The soft limit on open files (`ulimit -n`) of `pid` ('self' for this process), or null
 * where /proc cannot say; null also for "unlimited".
 */
export function openFilesLimit(pid: number | 'self'): number | null {
  if (!IS_LINUX) return null;
  try {
    const m = /^Max open files\s+(\d+)/m.exec(readFileSync(`/proc/${pid}/limits`, 'utf8'));
    return m ? Number(m[1]) : null;
  } catch {
    return null;
  }
}

/** True when the /proc figures can be read here; the table says n/a otherwise. */
export const procStatsAvailable = (): boolean => IS_LINUX;

/** CPU microseconds per event: a process at `cpuPct` % of one core handling `perSecond` events/s. */
export function cpuUsPerEvent(cpuPct: number | null, perSecond: number): number | null {
  return cpuPct !== null && perSecond > 0 ? (cpuPct / 100 / perSecond) * 1e6 : null;
}

/**
 * The file system type (ext4, tmpfs, ...) holding `dir`, from /proc/mounts, or null. An
 * fsync on tmpfs costs nothing, so a persisted figure means little without it.
 */
export function fsTypeOf(dir: string): string | null {
  if (!IS_LINUX) return null;
  try {
    dir = realpathSync(dir); // a symlinked temp folder lives where its target is
    let best: { at: string; type: string } | null = null;
    for (const line of readFileSync('/proc/mounts', 'utf8').split('\n')) {
      const [, at, type] = line.split(' ');
      if (at === undefined || type === undefined) continue;
      const mount = at.replace(/\\040/g, ' ');
      const inside = mount === '/' || dir === mount || dir.startsWith(mount + '/');
      if (inside && (best === null || mount.length >= best.at.length)) best = { at: mount, type };
    }
    return best?.type ?? null;
  } catch {
    return null;
  }
}
