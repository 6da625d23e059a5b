/**
 * The package version, as a constant: nothing is read at import, and a bundled
 * `bridge.exe` (which has no package.json beside it) reports the same version.
 * A unit test keeps it equal to package.json's.
 */
export const VERSION = '0.1.0';
