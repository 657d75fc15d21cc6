import { mkdirSync } from 'node:fs';
import path from 'node:path';
import type { Configuration } from '@mikro-orm/core';
import { defineConfig, MikroORM } from '@mikro-orm/sql';
import { Migrator } from '@mikro-orm/migrations';
import { PgliteDriver } from '@mikro-orm/pglite';
import { PostgreSqlDriver } from '@mikro-orm/postgresql';
import type { AbstractSqlDriver, SqlEntityManager } from '@mikro-orm/sql';
import { entities } from '../entities/index.js';
import { CallbackQueryClient } from './pg-client.js';

export type Orm = MikroORM<AbstractSqlDriver>;
export type Em = SqlEntityManager<AbstractSqlDriver>;

// Both hold under tsx (src/db) and in the compiled build (dist/db): one level below the project root.
const projectRoot = path.resolve(import.meta.dirname, '../..');
// Beside this module: the .ts sources under tsx, their compiled .js in the build.
const migrationsDir = path.resolve(import.meta.dirname, '../migrations');
/** Where the embedded database keeps its files when DATABASE_URL is unset. */
export const EMBEDDED_DATA_DIR = path.join(projectRoot, '.data/pglite');

export interface DatabaseTarget {
  /** A PostgreSQL URL; when absent the embedded PGlite is used. */
  url?: string | undefined;
  /** PGlite data directory, or `memory://` for a throwaway in-memory database. */
  embeddedDir?: string;
  debug?: boolean;
}

/**
 * One configuration for both drivers: same entities, same migrations. Typed as
 * AbstractSqlDriver so the driver can be picked at runtime.
 */
export function ormOptions(target: DatabaseTarget = {}) {
  const common = {
    entities,
    extensions: [Migrator],
    migrations: {
      path: migrationsDir,
      pathTs: migrationsDir,
      glob: '!(*.d).{js,ts}',
      // Shared by both drivers; without a snapshot `migration:create` diffs against the live schema.
      snapshot: false,
      transactional: true,
      allOrNothing: true,
      silent: true,
    },
    // The catalog version table and the triggers that bump it live in migrations only (no entity mirrors them).
    schemaGenerator: { skipTables: ['catalog_state'], ignoreTriggers: true },
    debug: target.debug ?? false,
  };

  // Both drivers share the SQL stack; typing them as the common base lets the choice happen at runtime.
  const driver: new (config: Configuration) => AbstractSqlDriver = target.url ? PostgreSqlDriver : PgliteDriver;
  if (target.url) {
    return defineConfig<AbstractSqlDriver>({
      ...common,
      driver,
      clientUrl: target.url,
      pool: { min: 0, max: 10 },
      driverOptions: {
        // A database that stops answering must fail requests (503) rather than hold them and the pool forever.
        connectionTimeoutMillis: 5000,
        Client: CallbackQueryClient,
      },
    });
  }
  const dataDir = target.embeddedDir ?? EMBEDDED_DATA_DIR;
  if (!dataDir.startsWith('memory:')) mkdirSync(path.dirname(dataDir), { recursive: true });
  return defineConfig<AbstractSqlDriver>({ ...common, driver, dbName: dataDir });
}

/** Opens the ORM and brings the schema up to date (contract §11: migrations run at startup). */
export async function openDatabase(target: DatabaseTarget = {}): Promise<Orm> {
  const orm = await MikroORM.init(ormOptions(target));
  try {
    await orm.migrator.up();
  } catch (error) {
    await orm.close(true);
    throw error;
  }
  return orm;
}
