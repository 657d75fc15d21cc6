import pg from 'pg';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { createTestDatabase, schemaFingerprint, serverUrl, type TestDatabase } from './support/database.js';

/**
 * The suite's own safety net (tests/support/database.ts): a worker hands a finished file's
 * database to its next file only if the schema fingerprint still equals the template's, so
 * every change a test could leave behind must move the fingerprint. Each change is made in
 * a transaction, fingerprinted, and rolled back.
 */
const CHANGES = [
  'alter table product disable trigger product_row_updated',
  'create schema other',
  'create table other_rows (a int)',
  "create type mood as enum ('calm')",
  'create view product_names as select name from product',
  "comment on table product is 'changed'",
  'alter table product set (fillfactor = 50)',
  'alter table product enable row level security',
  'alter table product alter column name set statistics 500',
  'alter table users drop constraint users_role_check',
  'create index product_stock_only on product (stock)',
  'create statistics product_name_category on name, category from product',
  "alter function log_catalog_rows_added() set work_mem = '1MB'",
  'grant select on product to public',
  'select lo_create(0)',
  "alter database {database} set work_mem = '2MB'",
];

// On PostgreSQL with the run's template (not the pooler pass, which migrates every database through PgBouncer).
const template = serverUrl() ? inject('migratedTemplate') : null;

describe.skipIf(!template)('reused test databases', () => {
  let db: TestDatabase;
  let client: pg.Client;
  beforeAll(async () => {
    db = await createTestDatabase();
    client = new pg.Client({ connectionString: db.url });
    await client.connect();
  });
  afterAll(async () => {
    await client?.end();
    await db?.drop();
  });

  it('start with the template schema', async () => {
    expect(await schemaFingerprint(client)).toBe(template!.schemaFingerprint);
  });

  it.each(CHANGES)('are not reused after: %s', async (change) => {
    await client.query('begin');
    try {
      await client.query(change.replace('{database}', `"${new URL(db.url!).pathname.slice(1)}"`));
      expect(await schemaFingerprint(client)).not.toBe(template!.schemaFingerprint);
    } finally {
      await client.query('rollback');
    }
  });
});
