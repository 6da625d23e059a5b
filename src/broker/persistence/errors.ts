/**
 * The one error type of the persistence layer. Callers branch on `code`, never on the
 * wording: phase 2 answers a QoS 1 publish whose append failed with -32004 and `reason`,
 * and refuses to start on `LOCKED`.
 */

/**
 * Why a persistence operation failed.
 * - System codes (`ENOSPC`, `EDQUOT`, `EACCES`, `EPERM`, `EROFS`, `EIO`, `EMFILE`,
 *   `ENFILE`, `EBUSY`, `ENOENT`, `ENOTDIR`, `EEXIST`, `EISDIR`) are passed through from the file system.
 * - `LOCKED`: another broker (or this process) holds the directory's lock.
 * - `CLOSED`: the journal was closed before or while the operation ran.
 * - `ENCODE`: the record cannot be serialised (it never reached the disk).
 * - `EOTHER`: any other system error; `systemCode` keeps the original code.
 */
export type PersistenceErrorCode =
  | 'ENOSPC'
  | 'EDQUOT'
  | 'EACCES'
  | 'EPERM'
  | 'EROFS'
  | 'EIO'
  | 'EMFILE'
  | 'ENFILE'
  | 'EBUSY'
  | 'ENOENT'
  | 'ENOTDIR'
  | 'EEXIST'
  | 'EISDIR'
  | 'LOCKED'
  | 'CLOSED'
  | 'ENCODE'
  | 'EOTHER';

const SYSTEM_CODES: ReadonlySet<string> = new Set([
  'ENOSPC', 'EDQUOT', 'EACCES', 'EPERM', 'EROFS', 'EIO', 'EMFILE', 'ENFILE', 'EBUSY', 'ENOENT', 'ENOTDIR', 'EEXIST', 'EISDIR',
]);

/** Plain words for the codes an operator meets, so the reason reads without a lookup. */
const WORDS: Readonly<Record<string, string>> = {
  ENOSPC: 'disk full',
  EDQUOT: 'disk quota exceeded',
  EACCES: 'permission denied',
  EPERM: 'operation not permitted',
  EROFS: 'read-only file system',
  EIO: 'I/O error',
  EMFILE: 'too many open files',
  ENFILE: 'too many open files in the system',
  EBUSY: 'file busy',
  ENOENT: 'no such file or directory',
  ENOTDIR: 'not a directory',
  EEXIST: 'file already exists',
  EISDIR: 'is a directory',
};

/** A failed persistence operation, with a machine-readable `code` and a one-line `reason`. */
export class PersistenceError extends Error {
  /** The file the failure concerns, when there is one. */
  readonly path: string | undefined;
  /** The errno code as the OS reported it (`code` maps unknown ones to `EOTHER`). */
  readonly systemCode: string | undefined;

  /**
   * @param code what went wrong (see {@link PersistenceErrorCode})
   * @param reason one line for an operator, naming the file and what was being done
   * @param options `path` the file involved; `systemCode` the original errno code; `cause`
   */
  constructor(
    readonly code: PersistenceErrorCode,
    readonly reason: string,
    options: { path?: string; systemCode?: string; cause?: unknown } = {},
  ) {
    super(reason, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'PersistenceError';
    this.path = options.path;
    this.systemCode = options.systemCode;
  }
}

/**
 * Wrap a file-system error: `action` says what was being done ("writing", "opening"),
 * `path` on which file. A PersistenceError passes through unchanged.
 */
export function persistenceError(err: unknown, action: string, path: string): PersistenceError {
  if (err instanceof PersistenceError) return err;
  const sys = (err as NodeJS.ErrnoException | null)?.code;
  const systemCode = typeof sys === 'string' ? sys : undefined;
  const code: PersistenceErrorCode = systemCode !== undefined && SYSTEM_CODES.has(systemCode) ? (systemCode as PersistenceErrorCode) : 'EOTHER';
  const what = systemCode !== undefined ? `${WORDS[systemCode] ?? 'error'} (${systemCode})` : (err as Error | null)?.message ?? String(err);
  return new PersistenceError(code, `${what} while ${action} ${path}`, { path, systemCode, cause: err });
}
