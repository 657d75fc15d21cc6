import type { AddressInfo } from 'node:net';
import type { Server } from 'node:http';
import pg from 'pg';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createApp } from '../src/app.js';
import type { DatabasePoolMode } from '../src/config.js';
import { createContextInner } from '../src/context/context.js';
import { openDatabase, withoutSessionStartupParameters, type Orm } from '../src/db/orm.js';
import { queryPrepared } from '../src/db/prepared.js';
import { createCaller } from '../src/routers/_app.js';
import { createTestDatabase, serverUrl } from './support/database.js';
import { createHttpHarness, testConfig, type HttpHarness } from './support/harness.js';
import { findPgBouncer, startPgBouncer, type PgBouncer } from './support/pgbouncer.js';

/**
 * DATABASE_POOL_MODE (contract §11): behind a transaction-pooling proxy such as
 * PgBouncer `pool_mode = transaction`, consecutive statements of one client
 * connection run on different server connections, shared with other clients, so
 * nothing may rely on session state: no named prepared statements, no session
 * startup parameters.
 */

const pgbouncerBinary = findPgBouncer();
if (serverUrl() && !pgbouncerBinary) {
  console.warn('tests/pooler.test.ts: pgbouncer is not installed (apt-get install -y pgbouncer): the tests through PgBouncer are skipped');
}

const PARALLEL_REQUESTS = 200;
/** PgBouncer's server connections per database: fewer than the app's pool (10) has clients. */
const SERVER_CONNECTIONS = 2;
const PRODUCTS = 30;

async function preparedStatementsOn(orm: Orm): Promise<string[]> {
  const pool = (await orm.em.getConnection().getNativeClient()) as pg.Pool;
  const { rows } = await pool.query<{ statement: string }>('select statement from pg_prepared_statements');
  return rows.map((row) => row.statement);
}

describe.skipIf(!serverUrl())('DATABASE_POOL_MODE on a direct PostgreSQL connection', () => {
  it('sends the catalog statements unnamed in transaction mode, and by name in session mode, per ORM in one process', async () => {
    const db = await createTestDatabase({ poolMode: 'transaction' });
    const sessionOrm = await openDatabase({ url: db.url!, poolMode: 'session' });
    try {
      const text = 'select ?::int * 2 as doubled /* pooler test */';
      const numbered = 'select $1::int * 2 as doubled /* pooler test */';
      expect(await queryPrepared(db.orm.em.fork(), text, [21])).toEqual([{ doubled: 42 }]);
      expect(await queryPrepared(db.orm.em.fork(), text, [4])).toEqual([{ doubled: 8 }]);
      expect(await queryPrepared(sessionOrm.em.fork(), text, [3])).toEqual([{ doubled: 6 }]);
      // Used one at a time, each pool holds one connection: the one its statements ran on.
      expect(await preparedStatementsOn(db.orm)).not.toContain(numbered);
      expect(await preparedStatementsOn(sessionOrm)).toContain(numbered);
    } finally {
      await sessionOrm.close();
      await db.drop();
    }
  });
});

