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
 * A path that a URL parser reads as another path names no resource: 404 on every
 * route, before any route sees it. The adapters resolve the path with `new URL`,
 * which drops everything from a `#`, reads `\` as `/` and resolves dot segments
 * (also `%2e`): `DELETE /api/cart/items/..` or `DELETE /api/cart#/items/x` would be
 * served as `DELETE /api/cart` and empty the cart. None of `#`, `\` or a dot segment
 * belongs in a path of this API.
 */
export const rejectAmbiguousPaths: RequestHandler = (req, res, next) => {
  const target = req.url;
  const end = target.indexOf('?');
  const pathname = end < 0 ? target : target.slice(0, end);
  if (pathname.includes('#') || pathname.includes('\\')) return routeNotFound(res);
  if (!pathname.includes('.') && !/%2e/i.test(pathname)) return next();
  if (pathname.split('/').some((segment) => DOT_SEGMENT.test(segment))) return routeNotFound(res);
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
