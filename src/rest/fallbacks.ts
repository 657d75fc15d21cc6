import type { RequestHandler, Response } from 'express';
import { methodNotAllowed, notFound } from '../errors.js';
import { sendError } from './error-envelope.js';

/** The `Allow` header of a 405: HEAD is served wherever GET is. */
export function allowHeader(methods: readonly string[]): string {
  const allowed = new Set(methods);
  if (allowed.has('GET')) allowed.add('HEAD');
  return [...allowed].join(', ');
}

/** Mounted with `app.all` after a path's own routes: every other method is a 405 naming the allowed ones. */
export const onlyMethods =
  (...allowed: string[]): RequestHandler =>
  (req, res) =>
    sendError(res, methodNotAllowed(req.method, allowHeader(allowed)), res.locals.requestId);

/** A path no route serves. */
export const routeNotFound = (res: Response) => sendError(res, notFound('Route'), res.locals.requestId);

/** `.` or `..`, also percent-encoded (`%2e`), as a URL parser reads a path segment. */
const DOT_SEGMENT = /^(?:\.|%2e){1,2}$/i;

/**
 * A path with a dot segment names no resource: 404 on every route. Left in, the
 * adapters resolve it with the URL parser (`new URL`), which also treats `%2e` as a
 * dot and `\` as `/`: `DELETE /api/cart/items/..` would be served as `DELETE /api/cart`
 * and empty the cart. Refused before any route sees the path.
 */
export const rejectDotSegments: RequestHandler = (req, res, next) => {
  const target = req.url;
  const end = target.indexOf('?');
  const pathname = end < 0 ? target : target.slice(0, end);
  if (!pathname.includes('.') && !/%2e/i.test(pathname)) return next();
  if (pathname.split(/[/\\]/).some((segment) => DOT_SEGMENT.test(segment))) return routeNotFound(res);
  next();
};

/** A URL path segment decoded as routers read it, or undefined when it is not valid percent-encoding. */
export function decodedPath(path: string): string | undefined {
  try {
    return decodeURIComponent(path);
  } catch {
    return undefined;
  }
}
