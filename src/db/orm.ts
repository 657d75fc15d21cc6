import { mkdirSync } from 'node:fs';
import path from 'node:path';
import type { Configuration } from '@mikro-orm/core';
import { defineConfig, MikroORM } from '@mikro-orm/sql';
import { Migrator } from '@mikro-orm/migrations';
import { PgliteDriver } from '@mikro-orm/pglite';
import { PostgreSqlDriver } from '@mikro-orm/postgresql';
import type { AbstractSqlDriver, SqlEntityManager } from '@mikro-orm/sql';
import type { DatabasePoolMode } from '../config.js';
import { entities } from '../entities/index.js';
import { CallbackQueryClient, type DatabaseTimeLimits } from './pg-client.js';
import { withStartupLock } from './startup-lock.js';

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
  /** DATABASE_POOL_MODE: `transaction` behind a transaction-pooling proxy (contract §11). Default `session`. */
  poolMode?: DatabasePoolMode | undefined;
  /** `false`: no per-statement or per-transaction time limits (start-up work only). */
  timeLimits?: false;
  /**
   * How long a request waits for PostgreSQL before it fails: DATABASE_WAITS unless given. Only tests of
   * dead network paths shorten them, so that their outages last seconds rather than the production bound.
   */
  waits?: DatabaseWaits;
}

/** The client-side waits that bound a request on a dead network path (see DATABASE_WAITS). */
export interface DatabaseWaits {
  /** Opening a connection, or waiting for a pooled one. */
  connectTimeoutMillis: number;
  /** One statement's answer. */
  queryTimeoutMillis: number;
}

/**
 * Where the pool mode travels with the ORM: a key of the driver options, so every
 * ORM built from ormOptions() carries its own (two apps in one process may differ),
 * and statement code reads it from the EntityManager it already has. pg passes
 * unknown options through to its clients, which ignore them.
 */
const POOL_MODE_OPTION = 'storefrontPoolMode';

/** The pool mode the ORM behind `em` was opened with. */
export function poolModeOf(em: Em): DatabasePoolMode {
  const driverOptions: Record<string, unknown> = em.config.get('driverOptions');
  return driverOptions[POOL_MODE_OPTION] === 'transaction' ? 'transaction' : 'session';
}

/**
 * Connection (startup) parameters that set session state on the server. PgBouncer
 * refuses a connection that sends one it does not track ("unsupported startup
 * parameter") unless its ignore_startup_parameters lists it, and then drops it, so
 * behind a transaction pooler they are not sent at all: set such limits on the
 * database role instead (`alter role … set statement_timeout = …`), which applies
 * to every server connection the pooler opens.
 */
const SESSION_STARTUP_PARAMETERS = ['options', 'statement_timeout', 'lock_timeout', 'idle_in_transaction_session_timeout'] as const;

export function withoutSessionStartupParameters<Options extends object>(driverOptions: Options): Options {
  const kept = { ...driverOptions } as Record<string, unknown>;
  for (const parameter of SESSION_STARTUP_PARAMETERS) delete kept[parameter];
  return kept as Options;
}

/**
 * How long the application waits for PostgreSQL before a request fails with 503
 * (README, "Running it in production"). A request that meets a dead network path
 * ends after at most connectTimeoutMillis (waiting for a pooled connection, or
 * opening one) plus queryTimeoutMillis (its statement): 11 s. The connect bound stays at
 * 5 s: on a loaded host, opening a PostgreSQL connection (a forked backend) can take seconds.
 */
export const DATABASE_WAITS: DatabaseWaits = { connectTimeoutMillis: 5_000, queryTimeoutMillis: 6_000 };
export const TIME_LIMITS: DatabaseTimeLimits = {
  // Below the client's queryTimeoutMillis, so a slow statement is cancelled by the server (locks released, a clear
  // 57014) before the client would give up on its connection.
  statementTimeoutMillis: 5_000,
  idleInTransactionTimeoutMillis: 10_000,
  // Checkout, the longest transaction, takes milliseconds; this only ends transactions that are stuck.
  transactionTimeoutMillis: 15_000,
};
/** Idle pooled connections are probed after this long, so sockets a dead path took are noticed and dropped. */
const KEEPALIVE_DELAY_MS = 10_000;

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
    // The catalog change log, its bookkeeping row and the triggers that write them live in migrations only
    // (no entity mirrors them).
    schemaGenerator: { skipTables: ['catalog_state', 'catalog_change'], ignoreTriggers: true },
    debug: target.debug ?? false,
  };

  // Both drivers share the SQL stack; typing them as the common base lets the choice happen at runtime.
  const driver: new (config: Configuration) => AbstractSqlDriver = target.url ? PostgreSqlDriver : PgliteDriver;
  if (target.url) {
    const waits = target.waits ?? DATABASE_WAITS;
    const driverOptions = {
      // A database that stops answering must fail requests (503) rather than hold them and the pool forever:
      // connectionTimeoutMillis bounds both opening a connection and waiting for a free one (pg-pool).
      connectionTimeoutMillis: waits.connectTimeoutMillis,
      keepAlive: true,
      keepAliveInitialDelayMillis: KEEPALIVE_DELAY_MS,
      ...(target.timeLimits === false ? {} : { query_timeout: waits.queryTimeoutMillis, timeLimits: TIME_LIMITS }),
      Client: CallbackQueryClient,
    };
    const poolMode = target.poolMode ?? 'session';
    return defineConfig<AbstractSqlDriver>({
      ...common,
      driver,
      clientUrl: target.url,
      pool: { min: 0, max: 10 },
      driverOptions: {
        ...(poolMode === 'transaction' ? withoutSessionStartupParameters(driverOptions) : driverOptions),
        [POOL_MODE_OPTION]: poolMode,
      },
    });
  }
  const dataDir = target.embeddedDir ?? EMBEDDED_DATA_DIR;
  if (!dataDir.startsWith('memory:')) mkdirSync(path.dirname(dataDir), { recursive: true });
  return defineConfig<AbstractSqlDriver>({ ...common, driver, dbName: dataDir });
}

/** Start-up work that must run once per database, not once per process: the admin account, the demo catalog. */
export type Bootstrap = (em: Em) => Promise<void>;

async function migrateAndBootstrap(orm: Orm, bootstrap: Bootstrap | undefined): Promise<void> {
  await orm.migrator.up();
  await bootstrap?.(orm.em.fork());
}

/**
 * Opens the ORM and brings the schema up to date (contract §11: migrations run at
 * startup), then runs `bootstrap`.
 *
 * On PostgreSQL several replicas may start at once on one database: the
 * migrations and the bootstrap run under a cross-process lock (see
 * startup-lock.ts), on a short-lived pool of their own without the per-request
 * time limits — a migration may rewrite a large table, and a replica may wait its
 * turn behind another one's migrations. PGlite is one process by construction.
 */
export async function openDatabase(target: DatabaseTarget = {}, bootstrap?: Bootstrap): Promise<Orm> {
  if (!target.url) {
    const orm = await MikroORM.init(ormOptions(target));
    try {
      await migrateAndBootstrap(orm, bootstrap);
    } catch (error) {
      await orm.close(true);
      throw error;
    }
    return orm;
  }
  const url = target.url;
  const setup = await MikroORM.init(ormOptions({ ...target, timeLimits: false }));
  try {
    await withStartupLock({ connectionString: url, connectionTimeoutMillis: DATABASE_WAITS.connectTimeoutMillis, keepAlive: true }, () =>
      migrateAndBootstrap(setup, bootstrap),
    );
  } finally {
    await setup.close(true);
  }
  return MikroORM.init(ormOptions(target));
}
