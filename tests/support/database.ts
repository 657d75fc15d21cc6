import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { inject } from 'vitest';
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

  // A copy of the run's migrated template when there is one (file copy, no migrations to replay); through a
  // pooler there is none, and the migrations run through it (one transaction each). openDatabase still runs
  // the migrator, which finds nothing left to do on a copy.
  const created = await createServerDatabase('storefront_test', migratedTemplate());
  const orm = await openDatabase({ url: created.url, poolMode });
  return {
    orm,
    driver: 'postgresql',
    url: created.url,
    poolMode,
    async drop() {
      await orm.close(true);
      await created.drop();
    },
  };
}

/** The admin connection for one statement: creating and dropping databases cannot run in a transaction. */
async function onServer(adminUrl: string, statement: string): Promise<void> {
  const admin = new pg.Client({ connectionString: adminUrl });
  await admin.connect();
  try {
    await admin.query(statement);
  } finally {
    await admin.end();
  }
}

declare module 'vitest' {
  export interface ProvidedContext {
    /** A database holding every migration and nothing else (tests/support/global-setup.ts), or '' without one. */
    migratedTemplate: string;
  }
}

function migratedTemplate(): string | undefined {
  try {
    return inject('migratedTemplate') || undefined;
  } catch {
    // Outside a vitest run with that global setup (the pooler pass, the bench).
    return undefined;
  }
}

/**
 * A new database on TEST_DATABASE_URL's server, with a unique name — empty, or a copy of
 * `template` — and how to drop it (forcibly: a test that failed half-way may leave
 * connections behind).
 */
export async function createServerDatabase(prefix: string, template?: string): Promise<{ url: string; drop(): Promise<void> }> {
  const adminUrl = serverUrl();
  if (!adminUrl) throw new Error('a PostgreSQL database needs TEST_DATABASE_URL');
  const name = `${prefix}_${Date.now().toString(36)}_${randomBytes(4).toString('hex')}`;
  await onServer(adminUrl, template ? `create database "${name}" template "${template}"` : `create database "${name}"`);
  const url = new URL(adminUrl);
  url.pathname = `/${name}`;
  return { url: url.toString(), drop: () => onServer(adminUrl, `drop database if exists "${name}" with (force)`) };
}
