import { once } from 'node:events';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MikroORM } from '@mikro-orm/sql';
import { ormOptions, TIME_LIMITS } from '../src/db/orm.js';
import { CallbackQueryClient, type DatabaseTimeLimits } from '../src/db/pg-client.js';
import { toAppError } from '../src/error-mapping.js';
import { createTestDatabase, serverUrl, type TestDatabase } from './support/database.js';

/**
 * The time limits behind "dead database paths" (issue 8 §4), one by one, on the
 * pool's own client: what happens when each one is hit. Short limits keep the
 * tests short; the ORM's real ones are checked as configured.
 */
describe.skipIf(!serverUrl())('time limits on PostgreSQL connections', () => {
  let db: TestDatabase;
  beforeAll(async () => {
    db = await createTestDatabase();
  });
  afterAll(() => db.drop());

  const failureOf = (work: Promise<unknown>) =>
    work.then(
      () => {
        throw new Error('expected a failure');
      },
      (error: unknown) => error as Error & { code?: string },
    );

  it("sets the server-side limits inside each of the ORM's transactions, and only there", async () => {
    const em = db.orm.em.fork();
    const inside = await em.transactional(async (tem) => ({
      statement: await tem.execute<{ statement_timeout: string }[]>('show statement_timeout'),
      idle: await tem.execute<{ idle_in_transaction_session_timeout: string }[]>('show idle_in_transaction_session_timeout'),
    }));
    expect(inside.statement[0]!.statement_timeout).toBe(`${TIME_LIMITS.statementTimeoutMillis / 1000}s`);
    expect(inside.idle[0]!.idle_in_transaction_session_timeout).toBe(`${TIME_LIMITS.idleInTransactionTimeoutMillis / 1000}s`);
    // SET LOCAL: nothing stays behind on the connection (correct behind a transaction pooler, too).
    expect(await em.execute('show statement_timeout')).toEqual([{ statement_timeout: '0' }]);
  });

  it('bounds the wait for a pooled connection: with every connection taken, the next query fails (a 503) instead of queueing for ever', async () => {
    const orm = await MikroORM.init({ ...ormOptions({ url: db.url }), pool: { min: 0, max: 1 } });
    let release!: () => void;
    const held = new Promise<void>((resolve) => (release = resolve));
    try {
      let holding!: () => void;
      const taken = new Promise<void>((resolve) => (holding = resolve));
      const holder = orm.em.fork().transactional(async (tem) => {
        await tem.execute('select 1');
        holding();
        await held;
      });
      await taken;
      const failure = await failureOf(orm.em.fork().execute('select 1'));
      expect(failure.message).toMatch(/timeout exceeded when trying to connect/);
      expect(toAppError(failure).code).toBe('SERVICE_UNAVAILABLE');
      release();
      await holder;
    } finally {
      release();
      await orm.close(true);
    }
  });

  describe('on a client with short limits', () => {
    const limits: DatabaseTimeLimits = { statementTimeoutMillis: 300, idleInTransactionTimeoutMillis: 400, transactionTimeoutMillis: 1_000 };
    const openClient = async (extra: pg.ClientConfig = {}) => {
      const client = new CallbackQueryClient({ connectionString: db.url, timeLimits: limits, ...extra });
      client.on('error', () => {}); // a destroyed connection also reports on the client; the query's rejection is what we check
      await client.connect();
      return client;
    };

    it('cancels a statement over the limit inside a transaction (57014, a 503) and the connection stays usable', async () => {
      const client = await openClient();
      try {
        await client.query('begin');
        const failure = await failureOf(client.query('select pg_sleep(5)'));
        expect(failure.code).toBe('57014');
        expect(toAppError(failure).code).toBe('SERVICE_UNAVAILABLE');
        await client.query('rollback');
        expect((await client.query('select 1 as one')).rows).toEqual([{ one: 1 }]);
      } finally {
        await client.end();
      }
    });

    it('lets the server end a transaction its client left idle (25P03)', async () => {
      const client = await openClient();
      const ended = new Promise((resolve) => client.once('end', resolve));
      await client.query('begin');
      await client.query('select 1');
      // The client goes silent inside its transaction: the server ends the session and the client sees it end.
      await ended;
      const failure = await failureOf(client.query('select 1'));
      expect(toAppError(failure).code).toBe('SERVICE_UNAVAILABLE');
    });

    it('drops the connection of a transaction still open past its deadline (the server rolls it back)', async () => {
      const client = await openClient();
      await client.query('begin');
      await client.query(`create temporary table left_open (n int)`);
      // Each statement is within its own limit; together they outlast the transaction's.
      const failure = await failureOf(
        (async () => {
          for (;;) await client.query('select pg_sleep(0.2)');
        })(),
      );
      expect(failure.code).toBe('DATABASE_TIMEOUT');
      expect(failure.message).toMatch(/transaction still open/);
      expect(toAppError(failure).code).toBe('SERVICE_UNAVAILABLE');
    });

    it('destroys a connection whose query got no answer in time, so the pool discards it instead of reusing it', async () => {
      const pool = new pg.Pool({ connectionString: db.url, Client: CallbackQueryClient, query_timeout: 300, max: 1 } as pg.PoolConfig);
      // As MikroORM does: a connection lost while checked out is reported on its client; the query's rejection says it all.
      pool.on('connect', (client) => client.on('error', () => {}));
      try {
        const removed = once(pool, 'remove');
        // As Kysely (under MikroORM) uses the pool: check out, query in the promise form, release without an error.
        const client = await pool.connect();
        const failure = await failureOf(client.query('select pg_sleep(3)'));
        client.release();
        expect(failure.code).toBe('DATABASE_TIMEOUT');
        expect(toAppError(failure).code).toBe('SERVICE_UNAVAILABLE');
        await removed;
        expect(pool.totalCount).toBe(0);
        // The next query gets a fresh connection, not the one still waiting for pg_sleep.
        expect((await pool.query('select 2 as two')).rows).toEqual([{ two: 2 }]);
      } finally {
        await pool.end();
      }
    });
  });
});
