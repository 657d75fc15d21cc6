import { randomUUID } from 'node:crypto';
import type { RequestHandler } from 'express';

const CLIENT_REQUEST_ID = /^[A-Za-z0-9._-]{1,128}$/;

/** A well-formed client `X-Request-Id` is echoed; anything else gets a generated id (contract §1). */
export function requestIdFor(offered: string | string[] | undefined): string {
  return typeof offered === 'string' && CLIENT_REQUEST_ID.test(offered) ? offered : randomUUID();
}

/** Echoes a well-formed client `X-Request-Id`, else generates one (contract §1). */
export const requestId: RequestHandler = (req, res, next) => {
  const id = requestIdFor(req.headers['x-request-id']);
  res.locals.requestId = id;
  res.setHeader('X-Request-Id', id);
  next();
};
