import pg from 'pg';

/** One lock for all start-up work of this application on a database (64-bit key, computed by the server). */
const LOCK_KEY_SQL = `hashtextextended('storefront-api: start-up (migrations, admin account, demo catalog)', 0)`;

/**
 * Runs `work` while holding a PostgreSQL advisory lock that every process of this
 * application takes before its start-up work, so replicas starting together on
 * an empty database migrate and seed one after another instead of racing
 * (duplicate tables, duplicate admin accounts).
 *
 * The lock is a transaction-level one (`pg_advisory_xact_lock`) held by a
 * dedicated connection that keeps its transaction open while `work` runs on the
 * ORM's own pool:
 * - transaction-level, because behind a transaction-pooling PgBouncer a session
 *   lock is held by whichever server connection ran that one statement, which then
 *   serves other clients (they would "hold" it, and the unlock could land
 *   elsewhere); an open transaction keeps its server connection;
 * - not inside the migrations' own transaction, because MikroORM's migrator
 *   creates its bookkeeping table before and outside that transaction — the very
 *   statement that races.
 * A process that dies, or whose connection dies, releases the lock with it.
 */
export async function withStartupLock<T>(connection: pg.ClientConfig, work: () => Promise<T>): Promise<T> {
  const client = new pg.Client(connection);
  // A connection error while we wait is also reported to the pending query; this listener only keeps it from crashing.
  client.on('error', () => {});
  await client.connect();
  try {
    // Waiting behind another replica, and the work itself, may take long: no server-side limit applies to this transaction.
    await client.query('begin; set local statement_timeout = 0; set local idle_in_transaction_session_timeout = 0');
    await client.query(`select pg_advisory_xact_lock(${LOCK_KEY_SQL})`);
    return await work();
  } finally {
    // A connection that cannot roll back is dead: drop it rather than wait for a goodbye that never comes.
    await client.query('rollback').then(
      () => client.end(),
      () => client.connection.stream.destroy(),
    );
  }
}
