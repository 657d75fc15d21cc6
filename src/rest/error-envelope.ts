import type { ServerResponse } from 'node:http';
import type { AppError } from '../errors.js';

export const JSON_CONTENT_TYPE = 'application/json; charset=utf-8';

export interface ErrorEnvelope {
  error: { code: string; message: string; details?: unknown; requestId: string };
}

export function errorEnvelope(error: AppError, requestId: string): ErrorEnvelope {
  return {
    error: {
      code: error.code,
      message: error.message,
      ...(error.details === undefined ? {} : { details: error.details }),
      requestId,
    },
  };
}

/** Headers every response for this error must carry (contract §2). */
export function errorHeaders(error: AppError): Record<string, string> {
  return error.code === 'UNAUTHORIZED' ? { 'WWW-Authenticate': 'Bearer', ...error.headers } : { ...error.headers };
}

/** Writes an error response outside the REST adapter (404/405 fallbacks, Express errors). */
export function sendError(res: ServerResponse, error: AppError, requestId: string): void {
  res.statusCode = error.status;
  for (const [name, value] of Object.entries(errorHeaders(error))) res.setHeader(name, value);
  res.setHeader('Content-Type', JSON_CONTENT_TYPE);
  res.end(JSON.stringify(errorEnvelope(error, requestId)));
}
