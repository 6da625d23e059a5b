/**
 * The PEM files a federation link trusts and presents. They are read when the link is
 * made, before the broker listens: a path that cannot be read is the operator's to fix,
 * so it stops the start with a configuration error naming the file, where a link left to
 * retry would never connect and say only that the upstream is down.
 */
import { readFileSync } from 'node:fs';
import { ConfigError } from '../config-error.js';
import type { FederationSetting } from './federation-setting.js';

/** The files' contents, for the engine client's TLS options; a file not given is absent. */
export interface TlsPems {
  ca?: string;
  cert?: string;
  key?: string;
}

/** Read the files of a federation's `tls` setting (none for `null`). */
export function readTlsFiles(tls: FederationSetting['tls']): TlsPems {
  const pems: TlsPems = {};
  if (tls === null) return pems;
  for (const kind of ['ca', 'cert', 'key'] as const) {
    const file = tls[kind];
    if (file) pems[kind] = readPem(kind, file);
  }
  return pems;
}

function readPem(kind: keyof TlsPems, file: string): string {
  try {
    return readFileSync(file, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    throw new ConfigError(`federation tls ${kind} "${file}" cannot be read (${code ?? (err as Error).message}); give the path of a PEM file`, code);
  }
}
