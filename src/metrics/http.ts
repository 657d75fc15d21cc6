import type { AnyTRPCRouter } from '@trpc/server';
import type { RequestHandler } from 'express';
import { forEachOpenApiProcedure, getPathRegExp, normalizePath, type OpenApiMeta } from 'trpc-to-openapi';
import { httpRequestDuration, httpRequests } from './registry.js';

/** Requests whose path names no route: one label for all, so scanners cannot mint series. */
const UNMATCHED = 'unmatched';

const FIXED_ROUTES = new Set(['/health', '/ready', '/api/openapi.json']);

interface RestRoute {
  method: string;
  pattern: RegExp;
  template: string;
}

/**
 * The route a request is labelled with: the REST path template
 * (`/api/products/{id}`), the tRPC procedure (`/trpc/products.byId`), or a fixed
 * service route. Matched the way the REST adapter matches: the first template
 * with the request's method, else the first with its path (a 405).
 */
export function routeLabeller(router: AnyTRPCRouter): (method: string, path: string) => string {
  const rest: RestRoute[] = [];
  forEachOpenApiProcedure<OpenApiMeta>(router._def.procedures, ({ meta }) => {
    const template = normalizePath(meta.openapi.path);
    rest.push({ method: meta.openapi.method, pattern: getPathRegExp(template), template });
  });
  const procedures = new Set(Object.keys(router._def.procedures as object));

  const trpcRoute = (names: string): string => {
    // A batch is `a,b,c`: labelled by its procedure when every call is the same one.
    const calls = new Set(names.split(','));
    if (calls.size > 1) return '/trpc/{batch}';
    const [name = ''] = calls;
    return procedures.has(name) ? `/trpc/${name}` : '/trpc/{unknown}';
  };

  return (method, rawPath) => {
    const path = normalizePath(rawPath);
    if (path.startsWith('/api/')) {
      const wanted = method === 'HEAD' ? 'GET' : method;
      const byPath = rest.filter((route) => route.pattern.test(path));
      return (byPath.find((route) => route.method === wanted) ?? byPath[0])?.template ?? (FIXED_ROUTES.has(path) ? path : UNMATCHED);
    }
    if (path.startsWith('/trpc/')) return trpcRoute(path.slice('/trpc/'.length));
    if (FIXED_ROUTES.has(path)) return path;
    if (path === '/docs' || path.startsWith('/docs/')) return '/docs';
    return UNMATCHED;
  };
}

/**
 * Counts and times every request on the API port. The label is worked out when
 * the request arrives (before any router rewrites `req.url`); the rest happens
 * once the response is finished.
 */
export function httpMetrics(router: AnyTRPCRouter): RequestHandler {
  const routeOf = routeLabeller(router);
  return (req, res, next) => {
    const started = process.hrtime.bigint();
    const method = req.method;
    const route = routeOf(method, req.path);
    res.once('finish', () => {
      const labels = { route, method, status: String(res.statusCode) };
      httpRequests.inc(labels);
      httpRequestDuration.observe(labels, Number(process.hrtime.bigint() - started) / 1e9);
    });
    next();
  };
}
