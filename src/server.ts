import type { Server } from 'node:http';
import { createApp } from './app.js';
import { ConfigError, loadConfig, type AppConfig } from './config.js';
import { openDatabase, type Orm } from './db/orm.js';
import { seedDemoCatalog } from './db/seed.js';
import { createLogger } from './logger.js';
import { ensureAdminAccount } from './routers/auth/service.js';

const SHUTDOWN_GRACE_MS = 10_000;

function readConfig(): AppConfig {
  try {
    return loadConfig();
  } catch (error) {
    if (error instanceof ConfigError) {
      for (const problem of error.problems) console.error(problem);
      process.exit(1);
    }
    throw error;
  }
}

async function main(): Promise<void> {
  const config = readConfig();
  const logger = createLogger(config.logLevel);
  if (config.jwtSecretGenerated) {
    logger.warn('JWT_SECRET is not set: using a random secret for this process (tokens die with it)');
  }

  const orm: Orm = await openDatabase({ url: config.databaseUrl });
  await ensureAdminAccount(orm.em.fork(), config);
  if (config.seedDemoData) {
    const added = await seedDemoCatalog(orm.em.fork());
    if (added > 0) logger.info({ products: added }, 'seeded the demo catalog');
  }

  const app = createApp({ orm, config, logger });
  const server: Server = app.listen(config.port, () => {
    logger.info(
      { port: config.port, database: config.databaseUrl ? 'postgresql' : 'embedded (PGlite, ./.data)' },
      `Storefront API listening on http://localhost:${config.port} (docs at /docs)`,
    );
  });

  let stopping = false;
  const shutdown = (signal: string) => {
    if (stopping) return;
    stopping = true;
    logger.info({ signal }, 'shutting down: finishing in-flight requests');
    const forceClose = setTimeout(() => server.closeAllConnections(), SHUTDOWN_GRACE_MS);
    server.close(() => {
      clearTimeout(forceClose);
      orm
        .close()
        .then(() => {
          logger.info('stopped');
          process.exit(0);
        })
        .catch((error: unknown) => {
          logger.error({ err: error }, 'error while closing the database');
          process.exit(1);
        });
    });
    server.closeIdleConnections();
  };
  process.on('SIGTERM', () => shutdown('SIGTERM'));
  process.on('SIGINT', () => shutdown('SIGINT'));
}

main().catch((error: unknown) => {
  console.error('Startup failed:', error instanceof Error ? error.message : error);
  process.exit(1);
});
