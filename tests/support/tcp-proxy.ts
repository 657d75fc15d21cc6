import { connect, createServer, type AddressInfo, type Server, type Socket } from 'node:net';

/**
 * A loopback TCP proxy that can be cut (open connections reset, new ones refused),
 * stalled (new connections accepted but never answered), black-holed (every byte
 * in both directions silently dropped, sockets kept open) and restored on the same
 * port: a database outage on demand.
 */
export interface TcpProxy {
  readonly port: number;
  cut(): Promise<void>;
  stall(): void;
  /**
   * A network path that silently drops packets: open connections stay open but
   * nothing they send arrives either way, new connections are accepted and never
   * answered. Nobody is told: no reset, no close. `restore()` heals the path.
   */
  blackhole(): void;
  /**
   * A gate: new connections are accepted and held (what they send waits) until
   * `release()` lets them all through at the same moment — to make processes that
   * started at slightly different times meet the database together.
   */
  hold(): void;
  /** Resolves once `count` connections are held. */
  waitForHeld(count: number): Promise<void>;
  release(): void;
  restore(): Promise<void>;
  close(): Promise<void>;
}

export async function startTcpProxy(target: { host: string; port: number }): Promise<TcpProxy> {
  const sockets = new Set<Socket>();
  let server: Server | undefined;
  let port = 0;
  let stalled = false;
  let blackholed = false;
  let holding = false;
  const held: (() => void)[] = [];
  const heldWaiters = new Set<() => void>();

  /** Forwards `from` to `to` byte for byte, except while the path is black-holed: then the bytes are gone. */
  const forward = (from: Socket, to: Socket) =>
    from.on('data', (chunk: Buffer) => {
      if (!blackholed && !to.destroyed) to.write(chunk);
    });

  const listen = () =>
    new Promise<void>((resolve, reject) => {
      const listening = createServer((client) => {
        sockets.add(client);
        client.on('error', () => client.destroy());
        client.on('close', () => sockets.delete(client));
        if (stalled) return;
        if (blackholed) {
          // Accepted, then silence: what reaches us is dropped, and the database never hears of this client.
          client.on('data', () => {});
          return;
        }
        if (holding) {
          // No 'data' listener yet: what the client sends stays buffered in its socket until released.
          held.push(() => open(client));
          for (const check of heldWaiters) check();
          return;
        }
        open(client);
      });
      listening.once('error', reject);
      listening.listen(port, '127.0.0.1', () => {
        port = (listening.address() as AddressInfo).port;
        server = listening;
        resolve();
      });
    });

  const open = (client: Socket) => {
    if (client.destroyed) return;
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
    forward(client, upstream);
    forward(upstream, client);
  };

  const resetAll = () => {
    for (const socket of sockets) socket.resetAndDestroy();
    sockets.clear();
  };

  const cut = async () => {
    const listening = server;
    server = undefined;
    blackholed = false;
    resetAll();
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
      resetAll();
    },
    blackhole: () => {
      blackholed = true;
    },
    hold: () => {
      holding = true;
    },
    waitForHeld: (count) =>
      new Promise<void>((resolve) => {
        const check = () => {
          if (held.length < count) return;
          heldWaiters.delete(check);
          resolve();
        };
        heldWaiters.add(check);
        check();
      }),
    release: () => {
      holding = false;
      for (const start of held.splice(0)) start();
    },
    restore: async () => {
      if (stalled) {
        stalled = false;
        resetAll();
      }
      // Healing is only that: connections that lost bytes stay as broken as a real client would find them.
      blackholed = false;
      if (!server) await listen();
    },
    close: cut,
  };
}
