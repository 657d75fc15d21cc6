import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { pino, type Logger } from 'pino';
import { createApp } from '../../src/app.js';
import { openDatabase, type DatabaseWaits, type Orm } from '../../src/db/orm.js';
import { createHarness, type Harness } from './harness.js';
import { startTcpProxy, type TcpProxy } from './tcp-proxy.js';

/**
 * The app served in-process on its own port, its ORM reaching the test database through a TCP
 * proxy that a test can cut, black-hole and restore (tests/support/tcp-proxy.ts). The harness
 * `h` reaches the same database directly, for set-up and checks that must not go through the
 * outage. PostgreSQL only: PGlite runs in-process and cannot go away.
 */
export interface ProxiedApp {
  h: Harness;
  proxy: TcpProxy;
  orm: Orm;
  baseUrl: string;
  close(): Promise<void>;
}

export async function startProxiedApp(options: { logger?: Logger; waits?: DatabaseWaits } = {}): Promise<ProxiedApp> {
  const h = await createHarness();
  const direct = new URL(h.db.url!);
  const proxy = await startTcpProxy({ host: direct.hostname, port: Number(direct.port || 5432) });
  const viaProxy = new URL(direct);
  viaProxy.hostname = '127.0.0.1';
  viaProxy.port = String(proxy.port);
  const orm = await openDatabase({ url: viaProxy.toString(), ...(options.waits && { waits: options.waits }) });
  const logger = options.logger ?? pino({ level: 'silent' });
  const server = await new Promise<Server>((resolve) => {
    const s = createApp({ orm, config: h.config, logger }).listen(0, '127.0.0.1', () => resolve(s));
  });
  return {
    h,
    proxy,
    orm,
    baseUrl: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    async close() {
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
      await proxy.restore();
      await orm.close(true);
      await proxy.close();
      await h.close();
    },
  };
}
