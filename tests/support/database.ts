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
  const database = template ? await takeTemplateCopy(template) : await createServerDatabase('storefront_test');
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

/**
 * Everything a test could change in a database besides its rows, as one hash: relations of
 * every user schema with their kind, persistence, options, row security and grants; columns
 * with type, default, storage, statistics target, identity and generation; constraints,
 * indexes (and whether valid), triggers (and whether enabled), rules, policies, extended
 * statistics, whole function definitions with their settings, views, types (enum labels
 * included), extensions, comments, large objects, and the database's own limit, settings
 * and grants. A copy whose hash differs from the template's is dropped, not reused.
 */
const SCHEMA_FINGERPRINT = `
  with user_ns as (
    select oid, nspname, nspacl from pg_namespace
    where nspname not in ('pg_catalog', 'information_schema', 'pg_toast') and nspname not like 'pg\\_%temp%'
  )
  select md5(string_agg(part, E'\n' order by part)) as fingerprint from (
    select format('schema %s %s', nspname, nspacl) as part from user_ns
    union all select format('relation %s.%s %s %s %s %s %s %s', n.nspname, c.relname, c.relkind, c.relpersistence, c.reloptions,
                  c.relrowsecurity, c.relforcerowsecurity, c.relacl)
    from pg_class c join user_ns n on n.oid = c.relnamespace
    union all select format('column %s.%s.%s %s %s %s %s %s %s %s', n.nspname, c.relname, a.attname, format_type(a.atttypid, a.atttypmod),
                  a.attnotnull, pg_get_expr(d.adbin, d.adrelid), a.attstorage, a.attstattarget, a.attidentity, a.attgenerated)
    from pg_attribute a join pg_class c on c.oid = a.attrelid join user_ns n on n.oid = c.relnamespace
    left join pg_attrdef d on d.adrelid = a.attrelid and d.adnum = a.attnum
    where a.attnum > 0 and not a.attisdropped
    union all select format('constraint %s %s %s', conrelid::regclass, conname, pg_get_constraintdef(oid)) from pg_constraint where connamespace in (select oid from user_ns)
    union all select format('index %s %s', pg_get_indexdef(i.indexrelid), i.indisvalid) from pg_index i join pg_class c on c.oid = i.indexrelid where c.relnamespace in (select oid from user_ns)
    union all select format('trigger %s %s', pg_get_triggerdef(oid), tgenabled) from pg_trigger where not tgisinternal
    union all select format('rule %s.%s %s', schemaname, rulename, definition) from pg_rules where schemaname in (select nspname from user_ns)
    union all select format('policy %s %s %s %s', polrelid::regclass, polname, pg_get_expr(polqual, polrelid), pg_get_expr(polwithcheck, polrelid)) from pg_policy
    union all select format('statistics %s', stxname) from pg_statistic_ext where stxnamespace in (select oid from user_ns)
    union all select format('function %s %s %s', p.oid::regprocedure, case when p.prokind in ('f', 'p') then md5(pg_get_functiondef(p.oid)) end, p.proconfig)
    from pg_proc p where p.pronamespace in (select oid from user_ns)
    union all select format('view %s %s', c.oid::regclass, md5(pg_get_viewdef(c.oid))) from pg_class c where c.relkind in ('v', 'm') and c.relnamespace in (select oid from user_ns)
    union all select format('type %s %s %s', t.oid::regtype, t.typtype, (select string_agg(enumlabel, ',' order by enumsortorder) from pg_enum e where e.enumtypid = t.oid))
    from pg_type t where t.typnamespace in (select oid from user_ns) and t.typtype in ('e', 'd', 'r', 'm')
    union all select format('extension %s %s', extname, extversion) from pg_extension
    union all select format('comment %s %s %s %s', classoid::regclass, objoid, objsubid, description) from pg_description where objoid >= 16384
    union all select format('large objects %s', count(*)) from pg_largeobject_metadata
    union all select format('database %s %s %s', datconnlimit, datacl, (select array_agg(setconfig) from pg_db_role_setting where setdatabase = pg_database.oid))
      from pg_database where datname = current_database()
  ) parts`;

/** The SCHEMA_FINGERPRINT of the database a client is connected to (in its current transaction, if one is open). */
export async function schemaFingerprint(client: pg.Client): Promise<string> {
  const { rows: [print] } = await client.query<{ fingerprint: string }>(SCHEMA_FINGERPRINT);
  return print!.fingerprint;
}

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
    return { name: new URL(url).pathname.slice(1), tables, seedRows, schemaFingerprint: await schemaFingerprint(client) };
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
const spareCopies: ServerDatabase[] = [];

async function takeTemplateCopy(template: TemplateState): Promise<ServerDatabase> {
  const copy = spareCopies.pop() ?? (await createServerDatabase(`storefront_test_${runTag()}`, template.name));
  let returned = false;
  return {
    url: copy.url,
    async drop() {
      // Once: a second drop() must not hand the same database to two later files.
      if (returned) return;
      returned = true;
      if (await resetToTemplate(copy.url, template)) spareCopies.push(copy);
      else await copy.drop();
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
    return (await schemaFingerprint(client)) === template.schemaFingerprint;
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
/** A database on TEST_DATABASE_URL's server, and how to drop it. */
export interface ServerDatabase {
  url: string;
  drop(): Promise<void>;
}

export async function createServerDatabase(prefix: string, template?: string): Promise<ServerDatabase> {
  const adminUrl = serverUrl();
  if (!adminUrl) throw new Error('a PostgreSQL database needs TEST_DATABASE_URL');
  const name = `${prefix}_${Date.now().toString(36)}_${randomBytes(4).toString('hex')}`;
  await onServer(adminUrl, template ? `create database "${name}" template "${template}"` : `create database "${name}"`);
  const url = new URL(adminUrl);
  url.pathname = `/${name}`;
  return { url: url.toString(), drop: () => onServer(adminUrl, `drop database if exists "${name}" with (force)`) };
}
