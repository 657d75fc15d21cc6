import type { Server, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { ConfigError, loadConfig, type AppConfig } from './config.js';
import type { Bootstrap, Orm } from './db/orm.js';
import { createLogger, endLogOutput, type Logger } from './logger.js';

const SHUTDOWN_GRACE_MS = 10_000;
/** How long startup waits for an unreachable database (e.g. one starting next to us) before giving up. */
const DATABASE_WAIT_MS = 30_000;

/** Set once the configuration is read; until then there is no log to flush. */
let log: Logger | undefined;
/** How long an exit waits for the log to drain (a reader that stopped reading must not keep a dying process). */
const LOG_FLUSH_MS = 2_000;

/**
 * Exits once every log line written so far is out. pino writes to stdout
 * asynchronously (sonic-boom), so a bare process.exit() can drop the last lines —
 * the ones that say why the process stopped.
 */
function exitAfterFlush(code: number): void {
  if (!log) process.exit(code);
  setTimeout(() => process.exit(code), LOG_FLUSH_MS).unref();
  endLogOutput(log, () => process.exit(code));
}

/** Startup failures are one line on stderr: operators read them in `docker logs`, not a stack trace. */
let failed = false;
function fail(message: string): void {
  // One failure can be reported twice (Express's listen callback and the server's 'error' event): one line.
  if (failed) return;
  failed = true;
  const line = message.replace(/\s*\n\s*/g, ' ');
  console.error(line);
  log?.fatal(line);
  exitAfterFlush(1);
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
async function openDatabaseWhenReachable(config: AppConfig, logger: Logger, bootstrap: Bootstrap): Promise<Orm> {
  const [{ openDatabase }, { toAppError }] = await Promise.all([import('./db/orm.js'), import('./error-mapping.js')]);
  const giveUpAt = Date.now() + DATABASE_WAIT_MS;
  for (let attempt = 1; ; attempt++) {
    try {
      return await openDatabase({ url: config.databaseUrl, poolMode: config.databasePoolMode }, bootstrap);
    } catch (error) {
      const unreachable = toAppError(error).code === 'SERVICE_UNAVAILABLE';
      const pause = Math.min(500 * attempt, 5_000);
      if (!unreachable || Date.now() + pause > giveUpAt) throw error;
      logger.warn({ attempt, reason: error instanceof Error ? error.message : String(error) }, 'database not reachable yet, retrying');
      await sleep(pause);
    }
  }
}

/** What startup has opened so far, for a shutdown that may come at any point of it. */
interface Started {
  orm?: Orm;
  server?: Server;
}

/**
 * SIGTERM and SIGINT: stop listening, let the requests in flight finish (for at
 * most SHUTDOWN_GRACE_MS), close the database, then exit 0 once the log is out.
 */
function stopOnSignals(logger: Logger, started: Started) {
  let stopping = false;
  // Responses still being produced: told to close their connection so keep-alive clients do not hold the exit.
  const inFlight = new Set<ServerResponse>();
  const closeDatabaseAndExit = () => {
    (started.orm ? started.orm.close() : Promise.resolve())
      .then(() => {
        logger.info('stopped');
        exitAfterFlush(0);
      })
      .catch((error: unknown) => {
        logger.error({ err: error }, 'error while closing the database');
        exitAfterFlush(1);
      });
  };
  const shutdown = (signal: string) => {
    if (stopping) return;
    stopping = true;
    logger.info({ signal }, 'shutting down: finishing in-flight requests');
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
  return {
    begun: () => stopping,
    track(server: Server) {
      server.on('request', (_req, res: ServerResponse) => {
        inFlight.add(res);
        res.on('close', () => inFlight.delete(res));
      });
    },
  };
}

async function main(): Promise<void> {
  const config = readConfig();
  // The serving modules load only once the settings are valid: loading them takes ~0.35 s of CPU
  // (ORM, tRPC, every schema), and a misconfigured process should say so at once (~0.1 s).
  const [{ createApp }, { seedDemoCatalog }, { startMetricsServer }, { createHttpServer }, { ensureAdminAccount }] = await Promise.all([
    import('./app.js'),
    import('./db/seed.js'),
    import('./metrics/server.js'),
    import('./rest/http-server.js'),
    import('./routers/auth/service.js'),
  ]);
  const logger = createLogger(config.logLevel);
  log = logger;
  if (config.jwtSecretGenerated) {
    logger.warn('JWT_SECRET is not set: using a random secret for this process (tokens die with it)');
  }

  const started: Started = {};
  const shutdown = stopOnSignals(logger, started);

  // Once per database, not per process: replicas starting together take turns (openDatabase).
  const bootstrap: Bootstrap = async (em) => {
    await ensureAdminAccount(em.fork(), config);
    if (config.seedDemoData) {
      const added = await seedDemoCatalog(em.fork());
      if (added > 0) logger.info({ products: added }, 'seeded the demo catalog');
    }
  };
  let orm: Orm;
  try {
    orm = await openDatabaseWhenReachable(config, logger, bootstrap);
  } catch (error) {
    return fail(`Startup failed: the database could not be opened: ${error instanceof Error ? error.message : String(error)}`);
  }
  started.orm = orm;
  if (shutdown.begun()) return;

  const server = createHttpServer(createApp({ orm, config, logger }), config);
  started.server = server;
  shutdown.track(server);
  // Listening fails with an 'error' event (port taken, no permission).
  server.on('error', (error) => fail(`Startup failed: cannot listen on port ${config.port}: ${error.message}`));
  server.listen(config.port, () => {
    const { port } = server.address() as AddressInfo;
    logger.info(
      { port, database: config.databaseUrl ? 'postgresql' : 'embedded (PGlite, ./.data)' },
      `Storefront API listening on http://localhost:${port} (docs at /docs)`,
    );
  });

  if (config.metricsPort !== undefined) {
    const metricsPort = config.metricsPort;
    await startMetricsServer({ port: metricsPort, orm }).catch((error: unknown) =>
      fail(`Startup failed: cannot listen on METRICS_PORT ${metricsPort}: ${error instanceof Error ? error.message : String(error)}`),
    );
    logger.info({ port: metricsPort }, `Prometheus metrics on http://localhost:${metricsPort}/metrics`);
  }
}

main().catch((error: unknown) => fail(`Startup failed: ${error instanceof Error ? error.message : String(error)}`));
