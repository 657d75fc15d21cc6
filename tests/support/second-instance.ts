import type { AddressInfo } from 'node:net';
import type { Server } from 'node:http';
import { MikroORM } from '@mikro-orm/sql';
import type { PgliteConnection } from '@mikro-orm/pglite';
import { pino } from 'pino';
import { createApp } from '../../src/app.js';
import { openDatabase, ormOptions, type Orm } from '../../src/db/orm.js';
import type { HttpHarness, TestResponse } from './harness.js';

/**
 * Another API process on the harness's database: its own ORM (own connection
 * pool, identity maps and in-process caches) and its own HTTP server, as a
 * second replica behind a load balancer would have. On PGlite, which cannot be
 * opened twice, the second ORM shares the first one's PGlite instance.
 */
export interface SecondInstance {
  baseUrl: string;
  request(path: string, init?: RequestInit & { token?: string; json?: unknown }): Promise<TestResponse>;
  close(): Promise<void>;
}

async function openSecondOrm(harness: HttpHarness): Promise<Orm> {
  const { db } = harness;
  if (db.url) return openDatabase({ url: db.url, poolMode: db.poolMode });
  const pglite = await (db.orm.em.getConnection() as unknown as PgliteConnection).getNativeClient();
  return MikroORM.init({ ...ormOptions({ embeddedDir: 'memory://' }), driverOptions: { pglite } });
}

export async function startSecondInstance(harness: HttpHarness): Promise<SecondInstance> {
  const orm = await openSecondOrm(harness);
  const app = createApp({ orm, config: harness.config, logger: pino({ level: 'silent' }) });
  const server: Server = await new Promise((resolve) => {
    const s = app.listen(0, '127.0.0.1', () => resolve(s));
  });
  const baseUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    baseUrl,
    async request(path, init = {}) {
      const headers = new Headers(init.headers);
      if (init.token) headers.set('Authorization', `Bearer ${init.token}`);
      const body = init.json === undefined ? init.body : JSON.stringify(init.json);
      if (init.json !== undefined) headers.set('Content-Type', 'application/json');
      const response = await fetch(`${baseUrl}${path}`, { ...init, headers, body });
      const text = await response.text();
      return { status: response.status, headers: response.headers, body: text ? JSON.parse(text) : undefined, text };
    },
    async close() {
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
      await orm.close();
    },
  };
}
