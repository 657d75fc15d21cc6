import { DriverException } from '@mikro-orm/core';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CallbackQueryClient } from '../src/db/pg-client.js';
import { queryPrepared } from '../src/db/prepared.js';
import { createTestDatabase, serverUrl } from './support/database.js';

/** The pool's client answers pg's promise, callback and submittable forms of query() alike. */
describe.skipIf(!serverUrl())('CallbackQueryClient (PostgreSQL)', () => {
  let client: CallbackQueryClient;
  beforeAll(async () => {
    client = new CallbackQueryClient({ connectionString: serverUrl()! });
    await client.connect();
  });
  afterAll(() => client.end());

  it('resolves the promise form with the result, parameters bound', async () => {
    const result = await client.query<{ n: number; word: string }>('select $1::int + 1 as n, $2::text as word', [41, 'hello']);
    expect(result.rows).toEqual([{ n: 42, word: 'hello' }]);
    expect(result.rowCount).toBe(1);
    expect(result.command).toBe('SELECT');
  });

  it('rejects the promise form with the database error and stays usable', async () => {
    const failure = await client.query('select * from no_such_table').catch((error: unknown) => error);
    expect(failure).toBeInstanceOf(Error);
    expect((failure as { code?: string }).code).toBe('42P01');
    expect((await client.query('select 1 as one')).rows).toEqual([{ one: 1 }]);
  });

  it('still calls back in the callback form and runs submittable queries', async () => {
    const viaCallback = await new Promise<pg.QueryResult>((resolve, reject) =>
      client.query('select 2 as two', [], (error, result) => (error ? reject(error) : resolve(result))),
    );
    expect(viaCallback.rows).toEqual([{ two: 2 }]);
    const submittable = new pg.Query('select 3 as three');
    const rows: unknown[] = [];
    submittable.on('row', (row: unknown) => rows.push(row));
    const ended = new Promise((resolve, reject) => {
      submittable.on('end', resolve);
      submittable.on('error', reject);
    });
    client.query(submittable);
    await ended;
    expect(rows).toEqual([{ three: 3 }]);
  });

  it('is the client of the PostgreSQL pool the ORM opens', async () => {
    const db = await createTestDatabase();
    try {
      const pool = (await db.orm.em.getConnection().getNativeClient()) as pg.Pool & { Client: unknown };
      expect(pool.Client).toBe(CallbackQueryClient);
      expect(await db.orm.em.fork().execute('select 1 as one')).toEqual([{ one: 1 }]);
    } finally {
      await db.drop();
    }
  });
});

describe.skipIf(!serverUrl())('queryPrepared (PostgreSQL)', () => {
  it('runs a statement as a named prepared statement on the pooled connection, values bound', async () => {
    const db = await createTestDatabase();
    try {
      const em = db.orm.em.fork();
      expect(await queryPrepared(em, 'select ?::int + 1 as n, ?::text as word', [41, "it's"])).toEqual([{ n: 42, word: "it's" }]);
      expect(await queryPrepared(em, 'select ?::int + 1 as n, ?::text as word', [1, 'again'])).toEqual([{ n: 2, word: 'again' }]);
      // Used one at a time, the pool holds a single connection: the one that prepared the statement.
      const pool = (await db.orm.em.getConnection().getNativeClient()) as pg.Pool;
      const prepared = await pool.query<{ statement: string }>('select statement from pg_prepared_statements');
      expect(prepared.rows.map((row) => row.statement)).toContain('select $1::int + 1 as n, $2::text as word');
    } finally {
      await db.drop();
    }
  });

  it('runs inside the transaction of a transactional EntityManager, seeing its uncommitted writes', async () => {
    const db = await createTestDatabase();
    try {
      await db.orm.em.fork().transactional(async (tem) => {
        await tem.execute(`update catalog_state set change_log_next_prune = 424242`);
        const rows = await queryPrepared<{ n: string }>(tem, 'select count(*)::text as n from catalog_state where change_log_next_prune = ?', [424242]);
        expect(rows).toEqual([{ n: '1' }]);
        throw new Error('roll back');
      }).catch((error: unknown) => expect((error as Error).message).toBe('roll back'));
      const after = await queryPrepared<{ n: string }>(db.orm.em.fork(), 'select count(*)::text as n from catalog_state where change_log_next_prune = ?', [424242]);
      expect(after).toEqual([{ n: '0' }]);
    } finally {
      await db.drop();
    }
  });

  it('prepares a statement on the transaction\'s own connection too, and converts its errors as the ORM does', async () => {
    const db = await createTestDatabase();
    try {
      await db.orm.em.fork().transactional(async (tem) => {
        const text = 'select ?::int * 2 as n, ?::text as word';
        expect(await queryPrepared(tem, text, [21, "it's"])).toEqual([{ n: 42, word: "it's" }]);
        // Same session: the transaction's connection now holds it, under a name, with $n placeholders (values bound, not inlined).
        const prepared = await tem.execute<{ name: string; statement: string }[]>('select name, statement from pg_prepared_statements');
        expect(prepared).toContainEqual({ name: expect.stringMatching(/^storefront_\d+$/), statement: 'select $1::int * 2 as n, $2::text as word' });
        await expect(queryPrepared(tem, 'select 1 / ?::int as n', [0])).rejects.toBeInstanceOf(DriverException);
        throw new Error('roll back');
      }).catch((error: unknown) => expect((error as Error).message).toBe('roll back'));
    } finally {
      await db.drop();
    }
  });
});
