import { PostgreSqlConnection } from '@mikro-orm/postgresql';
import { poolModeOf, type Em } from './orm.js';

/** A statement text as sent: its name (the same on every pooled connection) and `$n` placeholders. */
interface PreparedStatement {
  name: string | undefined;
  text: string;
}

const statements = new Map<string, PreparedStatement>();
/** Each distinct text is one prepared statement per connection; past this, texts run unnamed. */
const MAX_PREPARED_STATEMENTS = 500;

/**
 * Runs a read-only statement (`?` placeholders, as for `em.execute`) as a named
 * prepared statement on PostgreSQL, so that each pooled connection parses and
 * plans it once instead of on every request: MikroORM sends every statement
 * unnamed, with its values inlined. For the catalog's page read, pgbench
 * measured 11k statements per second that way and 21k prepared.
 *
 * Inside a transaction, and on the embedded PGlite (one in-process connection),
 * it goes through the EntityManager as usual. Statements are still written to
 * the ORM's query log.
 *
 * Behind a transaction-pooling proxy (DATABASE_POOL_MODE=transaction) the pooled
 * connection is not one server connection: each statement may run on another,
 * shared with other clients, so a name prepared on one is missing on the next
 * ("prepared statement … does not exist") or already taken there ("… already
 * exists"). There the same text goes unnamed (parsed and planned per execution,
 * values still bound rather than inlined).
 */
export async function queryPrepared<Row>(em: Em, text: string, values: readonly unknown[]): Promise<Row[]> {
  const connection = em.getConnection();
  if (!(connection instanceof PostgreSqlConnection) || em.isInTransaction()) return em.execute<Row[]>(text, [...values]);

  const statement = statements.get(text) ?? toPrepared(text);
  const name = poolModeOf(em) === 'session' ? statement.name : undefined;
  const pool = await connection.getNativeClient();
  const started = Date.now();
  const result = await pool.query<Row & object>({ name, text: statement.text, values: [...values] });
  em.config.getLogger().logQuery({ query: statement.text, params: values, took: Date.now() - started, results: result.rowCount ?? 0, level: 'info' });
  return result.rows;
}

function toPrepared(text: string): PreparedStatement {
  let position = 0;
  const numbered = text.replace(/\?/g, () => `$${++position}`);
  if (statements.size >= MAX_PREPARED_STATEMENTS) return { name: undefined, text: numbered };
  const statement = { name: `storefront_${statements.size + 1}`, text: numbered };
  statements.set(text, statement);
  return statement;
}
