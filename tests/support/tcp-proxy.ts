import { connect, createServer, type AddressInfo, type Server, type Socket } from 'node:net';

/**
 * A loopback TCP proxy that can be cut (open connections reset, new ones refused),
 * stalled (new connections accepted but never answered) and restored on the same
 * port: a database outage on demand.
 */
export interface TcpProxy {
  readonly port: number;
  cut(): Promise<void>;
  stall(): void;
  restore(): Promise<void>;
  close(): Promise<void>;
}

export async function startTcpProxy(target: { host: string; port: number }): Promise<TcpProxy> {
  const sockets = new Set<Socket>();
  let server: Server | undefined;
  let port = 0;
  let stalled = false;

  const listen = () =>
    new Promise<void>((resolve, reject) => {
      const listening = createServer((client) => {
        sockets.add(client);
        client.on('error', () => client.destroy());
        if (stalled) return;
        const upstream = connect(target.port, target.host);
        const drop = () => {
          client.destroy();
          upstream.destroy();
          sockets.delete(client);
          sockets.delete(upstream);
        };
        sockets.add(upstream);
        for (const socket of [client, upstream]) {
          socket.on('error', drop);
          socket.on('close', drop);
        }
        client.pipe(upstream).pipe(client);
      });
      listening.once('error', reject);
      listening.listen(port, '127.0.0.1', () => {
        port = (listening.address() as AddressInfo).port;
        server = listening;
        resolve();
      });
    });

  const cut = async () => {
    const listening = server;
    server = undefined;
    for (const socket of sockets) socket.resetAndDestroy();
    sockets.clear();
    if (listening) await new Promise<void>((resolve) => listening.close(() => resolve()));
  };

  await listen();
  return {
    get port() {
      return port;
    },
    cut,
    stall: () => {
      stalled = true;
      for (const socket of sockets) socket.resetAndDestroy();
      sockets.clear();
    },
    restore: async () => {
      if (stalled) {
        stalled = false;
        for (const socket of sockets) socket.resetAndDestroy();
        sockets.clear();
      }
      if (!server) await listen();
    },
    close: cut,
  };
}
