import type { IncomingMessage, ServerResponse } from 'node:http';
import type { RequestHandler } from 'express';
import type { AnyTRPCRouter } from '@trpc/server';
import { createOpenApiNodeHttpHandler, forEachOpenApiProcedure, getPathRegExp, normalizePath } from 'trpc-to-openapi';
import type { Context } from '../context/context.js';
import { toAppError } from '../error-mapping.js';
import { AppError } from '../errors.js';
import type { ProcedureMeta } from '../trpc.js';
import { errorEnvelope, errorHeaders, sendError } from './error-envelope.js';

const JSON_CONTENT_TYPE = 'application/json; charset=utf-8';

interface RestRoute {
  method: string;
  pattern: RegExp;
  meta: ProcedureMeta;
}

function restRoutes(router: AnyTRPCRouter): Map<string, RestRoute> {
  const routes = new Map<string, RestRoute>();
  forEachOpenApiProcedure<ProcedureMeta>(router._def.procedures, ({ path, meta }) => {
    routes.set(path, {
      method: meta.openapi.method,
      pattern: getPathRegExp(normalizePath(meta.openapi.path)),
      meta,
    });
  });
  return routes;
}

/**
 * REST surface: trpc-to-openapi serves the procedures at their contract paths;
 * this wrapper gives its responses the contract's shape. The adapter writes its
 * own error bodies, so the error it reports through `onError` is remembered and
 * the body is replaced by the contract envelope just before it is written.
 */
export function createRestHandler(router: AnyTRPCRouter, createContext: (opts: { req: IncomingMessage; res: ServerResponse }) => Context, onServerError: (error: unknown, req: IncomingMessage) => void): RequestHandler {
  const routes = restRoutes(router);
  const failures = new WeakMap<IncomingMessage, unknown>();

  const adapter = createOpenApiNodeHttpHandler({
    router,
    createContext: ({ req, res }) => createContext({ req, res: res as ServerResponse }),
    onError: ({ error, req }) => {
      failures.set(req, error);
      if (toAppError(error).status >= 500) onServerError(error, req);
    },
    responseMeta: ({ ctx, paths, errors }) => {
      if (errors.length > 0) {
        const appError = toAppError(errors[0]);
        return { status: appError.status, headers: { 'Content-Type': JSON_CONTENT_TYPE, ...errorHeaders(appError) } };
      }
      const route = paths?.[0] ? routes.get(paths[0]) : undefined;
      return {
        status: route?.meta.successStatus ?? 200,
        headers: { 'Content-Type': JSON_CONTENT_TYPE, ...(ctx as Context | undefined)?.responseHeaders },
      };
    },
  });

  const notRouted: RequestHandler = (req, res) => {
    const requestId = String(res.locals.requestId);
    const allowed = [...routes.values()].filter((r) => r.pattern.test(normalizePath(req.path))).map((r) => r.method);
    if (allowed.length === 0) return sendError(res, new AppError('NOT_FOUND', 'Route not found'), requestId);
    const allow = [...new Set(allowed)].join(', ');
    sendError(res, new AppError('METHOD_NOT_ALLOWED', `Method ${req.method} not allowed`, undefined, { Allow: allow }), requestId);
  };

  return (req, res, next) => {
    const end = res.end.bind(res) as (...args: unknown[]) => ServerResponse;
    res.end = ((...args: unknown[]) => {
      const failure = failures.get(req);
      if (failure !== undefined && res.statusCode >= 400 && !res.headersSent) {
        const body = JSON.stringify(errorEnvelope(toAppError(failure), String(res.locals.requestId)));
        return end(body);
      }
      return end(...args);
    }) as typeof res.end;
    adapter(req, res, () => notRouted(req, res, next)).catch(next);
  };
}
