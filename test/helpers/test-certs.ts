/** A throwaway CA and a server certificate it signs, for TLS tests, made with openssl. */
import { execFileSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import path from 'node:path';

export interface TestCerts {
  ca: string;
  cert: string;
  key: string;
}

/**
 * Files `<name>-ca.pem`, `<name>-server.pem` and `<name>-server.key` in `dir`. The
 * certificate names 127.0.0.1 and localhost (nats.js checks a loopback address against
 * localhost).
 */
export function makeCerts(dir: string, name: string): TestCerts {
  const f = (n: string): string => path.join(dir, `${name}-${n}`);
  const run = (...args: string[]): void => void execFileSync('openssl', args, { stdio: 'ignore' });
  run('req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-days', '1', '-subj', `/CN=${name} test CA`, '-keyout', f('ca.key'), '-out', f('ca.pem'));
  run('req', '-newkey', 'rsa:2048', '-nodes', '-subj', '/CN=127.0.0.1', '-keyout', f('server.key'), '-out', f('server.csr'));
  writeFileSync(f('ext.cnf'), 'subjectAltName=IP:127.0.0.1,DNS:localhost\n');
  run('x509', '-req', '-in', f('server.csr'), '-CA', f('ca.pem'), '-CAkey', f('ca.key'), '-CAcreateserial', '-days', '1', '-extfile', f('ext.cnf'), '-out', f('server.pem'));
  return { ca: f('ca.pem'), cert: f('server.pem'), key: f('server.key') };
}
