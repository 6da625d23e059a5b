/**
 * Binds the broker's TCP servers. `localhost` means both loopback addresses: many Windows
 * machines resolve `localhost` to ::1 first, and a broker on 127.0.0.1 alone would make
 * those clients wait for the IPv4 fallback or fail outright.
 */
import net from 'node:net';
import type { Logger } from '../log/logger.js';
import { addressesOf } from '../protocol/localhost.js';

export interface Listening {
  servers: net.Server[];
  port: number;
  /** The addresses actually bound. */
  addresses: string[];
}

function listenOne(host: string, port: number, onSocket: (s: net.Socket) => void): Promise<net.Server> {
  return new Promise((resolve, reject) => {
    const server = net.createServer({ noDelay: true, keepAlive: true }, onSocket);
    const onError = (err: Error): void => {
      server.close();
      reject(err);
    };
    server.once('error', onError);
    server.listen({ host, port, exclusive: true }, () => {
      server.off('error', onError);
      resolve(server);
    });
  });
}

const closeAll = (servers: net.Server[]): void => servers.forEach((s) => s.close());

/** Listen on every address `host` stands for, all on the same port. */
export async function listen(host: string, port: number, onSocket: (s: net.Socket) => void, log: Logger): Promise<Listening> {
  const hosts = addressesOf(host);
  for (let attempt = 0; ; attempt++) {
    const servers: net.Server[] = [];
    const addresses: string[] = [];
    let bound = port;
    try {
      for (const h of hosts) {
        try {
          const server = await listenOne(h, bound, onSocket);
          bound = (server.address() as net.AddressInfo).port;
          servers.push(server);
          addresses.push(h);
        } catch (err) {
          const code = (err as NodeJS.ErrnoException).code;
          // A machine without IPv6 still gets a working IPv4 loopback broker.
          if (h === '::1' && servers.length > 0 && (code === 'EADDRNOTAVAIL' || code === 'EAFNOSUPPORT')) {
            log.warning('IPv6 loopback unavailable; listening on IPv4 only', { code });
            continue;
          }
          throw err;
        }
      }
      return { servers, port: bound, addresses };
    } catch (err) {
      closeAll(servers);
      // With port 0 the second address can find "our" free port taken; pick another.
      if (port === 0 && (err as NodeJS.ErrnoException).code === 'EADDRINUSE' && attempt < 5) continue;
      throw err;
    }
  }
}
