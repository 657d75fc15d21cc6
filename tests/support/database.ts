import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { loadConfig, type DatabasePoolMode } from '../../src/config.js';
import { openDatabase, type Orm } from '../../src/db/orm.js';

/**
 * A fresh, migrated database for one test file: a new PostgreSQL database when
 * TEST_DATABASE_URL (or DATABASE_URL) points at a server, else an in-memory PGlite.
 * `drop()` removes it again, so tests never depend on leftovers.
 */
export interface TestDatabase {
  orm: Orm;
  driver: 'postgresql' | 'pglite';
  url: string | undefined;
  /** How the ORM was opened: `transaction` when the tests run behind a transaction pooler. */
  poolMode: DatabasePoolMode;
  drop(): Promise<void>;
}

export const serverUrl = (): string | undefined => process.env.TEST_DATABASE_URL || process.env.DATABASE_URL || undefined;

/**
 * DATABASE_POOL_MODE as the tests' ORMs use it: `transaction` when TEST_DATABASE_URL
 * goes through PgBouncer in transaction mode (`npm run test:pooler`).
 */
export const testPoolMode = (): DatabasePoolMode =>
  loadConfig({ DATABASE_POOL_MODE: process.env.DATABASE_POOL_MODE }).databasePoolMode;

export async function createTestDatabase(options: { poolMode?: DatabasePoolMode } = {}): Promise<TestDatabase> {
  const adminUrl = serverUrl();
  const poolMode = options.poolMode ?? testPoolMode();
  if (!adminUrl) {
    const orm = await openDatabase({ embeddedDir: 'memory://' });
    return { orm, driver: 'pglite', url: undefined, poolMode, drop: () => orm.close(true) };
  }

  const name = `storefront_test_${Date.now().toString(36)}_${randomBytes(4).toString('hex')}`;
  const admin = new pg.Client({ connectionString: adminUrl });
  await admin.connect();
  try {
    await admin.query(`create database "${name}"`);
  } finally {
    await admin.end();
  }
  const url = new URL(adminUrl);
  url.pathname = `/${name}`;
  // Through a pooler, the migrations run through it too (one transaction each).
  const orm = await openDatabase({ url: url.toString(), poolMode });
  return {
    orm,
    driver: 'postgresql',
    url: url.toString(),
    poolMode,
    async drop() {
      await orm.close(true);
      const cleanup = new pg.Client({ connectionString: adminUrl });
      await cleanup.connect();
      try {
        await cleanup.query(`drop database if exists "${name}" with (force)`);
      } finally {
        await cleanup.end();
      }
    },
  };
}
