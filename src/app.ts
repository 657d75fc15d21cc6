import { readFileSync } from 'node:fs';
import type { IncomingMessage } from 'node:http';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import type { AnyTRPCProcedure, AnyTRPCRouter } from '@trpc/server';
import { createExpressMiddleware } from '@trpc/server/adapters/express';
import express, { type ErrorRequestHandler, type RequestHandler } from 'express';
import { pinoHttp } from 'pino-http';
import swaggerUi from 'swagger-ui-express';
import type { AppConfig } from './config.js';
import { createContextFactory, requestScope } from './context/context.js';
import type { Orm } from './db/orm.js';
import { failureLogFields, toAppError } from './error-mapping.js';
import { AppError, databaseUnavailable, methodNotAllowed, notFound } from './errors.js';
import type { Logger } from './logger.js';
import { allowHeader, createRestHandler } from './rest/handler.js';
import { jsonBody, MAX_BODY_BYTES, trpcBody } from './rest/json-body.js';
import { strictQueryEncoding } from './rest/query-encoding.js';
import { buildOpenApiDocument } from './rest/openapi.js';
import { docsPage } from './rest/docs-page.js';
import { requestId } from './rest/request-id.js';
import { httpMetrics } from './metrics/http.js';
import { errorHeaders, JSON_CONTENT_TYPE, sendError } from './rest/error-envelope.js';
import { corsForApp } from './rest/cors.js';
import { appRouter } from './routers/_app.js';
import { MAX_BATCH_CALLS } from './trpc.js';

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

const onlyMethods =
  (...allowed: string[]): RequestHandler =>
  (req, res) =>
    sendError(res, methodNotAllowed(req.method, allowHeader(allowed)), res.locals.requestId);

const routeNotFound = (res: express.Response) => sendError(res, notFound('Route'), res.locals.requestId);

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

function decodedOrUndefined(path: string): string | undefined {
  try {
    return decodeURIComponent(path);
  } catch {
    return undefined;
  }
}

/**
 * The methods tRPC serves for the procedures a /trpc path names (queries GET,
 * mutations POST; a batch names several), or undefined when one of them does
 * not exist. Read the way tRPC reads it: URL-decoded, split on `,` for `?batch=1`.
 */
function trpcMethodsOf(router: AnyTRPCRouter, req: express.Request): string[] | undefined {
  const path = decodedOrUndefined(req.path.slice(1));
  if (!path) return undefined;
  const isBatch = (req.query as Record<string, string[] | undefined>)['batch']?.[0] === '1';
  const procedures = router._def.procedures as Record<string, AnyTRPCProcedure>;
  const methods = new Set<string>();
  for (const name of isBatch ? path.split(',') : [path]) {
    if (!Object.hasOwn(procedures, name)) return undefined;
    methods.add(procedures[name]!._def.type === 'mutation' ? 'POST' : 'GET');
  }
  return [...methods];
}

/**
 * Only GET and POST reach tRPC. Its adapter builds a Fetch `Request`, which
 * throws for TRACE (a 500), and it answers PUT, PROPFIND and the like with 415
 * before it looks at the method. Those are not tRPC calls at all, so they get
 * the contract's envelope like any other path: 404 when the path names no
 * procedure, else 405 with the methods the named procedures accept. HEAD on a
 * query is served as GET without the body (tRPC would answer every HEAD 204).
 * GET and POST stay tRPC's, answered in its error shape (its own 405 included).
 */
const trpcMethods =
  (router: AnyTRPCRouter): RequestHandler =>
  (req, res, next) => {
    if (req.method === 'GET' || req.method === 'POST') return next();
    const methods = trpcMethodsOf(router, req);
    if (!methods) return routeNotFound(res);
    if (req.method === 'HEAD' && methods.includes('GET')) {
      req.method = 'GET';
      // Before the request logger's own listener: the log shows what the client sent.
      res.prependOnceListener('finish', () => (req.method = 'HEAD'));
      return next();
    }
    sendError(res, methodNotAllowed(req.method, allowHeader(methods)), res.locals.requestId);
  };

/**
 * The API reference and its static assets take GET and HEAD only, and every
 * miss answers the envelope: swagger-ui-express would answer `…/package.json`
 * (hidden so as not to disclose versions) with a plain-text 404, and serve-static
 * redirects directory paths (`swagger-ui.css/..`) with an HTML page.
 */
