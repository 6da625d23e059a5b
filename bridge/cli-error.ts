/**
 * An error the CLI reports as one line on stderr with exit code 1: what went wrong and
 * what to do about it, never a stack trace.
 */
export class CliError extends Error {
  constructor(
    message: string,
    readonly exitCode = 1,
  ) {
    super(message);
    this.name = 'CliError';
  }
}
