import { startPgBouncer } from './pgbouncer.js';

/**
 * For vitest.pooler.config.ts: one PgBouncer (transaction pooling) in front of the
 * test server for the whole run. The test workers inherit this process's
 * environment, so TEST_DATABASE_URL and DATABASE_POOL_MODE reach every test
 * database's ORM (tests/support/database.ts) and every app config (harness.ts).
 */
export async function setup(): Promise<() => Promise<void>> {
  const upstreamUrl = process.env.TEST_DATABASE_URL || process.env.DATABASE_URL;
  if (!upstreamUrl) throw new Error('npm run test:pooler needs TEST_DATABASE_URL: the PostgreSQL server to put PgBouncer in front of');
  // Fewer server connections than a test's pool (10) holds clients: they must share them.
  const pgbouncer = await startPgBouncer({ upstreamUrl, poolSize: 4 });
  process.env.TEST_DATABASE_URL = pgbouncer.through(upstreamUrl);
  process.env.DATABASE_POOL_MODE = 'transaction';
  console.log(`PgBouncer (transaction pooling) on port ${pgbouncer.port} in front of ${new URL(upstreamUrl).host}`);
  return () => pgbouncer.stop();
}
