import { randomBytes } from 'node:crypto';
import pg from 'pg';
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
  drop(): Promise<void>;
}

export const serverUrl = (): string | undefined => process.env.TEST_DATABASE_URL || process.env.DATABASE_URL || undefined;

export async function createTestDatabase(): Promise<TestDatabase> {
  const adminUrl = serverUrl();
  if (!adminUrl) {
    const orm = await openDatabase({ embeddedDir: 'memory://' });
    return { orm, driver: 'pglite', url: undefined, drop: () => orm.close(true) };
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
  const orm = await openDatabase({ url: url.toString() });
  return {
    orm,
    driver: 'postgresql',
    url: url.toString(),
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
