/**
 * A configuration problem, with the source that caused it. `code` is the system error
 * code when the cause was one (`EADDRINUSE` for a port already taken), so callers branch
 * on it rather than on the wording.
 */
export class ConfigError extends Error {
  constructor(
    message: string,
    readonly code?: string,
  ) {
    super(message);
    this.name = 'ConfigError';
  }
}
