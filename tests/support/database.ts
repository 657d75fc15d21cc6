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

  // A copy of the run's migrated template when there is one; through a pooler there is none, and the
  // migrations run through it (one transaction each). openDatabase still runs the migrator, which finds
  // nothing left to do on a copy.
  const template = migratedTemplate();
  const database = template ? await takeTemplateCopy(adminUrl, template) : await createServerDatabase('storefront_test');
  const orm = await openDatabase({ url: database.url, poolMode });
  return {
    orm,
    driver: 'postgresql',
    url: database.url,
    poolMode,
    async drop() {
      await orm.close(true);
      await database.drop();
    },
  };
}

/**
 * What a copy of the migrated template holds, to bring a used copy back to it: the tables
 * the tests write (all but the migrator's own), the rows the migrations put in them, and a
 * fingerprint of the schema. Read once per run from the template (global setup).
 */
export interface TemplateState {
  name: string;
  tables: string[];
  /** Per table, the rows the migrations inserted (e.g. catalog_state's one row), as JSON. */
  seedRows: Record<string, unknown[]>;
  schemaFingerprint: string;
}

const SCHEMA_FINGERPRINT = `
  select md5(string_agg(part, E'\n' order by part)) as fingerprint from (
    select format('column %s.%s %s %s %s', c.relname, a.attname, format_type(a.atttypid, a.atttypmod), a.attnotnull, pg_get_expr(d.adbin, d.adrelid)) as part
    from pg_attribute a join pg_class c on c.oid = a.attrelid left join pg_attrdef d on d.adrelid = a.attrelid and d.adnum = a.attnum
    where c.relnamespace = 'public'::regnamespace and a.attnum > 0 and not a.attisdropped
    union all select format('constraint %s %s', conname, pg_get_constraintdef(oid)) from pg_constraint where connamespace = 'public'::regnamespace
    union all select format('index %s', pg_get_indexdef(indexrelid)) from pg_index i join pg_class c on c.oid = i.indexrelid where c.relnamespace = 'public'::regnamespace
    union all select format('trigger %s', pg_get_triggerdef(oid)) from pg_trigger where not tgisinternal
    union all select format('function %s %s', proname, md5(prosrc)) from pg_proc where pronamespace = 'public'::regnamespace
    union all select format('database %s %s', datconnlimit, (select array_agg(setconfig) from pg_db_role_setting where setdatabase = pg_database.oid))
      from pg_database where datname = current_database()
  ) parts`;

/** Reads a freshly migrated database's TemplateState. */
export async function readTemplateState(url: string): Promise<TemplateState> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    const { rows } = await client.query<{ table: string }>(
      `select tablename as table from pg_tables where schemaname = 'public' and tablename <> 'mikro_orm_migrations' order by 1`,
    );
    const tables = rows.map((row) => row.table);
    const seedRows: Record<string, unknown[]> = {};
    for (const table of tables) {
      const { rows: [seed] } = await client.query<{ rows: unknown[] | null }>(`select json_agg(t) as rows from "${table}" t`);
      if (seed?.rows) seedRows[table] = seed.rows;
    }
    const { rows: [print] } = await client.query<{ fingerprint: string }>(SCHEMA_FINGERPRINT);
    return { name: new URL(url).pathname.slice(1), tables, seedRows, schemaFingerprint: print!.fingerprint };
  } finally {
    await client.end();
  }
}

/**
 * Copies of the template this worker made and got back, already reset. Creating a database
 * (WAL_LOG: every page of the template, system catalogs included) and dropping it cost
 * PostgreSQL about 0.35 s of CPU each; a file that follows another on the same worker gets
 * the previous file's copy instead, emptied and re-seeded in one transaction. The run's
 * global setup drops them all at the end (every name carries the run's tag).
 */
const spareCopies: string[] = [];

async function takeTemplateCopy(adminUrl: string, template: TemplateState): Promise<{ url: string; drop(): Promise<void> }> {
  const url = spareCopies.pop() ?? (await createServerDatabase(`storefront_test_${runTag()}`, template.name)).url;
  return {
    url,
    async drop() {
      if (await resetToTemplate(url, template)) spareCopies.push(url);
      else await onServer(adminUrl, `drop database if exists "${new URL(url).pathname.slice(1)}" with (force)`);
    },
  };
}

/**
 * Brings a used copy back to the template's state: nobody else connected, every table
 * emptied (identities restarted) and the migrations' rows put back, with triggers off so
 * that the emptying logs nothing. Answers false (the copy is then dropped) if the schema
 * no longer matches the template's, e.g. after a test that altered it failed half-way.
 */
async function resetToTemplate(url: string, template: TemplateState): Promise<boolean> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    await client.query(`select pg_terminate_backend(pid) from pg_stat_activity where datname = current_database() and pid <> pg_backend_pid()`);
    await client.query(`set lock_timeout = '5s'`);
    await client.query('begin');
    await client.query('set local session_replication_role = replica');
    await client.query(`truncate ${template.tables.map((table) => `"${table}"`).join(', ')} restart identity cascade`);
    for (const [table, rows] of Object.entries(template.seedRows)) {
      await client.query(`insert into "${table}" select * from json_populate_recordset(null::"${table}", $1)`, [JSON.stringify(rows)]);
    }
    await client.query('commit');
    const { rows: [print] } = await client.query<{ fingerprint: string }>(SCHEMA_FINGERPRINT);
    return print!.fingerprint === template.schemaFingerprint;
  } catch {
    return false;
  } finally {
    await client.end().catch(() => undefined);
  }
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
    /** The database holding every migration and nothing else (tests/support/global-setup.ts), or null without one. */
    migratedTemplate: TemplateState | null;
    /** Part of the name of every reusable database this run makes, so that its global teardown finds them all. */
    databaseRunTag: string;
  }
}

function migratedTemplate(): TemplateState | undefined {
  try {
    return inject('migratedTemplate') ?? undefined;
  } catch {
    // Outside a vitest run with that global setup (the pooler pass, the bench).
    return undefined;
  }
}

const runTag = (): string => inject('databaseRunTag');

/** Drops the reusable databases a run made (tests/support/global-setup.ts, at the end of the run). */
export async function dropRunDatabases(adminUrl: string, tag: string): Promise<void> {
  const admin = new pg.Client({ connectionString: adminUrl });
  await admin.connect();
  try {
    const { rows } = await admin.query<{ name: string }>(`select datname as name from pg_database where starts_with(datname, $1)`, [`storefront_test_${tag}_`]);
    for (const { name } of rows) await admin.query(`drop database if exists "${name}" with (force)`);
  } finally {
    await admin.end();
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
