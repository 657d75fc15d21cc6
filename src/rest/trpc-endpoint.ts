import type { IncomingMessage, ServerResponse } from 'node:http';
import type { AnyTRPCProcedure, AnyTRPCRouter } from '@trpc/server';
import { createExpressMiddleware } from '@trpc/server/adapters/express';
import type { Express, Request, RequestHandler } from 'express';
import { callSequence, requestScope, type Context } from '../context/context.js';
import { toAppError } from '../error-mapping.js';
import { methodNotAllowed } from '../errors.js';
import { MAX_BATCH_CALLS } from '../trpc.js';
import { errorHeaders, JSON_CONTENT_TYPE, sendError } from './error-envelope.js';
import { decodedPath, allowHeader, routeNotFound } from './fallbacks.js';
import { MAX_BODY_BYTES, trpcBody } from './json-body.js';
import { strictQueryEncoding } from './query-encoding.js';

/**
 * The methods tRPC serves for the procedures a /trpc path names (queries GET,
 * mutations POST; a batch names several), or undefined when one of them does
 * not exist. Read the way tRPC reads it: URL-decoded, split on `,` for `?batch=1`.
 */
function trpcMethodsOf(router: AnyTRPCRouter, req: Request): string[] | undefined {
  const path = decodedPath(req.path.slice(1));
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

export interface TrpcEndpointDeps {
  router: AnyTRPCRouter;
  createContext: (opts: { req: IncomingMessage; res: ServerResponse }) => Context;
  logServerError: (error: unknown, req: IncomingMessage) => void;
}

/** The procedures at /trpc for TypeScript clients (httpBatchLink), with the REST surface's limits and headers. */
export function mountTrpc(app: Express, { router, createContext, logServerError }: TrpcEndpointDeps): void {
  const trpcHandler = createExpressMiddleware({
    router,
    createContext: (opts) => ({ ...createContext(opts), callsInOrder: callSequence() }),
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
}
