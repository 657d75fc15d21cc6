import cors from 'cors';
import type { RequestHandler } from 'express';
import type { AppConfig } from '../config.js';

/** Response headers a browser client may read: the request id, a creation's Location, a limit's wait, a replay. */
const EXPOSED_HEADERS = ['X-Request-Id', 'Location', 'Retry-After', 'Idempotent-Replayed'];

/** CORS for every route the app serves (CORS_ORIGINS, contract §11). */
export const corsForApp = (corsOrigins: AppConfig['corsOrigins']): RequestHandler =>
  cors({
    origin: corsOrigins === '*' ? '*' : corsOrigins,
    methods: ['GET', 'POST', 'PUT', 'PATCH', 'DELETE'],
    allowedHeaders: ['Authorization', 'Content-Type', 'Idempotency-Key', 'X-Request-Id'],
    exposedHeaders: EXPOSED_HEADERS,
    maxAge: 600,
  });

/**
 * The same CORS answer for the responses Node writes before the app runs (src/rest/client-error.ts),
 * so that a browser client can read those errors too. A request the parser rejected has no
 * headers to read: then only `*` can be answered, and a list of origins gets nothing.
 */
export function corsHeadersForEdge(corsOrigins: AppConfig['corsOrigins'], origin: string | undefined): Record<string, string> {
  const exposed = { 'Access-Control-Expose-Headers': EXPOSED_HEADERS.join(',') };
  if (corsOrigins === '*') return { 'Access-Control-Allow-Origin': '*', ...exposed };
  if (origin !== undefined && corsOrigins.includes(origin)) return { 'Access-Control-Allow-Origin': origin, Vary: 'Origin', ...exposed };
  return { Vary: 'Origin' };
}
