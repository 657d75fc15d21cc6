import { defineConfig } from 'vitest/config';
import base from './vitest.config.js';

/**
 * `npm run test:pooler`: the contract-level tests a second time, with every test
 * database's ORM going through a real PgBouncer in transaction pooling mode
 * (DATABASE_POOL_MODE=transaction), started by the global setup in front of
 * TEST_DATABASE_URL's server.
 */
export default defineConfig({
  test: {
    ...base.test,
    globalSetup: ['tests/support/pgbouncer.global-setup.ts'],
    exclude: [
      '**/node_modules/**',
      // Processes and faults: spawned servers and TCP proxies, about process start-up and dead links, not SQL.
      'tests/server.test.ts',
      'tests/server.ready.test.ts',
      'tests/server.faults*.test.ts',
      'tests/server.replicas*.test.ts',
      'tests/outage*.test.ts',
      // The reference page in Chromium, against a spawned server: about the page, not SQL.
      'tests/docs.browser*.test.ts',
      // No database.
      'tests/config.test.ts',
      // The suite's reuse of template copies (tests/support/database.ts): the pooler pass has no template.
      'tests/test-databases.test.ts',
      // TypeScript compiling the client package and an OpenAPI-generated client: about types, not SQL (their
      // few calls go through procedures the other files run through the pooler).
      'tests/client-package.test.ts',
      'tests/openapi.generated-client.test.ts',
      // The direct connection's named prepared statements, read back from its session (pg_prepared_statements).
      'tests/db.pg-client.test.ts',
      // Starts PgBouncers of its own, in both modes.
      'tests/pooler*.test.ts',
    ],
  },
});
