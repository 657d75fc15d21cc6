import type { Server, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { createApp } from './app.js';
import { ConfigError, loadConfig, type AppConfig } from './config.js';
import { openDatabase, type Orm } from './db/orm.js';
import { seedDemoCatalog } from './db/seed.js';
import { toAppError } from './error-mapping.js';
import { createLogger, type Logger } from './logger.js';
import { answerEdgeErrorsInEnvelope } from './rest/client-error.js';
import { ensureAdminAccount } from './routers/auth/service.js';

const SHUTDOWN_GRACE_MS = 10_000;
/** How long startup waits for an unreachable database (e.g. one starting next to us) before giving up. */
const DATABASE_WAIT_MS = 30_000;

/** Startup failures are one line on stderr: operators read them in `docker logs`, not a stack trace. */
function fail(message: string): never {
  console.error(message.replace(/\s*\n\s*/g, ' '));
  process.exit(1);
}

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

/**
 * Opens the database and applies pending migrations. A database that cannot be
 * reached yet is retried with growing pauses for up to DATABASE_WAIT_MS; any
 * other failure (wrong credentials, missing database, a failing migration) is final.
 */
async function openDatabaseWhenReachable(config: AppConfig, logger: Logger): Promise<Orm> {
  const giveUpAt = Date.now() + DATABASE_WAIT_MS;
  for (let attempt = 1; ; attempt++) {
    try {
      return await openDatabase({ url: config.databaseUrl });
    } catch (error) {
      const unreachable = toAppError(error).code === 'SERVICE_UNAVAILABLE';
      const pause = Math.min(500 * attempt, 5_000);
      if (!unreachable || Date.now() + pause > giveUpAt) throw error;
      logger.warn({ attempt, reason: error instanceof Error ? error.message : String(error) }, 'database not reachable yet, retrying');
      await sleep(pause);
    }
  }
}

async function main(): Promise<void> {
  const config = readConfig();
  const logger = createLogger(config.logLevel);
  if (config.jwtSecretGenerated) {
    logger.warn('JWT_SECRET is not set: using a random secret for this process (tokens die with it)');
  }

  // Filled in as startup proceeds; a signal may arrive at any point of it.
  const started: { orm?: Orm; server?: Server } = {};
  let stopping = false;
  // Responses still being produced: told to close their connection so keep-alive clients do not hold the exit.
  const inFlight = new Set<ServerResponse>();
  const shutdown = (signal: string) => {
    if (stopping) return;
    stopping = true;
    logger.info({ signal }, 'shutting down: finishing in-flight requests');
    const closeDatabaseAndExit = () => {
      (started.orm ? started.orm.close() : Promise.resolve())
        .then(() => {
          logger.info('stopped');
          process.exit(0);
        })
        .catch((error: unknown) => {
          logger.error({ err: error }, 'error while closing the database');
          process.exit(1);
        });
    };
    const listening = started.server;
    if (!listening) return closeDatabaseAndExit();
    for (const res of inFlight) if (!res.headersSent) res.setHeader('Connection', 'close');
    const forceClose = setTimeout(() => listening.closeAllConnections(), SHUTDOWN_GRACE_MS);
    listening.close(() => {
      clearTimeout(forceClose);
      closeDatabaseAndExit();
    });
    listening.closeIdleConnections();
  };
  process.on('SIGTERM', () => shutdown('SIGTERM'));
  process.on('SIGINT', () => shutdown('SIGINT'));

  const orm = await openDatabaseWhenReachable(config, logger).catch((error: unknown) =>
    fail(`Startup failed: the database could not be opened: ${error instanceof Error ? error.message : String(error)}`),
  );
  started.orm = orm;
  await ensureAdminAccount(orm.em.fork(), config);
  if (config.seedDemoData) {
    const added = await seedDemoCatalog(orm.em.fork());
    if (added > 0) logger.info({ products: added }, 'seeded the demo catalog');
  }
  if (stopping) return;

  const app = createApp({ orm, config, logger });
  // Express 5 calls back with the error when listening fails (port taken, no permission).
  const server = app.listen(config.port, (error?: Error) => {
    if (error) fail(`Startup failed: cannot listen on port ${config.port}: ${error.message}`);
    const { port } = server.address() as AddressInfo;
    logger.info(
      { port, database: config.databaseUrl ? 'postgresql' : 'embedded (PGlite, ./.data)' },
      `Storefront API listening on http://localhost:${port} (docs at /docs)`,
    );
  });
  started.server = server;
  answerEdgeErrorsInEnvelope(server);
  server.on('request', (_req, res: ServerResponse) => {
    inFlight.add(res);
    res.on('close', () => inFlight.delete(res));
  });
  server.on('error', (error) => fail(`Startup failed: cannot listen on port ${config.port}: ${error.message}`));
}

main().catch((error: unknown) => fail(`Startup failed: ${error instanceof Error ? error.message : String(error)}`));
