import type { RequestHandler } from 'express';
import { pinoHttp } from 'pino-http';
import type { Logger } from '../logger.js';

/**
 * One JSON line per request, at info level, with the request id and only what an
 * operator needs: headers (tokens) and bodies (passwords) never reach the log.
 * Undefined below info: then the per-request logger would be pure overhead (server
 * errors are still logged where they happen).
 */
export function requestLog(logger: Logger): RequestHandler | undefined {
  if (!logger.isLevelEnabled('info')) return undefined;
  return pinoHttp({
    logger,
    genReqId: (_req, res) => String(res.locals.requestId),
    customAttributeKeys: { responseTime: 'durationMs' },
    customProps: (_req, res) => ({ requestId: String(res.locals.requestId) }),
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
  });
}
