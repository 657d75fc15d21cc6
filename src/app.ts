import { readFileSync } from 'node:fs';
import type { IncomingMessage } from 'node:http';
import path from 'node:path';
import type { AnyTRPCRouter } from '@trpc/server';
import express, { type ErrorRequestHandler, type RequestHandler } from 'express';
import type { AppConfig } from './config.js';
import { createContextFactory } from './context/context.js';
import type { Orm } from './db/orm.js';
import { failureLogFields, toAppError } from './error-mapping.js';
import { AppError } from './errors.js';
import type { Logger } from './logger.js';
import { httpMetrics } from './metrics/http.js';
import { corsForApp } from './rest/cors.js';
import { mountDocs } from './rest/docs-page.js';
import { sendError } from './rest/error-envelope.js';
import { onlyMethods, rejectAmbiguousPaths, routeNotFound } from './rest/fallbacks.js';
import { createRestHandler } from './rest/handler.js';
import { jsonBody } from './rest/json-body.js';
import { buildOpenApiDocument } from './rest/openapi.js';
import { mountProbes } from './rest/probes.js';
import { strictQueryEncoding } from './rest/query-encoding.js';
import { requestId } from './rest/request-id.js';
import { requestLog } from './rest/request-log.js';
import { mountTrpc } from './rest/trpc-endpoint.js';
import { appRouter } from './routers/_app.js';

export interface AppDeps {
  orm: Orm;
  config: AppConfig;
  logger: Logger;
  /** The procedures to serve; tests of the HTTP layer pass their own. */
  router?: AnyTRPCRouter;
}

const { version } = JSON.parse(readFileSync(path.resolve(import.meta.dirname, '../package.json'), 'utf8')) as {
  version: string;
};

/**
 * Query strings are parsed into arrays of strings so that the REST adapter keeps
 * empty values (`?limit=`) and repeated parameters visible to validation
 * instead of silently dropping or merging them.
 */
function parseQueryString(query: string): Record<string, string[]> {
  const parsed: Record<string, string[]> = Object.create(null) as Record<string, string[]>;
  for (const [key, value] of new URLSearchParams(query)) (parsed[key] ??= []).push(value);
  return parsed;
}

/**
 * HTTP/1.1 requests must name their Host (RFC 9112 §3.2). Node's own check
 * answers a bare 400 before the app runs; `answerEdgeErrorsInEnvelope` turns it
 * off so that the same rule is applied here, with the envelope.
 */
const requireHost: RequestHandler = (req, res, next) => {
  if (req.headers.host !== undefined || req.httpVersion !== '1.1') return next();
  res.setHeader('Connection', 'close');
  sendError(res, new AppError('VALIDATION_ERROR', 'The Host header is required', [{ field: 'Host', message: 'Required' }]), res.locals.requestId);
};

export function createApp({ orm, config, logger, router = appRouter }: AppDeps): express.Express {
  const app = express();
  app.disable('x-powered-by');
  app.set('trust proxy', config.trustProxy);
  app.set('query parser', parseQueryString);

  // Request counts and latencies for /metrics (METRICS_PORT); nothing is measured without a scraper.
  if (config.metricsPort !== undefined) app.use(httpMetrics(router));
  app.use(requestId);
  app.use(requireHost);
  const log = requestLog(logger);
  if (log) app.use(log);
  app.use(corsForApp(config.corsOrigins));
  app.use(rejectAmbiguousPaths);

  mountProbes(app, orm);
  const openApiDocument = buildOpenApiDocument(router, { version });
  app.get('/api/openapi.json', (_req, res) => {
    res.json(openApiDocument);
  });
  app.all('/api/openapi.json', onlyMethods('GET'));
  mountDocs(app, openApiDocument);

  const createContext = createContextFactory({ orm, config });
  const logServerError = (error: unknown, req: IncomingMessage) =>
    logger.error({ ...failureLogFields(error), requestId: (req as express.Request).res?.locals.requestId }, 'request failed');
  mountTrpc(app, { router, createContext, logServerError });
  const restHandler = createRestHandler(router, createContext, logServerError);
  app.use('/api', strictQueryEncoding, jsonBody);
  app.use((req, res, next) => (req.path.startsWith('/api/') ? restHandler(req, res, next) : next()));

  app.use((_req, res) => routeNotFound(res));
  const errorHandler: ErrorRequestHandler = (error, req, res, _next) => {
    const appError = toAppError(error);
    if (appError.status >= 500) logServerError(error, req);
    if (res.headersSent) return res.end();
    sendError(res, appError, res.locals.requestId);
  };
  app.use(errorHandler);

  return app;
}
