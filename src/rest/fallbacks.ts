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

/** A URL path segment decoded as routers read it, or undefined when it is not valid percent-encoding. */
export function decodedPath(path: string): string | undefined {
  try {
    return decodeURIComponent(path);
  } catch {
    return undefined;
  }
}