const docsOnlyGet: RequestHandler = (req, res, next) => {
  if (req.method !== 'GET' && req.method !== 'HEAD') {
    return req.path === '/' ? onlyMethods('GET')(req, res, next) : routeNotFound(res);
  }
  if ((decodedOrUndefined(req.path) ?? '').endsWith('/package.json')) return routeNotFound(res);
  // The page loads its assets by relative URLs (`./swagger-ui.css`): they resolve under /docs/ only.
  const [pathname, query] = req.originalUrl.split(/\?(.*)/s);
  if (pathname === '/docs') {
    res.statusCode = 301;
    res.setHeader('Location', query === undefined ? '/docs/' : `/docs/?${query}`);
    return res.end();
  }
  next();
};

/** A database that accepts connections but never answers must not hang the readiness probe. */
const READY_TIMEOUT_MS = 2_000;

async function databaseAnswers(orm: Orm): Promise<boolean> {
  const timeout = new AbortController();
  try {
    return await Promise.race([
      orm.em.getConnection().execute('select 1').then(
        () => true,
        () => false,
      ),
      sleep(READY_TIMEOUT_MS, false, { signal: timeout.signal }),
    ]);
  } finally {
    timeout.abort();
  }
}

export function createApp({ orm, config, logger, router = appRouter }: AppDeps): express.Express {
  const app = express();
  app.disable('x-powered-by');
  app.set('trust proxy', config.trustProxy);
  app.set('query parser', parseQueryString);

  // Request counts and latencies for /metrics (METRICS_PORT); nothing is measured without a scraper.
  if (config.metricsPort !== undefined) app.use(httpMetrics(router));

  app.use(requestId);
  app.use(requireHost);
  // Request lines are info-level: below that level the per-request logger is pure overhead
  // (server errors are still logged where they happen).
  if (logger.isLevelEnabled('info')) {
    app.use(
      pinoHttp({
        logger,
        genReqId: (_req, res) => String(res.locals.requestId),
        customAttributeKeys: { responseTime: 'durationMs' },
        customProps: (_req, res) => ({ requestId: String(res.locals.requestId) }),
        // Only what an operator needs; headers (tokens) and bodies (passwords) never reach the log.
        serializers: {
          // pino's request serializer has already put Express's originalUrl (mount path included) into `url`.
          req: (req: { method: string; url: string }) => ({ method: req.method, path: req.url }),
          res: (res: { statusCode: number }) => ({ status: res.statusCode }),
        },
        customLogLevel: (_req, res, error) => (error || res.statusCode >= 500 ? 'error' : 'info'),
        // For a 5xx pino-http invents an Error('failed with status code …'), stack and all; the status says as much,
        // and the cause is on the 'request failed' line.
        customErrorObject: (_req, res, error, fields: Record<string, unknown>) => {
          if (error.message !== `failed with status code ${res.statusCode}`) return fields;
          const { err: _invented, ...rest } = fields;
          return rest;
        },
      }),
    );
  }
  app.use(corsForApp(config.corsOrigins));

  app.get('/health', (_req, res) => {
    res.json({ status: 'ok' });
  });
  app.all('/health', onlyMethods('GET'));

  app.get('/ready', async (_req, res) => {
    if (await databaseAnswers(orm)) res.json({ status: 'ready' });
    else sendError(res, databaseUnavailable(), res.locals.requestId);
  });
  app.all('/ready', onlyMethods('GET'));

  const openApiDocument = buildOpenApiDocument(router, { version });
  app.get('/api/openapi.json', (_req, res) => {
    res.json(openApiDocument);
  });
  app.all('/api/openapi.json', onlyMethods('GET'));
  app.use('/docs', docsOnlyGet, swaggerUi.serveWithOptions({ redirect: false }));
  app.get('/docs', docsPage(openApiDocument));

  const createContext = createContextFactory({ orm, config });
  const logServerError = (error: unknown, req: IncomingMessage) =>
    logger.error({ ...failureLogFields(error), requestId: (req as express.Request).res?.locals.requestId }, 'request failed');

  const trpcHandler = createExpressMiddleware({
    router,
    createContext,
    maxBodySize: MAX_BODY_BYTES,
    // tRPC's own bound: an oversized batch is a 400 before the context is built or any call runs.
    maxBatchSize: MAX_BATCH_CALLS,
    onError: ({ error, req }) => {
      if (toAppError(error).status >= 500) logServerError(error, req);
    },
    // Same media type and error headers (WWW-Authenticate, Retry-After) as the REST surface.
    responseMeta: ({ errors }) => ({
      headers: { 'Content-Type': JSON_CONTENT_TYPE, ...(errors[0] ? errorHeaders(toAppError(errors[0])) : {}) },
    }),
  });
  // Text that is not UTF-8 is refused, never decoded to U+FFFD (issue 8 §1); reported after the auth checks.
  app.use('/trpc', trpcMethods(router), strictQueryEncoding, trpcBody);
  app.use('/trpc', (req, res, next) => requestScope.run({ requestId: String(res.locals.requestId) }, () => trpcHandler(req, res, next)));

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
