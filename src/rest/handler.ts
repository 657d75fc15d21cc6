import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Request, RequestHandler, Response } from 'express';
import type { AnyTRPCRouter } from '@trpc/server';
import { createOpenApiNodeHttpHandler, forEachOpenApiProcedure, getPathParameters, getPathRegExp, normalizePath } from 'trpc-to-openapi';
import type { Context } from '../context/context.js';
import { toAppError } from '../error-mapping.js';
import { methodNotAllowed, notFound, validationError } from '../errors.js';
import type { ProcedureMeta } from '../trpc.js';
import { errorEnvelope, errorHeaders, JSON_CONTENT_TYPE, sendError } from './error-envelope.js';
import { allowHeader } from './fallbacks.js';

interface RestRoute {
  method: string;
  pattern: RegExp;
  /** The names in the path template (`/api/products/{id}` → `id`). */
  pathParameters: string[];
  meta: ProcedureMeta;
}

function restRoutes(router: AnyTRPCRouter): Map<string, RestRoute> {
  const routes = new Map<string, RestRoute>();
  forEachOpenApiProcedure<ProcedureMeta>(router._def.procedures, ({ path, meta }) => {
    routes.set(path, {
      method: meta.openapi.method,
      pattern: getPathRegExp(normalizePath(meta.openapi.path)),
      pathParameters: getPathParameters(normalizePath(meta.openapi.path)),
      meta,
    });
  });
  return routes;
}

/**
 * The adapter merges path values over the body (`{ ...body, ...path }`), so a body
 * field named like a path parameter would be dropped without a word. It is an
 * unknown field like any other (contract §1), reported after the auth checks.
 */
function rejectPathParametersInBody(routes: Iterable<RestRoute>, req: Request, res: Response): void {
  const body: unknown = req.body;
  if (res.locals.bodyError || body === null || typeof body !== 'object') return;
  const path = normalizePath(req.path);
  // The adapter serves the first route in router order that matches method and path.
  const route = [...routes].find((r) => r.method === req.method && r.pattern.test(path));
  const named = route?.pathParameters.filter((name) => Object.hasOwn(body, name)) ?? [];
  if (named.length > 0) res.locals.bodyError = validationError(named.map((field) => ({ field, message: 'Unknown field' })));
}

interface SchemaDef {
  type: string;
  coerce?: boolean;
  [key: string]: unknown;
}

const COERCIBLE = new Set(['number', 'boolean', 'bigint', 'date']);

// Schemas are shared between procedures (and apps, in tests): each definition is pinned once.
const visitedDefs = new WeakSet<SchemaDef>();

/**
 * The adapter switches on `coerce` for every number/boolean/date field of an input
 * object, bodies included, and the schemas are shared with /trpc: afterwards `"5"`,
 * `true` and `null` would pass as numbers and `"false"` as `true`. Pinning the flag
 * keeps inputs as strict as their schemas say (explicit `z.coerce` is left alone).
 */
function keepStrict(schema: unknown): void {
  const def = (schema as { _zod?: { def?: SchemaDef } } | undefined)?._zod?.def;
  if (!def || visitedDefs.has(def)) return;
  visitedDefs.add(def);
  if (COERCIBLE.has(def.type)) {
    if (!def.coerce) Object.defineProperty(def, 'coerce', { get: () => false, set: () => {}, configurable: false });
    return;
  }
  const children: unknown[] = [];
  if (def.type === 'object') children.push(...Object.values((schema as { shape: object }).shape));
  if (def.type === 'lazy') children.push((def.getter as () => unknown)());
  for (const key of ['innerType', 'element', 'in', 'out', 'left', 'right', 'keyType', 'valueType', 'rest']) children.push(def[key]);
  for (const key of ['options', 'items']) if (Array.isArray(def[key])) children.push(...(def[key] as unknown[]));
  for (const child of children) keepStrict(child);
}

/**
 * REST surface: trpc-to-openapi serves the procedures at their contract paths;
 * this wrapper gives its responses the contract's shape. The adapter writes its
 * own error bodies, so the error it reports through `onError` is remembered and
 * the body is replaced by the contract envelope just before it is written.
 */
export function createRestHandler(router: AnyTRPCRouter, createContext: (opts: { req: IncomingMessage; res: ServerResponse }) => Context, onServerError: (error: unknown, req: IncomingMessage) => void): RequestHandler {
  const routes = restRoutes(router);
  forEachOpenApiProcedure(router._def.procedures, ({ procedure }) => {
    for (const input of (procedure as { _def: { inputs: unknown[] } })._def.inputs) keepStrict(input);
  });
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

  const notRouted = (req: Request, res: Response, method: string) => {
    const requestId = String(res.locals.requestId);
    const allowed = [...routes.values()].filter((r) => r.pattern.test(normalizePath(req.path))).map((r) => r.method);
    if (allowed.length === 0) return sendError(res, notFound('Route'), requestId);
    sendError(res, methodNotAllowed(method, allowHeader(allowed)), requestId);
  };

  return (req, res, next) => {
    const method = req.method;
    // The adapter knows no HEAD; Node drops the body of a HEAD response by itself, so a GET answers it.
    if (method === 'HEAD') req.method = 'GET';
    const end = res.end.bind(res) as (...args: unknown[]) => ServerResponse;
    res.end = ((...args: unknown[]) => {
      req.method = method;
      if (res.statusCode === 204 && !res.headersSent) res.removeHeader('Content-Type');
      const failure = failures.get(req);
      if (failure !== undefined && res.statusCode >= 400 && !res.headersSent) {
        const body = JSON.stringify(errorEnvelope(toAppError(failure), String(res.locals.requestId)));
        return end(body);
      }
      return end(...args);
    }) as typeof res.end;
    rejectPathParametersInBody(routes.values(), req, res);
    adapter(req, res, () => notRouted(req, res, method)).catch(next);
  };
}