describe.skipIf(!serverUrl() || !pgbouncerBinary)('behind a real PgBouncer in transaction pooling mode (skipped when pgbouncer is not installed)', () => {
  let h: HttpHarness;
  let pgbouncer: PgBouncer;
  const productIds: string[] = [];

  beforeAll(async () => {
    h = await createHttpHarness();
    const admin = (await h.createUser({ role: 'admin' })).token;
    for (let i = 0; i < PRODUCTS; i++) {
      const json = { name: `Pooled lamp ${i}`, description: i % 2 ? 'Brass reading lamp' : 'Steel desk lamp', category: 'lighting', price: 10 + i, stock: 5 };
      const res = await h.request('/api/products', { method: 'POST', token: admin, json });
      expect(res.status).toBe(201);
      productIds.push(res.body.id);
    }
    pgbouncer = await startPgBouncer({ upstreamUrl: serverUrl()!, poolSize: SERVER_CONNECTIONS });
  });
  afterAll(async () => {
    await pgbouncer?.stop();
    await h?.close();
  });

  /** An app process whose ORM reaches the harness's database through PgBouncer. */
  async function appThroughPgBouncer(poolMode: DatabasePoolMode) {
    const orm = await openDatabase({ url: pgbouncer.through(h.db.url!), poolMode });
    const config = testConfig({ DATABASE_POOL_MODE: poolMode });
    const app = createApp({ orm, config, logger: pino({ level: 'silent' }) });
    const server: Server = await new Promise((resolve) => {
      const s = app.listen(0, '127.0.0.1', () => resolve(s));
    });
    const pool = (await orm.em.getConnection().getNativeClient()) as pg.Pool;
    // pg-pool discards a client whose query failed, so the count is sampled as clients connect.
    let peakClients = pool.totalCount;
    pool.on('connect', () => (peakClients = Math.max(peakClients, pool.totalCount)));
    return {
      orm,
      config,
      baseUrl: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
      /** The most client connections the app's pool held open to PgBouncer at once. */
      clientConnections: () => peakClients,
      async close() {
        server.closeAllConnections();
        await new Promise((resolve) => server.close(resolve));
        await orm.close();
      },
    };
  }

  /** Request i of the load: a catalog page, a search or a product, each checked against what it must return. */
  function catalogRead(i: number): { path: string; check(body: any): void } { // eslint-disable-line @typescript-eslint/no-explicit-any -- JSON bodies
    const id = productIds[i % PRODUCTS]!;
    switch (i % 3) {
      case 0: {
        const page = 1 + (i % 5);
        return {
          path: `/api/products?page=${page}&limit=6&sort=price_asc`,
          check: (body) => {
            expect(body.total).toBe(PRODUCTS);
            expect(body.items.map((p: { price: number }) => p.price)).toEqual([0, 1, 2, 3, 4, 5].map((k) => 10 + (page - 1) * 6 + k));
          },
        };
      }
      case 1:
        return {
          path: `/api/products/search?q=${i % 2 ? 'brass' : 'steel'}&page=1&limit=100`,
          check: (body) => expect(body.total).toBe(PRODUCTS / 2),
        };
      default:
        return { path: `/api/products/${id}`, check: (body) => expect(body.id).toBe(id) };
    }
  }

  async function parallelLoad(baseUrl: string) {
    return Promise.all(
      Array.from({ length: PARALLEL_REQUESTS }, async (_, i) => {
        const read = catalogRead(i);
        const response = await fetch(`${baseUrl}${read.path}`);
        const body = (await response.json()) as unknown;
        return { status: response.status, body, read };
      }),
    );
  }

  const countByStatus = (results: { status: number }[]) =>
    results.reduce<Record<number, number>>((counts, { status }) => ({ ...counts, [status]: (counts[status] ?? 0) + 1 }), {});

  it(`answers ${PARALLEL_REQUESTS} parallel list, search and detail requests over HTTP, all 200 and right, in transaction mode`, async () => {
    const app = await appThroughPgBouncer('transaction');
    try {
      const results = await parallelLoad(app.baseUrl);
      expect(countByStatus(results)).toEqual({ 200: PARALLEL_REQUESTS });
      for (const { read, body } of results) read.check(body);
      // The premise: more client connections than server connections, so they were shared.
      expect(app.clientConnections()).toBeGreaterThan(SERVER_CONNECTIONS);
    } finally {
      await app.close();
    }
  });

  it(`answers ${PARALLEL_REQUESTS} parallel procedure calls (createCaller) in transaction mode`, async () => {
    const app = await appThroughPgBouncer('transaction');
    try {
      const caller = () => createCaller(createContextInner({ em: app.orm.em.fork(), config: app.config, user: undefined }));
      const results = await Promise.all(
        Array.from({ length: PARALLEL_REQUESTS }, async (_, i) => {
          const id = productIds[i % PRODUCTS]!;
          if (i % 3 === 0) return (await caller().products.list({ page: 1 + (i % 5), limit: 6 })).total === PRODUCTS;
          if (i % 3 === 1) return (await caller().products.search({ q: 'lamp', page: 1, limit: 5 })).total === PRODUCTS;
          return (await caller().products.byId({ id })).id === id;
        }),
      );
      expect(results.filter((right) => !right)).toEqual([]);
      expect(app.clientConnections()).toBeGreaterThan(SERVER_CONNECTIONS);
    } finally {
      await app.close();
    }
  });

  it('fails in session mode, whose named prepared statements collide on shared server connections (the test can fail)', async () => {
    const app = await appThroughPgBouncer('session');
    try {
      const results = await parallelLoad(app.baseUrl);
      expect(app.clientConnections()).toBeGreaterThan(SERVER_CONNECTIONS);
      expect(results.filter(({ status }) => status >= 500).length).toBeGreaterThan(0);
    } finally {
      await app.close();
    }
  });

  it('refuses session startup parameters, which transaction mode does not send', async () => {
    const url = pgbouncer.through(h.db.url!);
    const withTimeout = new pg.Client({ connectionString: url, statement_timeout: 5000 });
    await expect(withTimeout.connect()).rejects.toThrow(/unsupported startup parameter/);
    await withTimeout.end().catch(() => undefined);

    const stripped = new pg.Client(withoutSessionStartupParameters({ connectionString: url, statement_timeout: 5000, options: '-c lock_timeout=1000' }));
    await stripped.connect();
    try {
      expect((await stripped.query('select 1 as one')).rows).toEqual([{ one: 1 }]);
    } finally {
      await stripped.end();
    }
  });
});
