import { ConnectionException } from '@mikro-orm/core';
import { TRPCError } from '@trpc/server';
import { z } from 'zod';
import { AppError, type FieldIssue } from './errors.js';

// "Required" reads better than zod's "expected string, received undefined".
z.config({
  customError: (issue) => (issue.code === 'invalid_type' && issue.input === undefined ? 'Required' : undefined),
});

const CONNECTION_ERROR_CODES = new Set(['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'ENOTFOUND', 'EHOSTUNREACH', '57P01', '57P03']);

function isDatabaseUnavailable(error: unknown): boolean {
  for (let e: unknown = error, depth = 0; e instanceof Error && depth < 5; e = e.cause, depth++) {
    if (e instanceof ConnectionException) return true;
    const code = (e as { code?: unknown }).code;
    if (typeof code === 'string' && CONNECTION_ERROR_CODES.has(code)) return true;
    if (/Connection terminated|connect ECONNREFUSED|timeout exceeded when trying to connect/i.test(e.message)) return true;
  }
  return false;
}

export function zodIssuesToFields(issues: readonly z.core.$ZodIssue[]): FieldIssue[] {
  const fields: FieldIssue[] = [];
  for (const issue of issues) {
    const base = issue.path.map(String);
    if (issue.code === 'unrecognized_keys') {
      for (const key of issue.keys) fields.push({ field: [...base, key].join('.'), message: 'Unknown field' });
    } else {
      fields.push({ field: base.length > 0 ? base.join('.') : 'body', message: issue.message });
    }
  }
  return fields;
}

/**
 * The one place where anything thrown (domain errors, validation failures, ORM
 * and driver errors, bugs) becomes a contract error. Unknown errors become a
 * generic 500: their messages may contain SQL or internals and never leave.
 */
export function toAppError(error: unknown): AppError {
  const cause = error instanceof TRPCError && error.cause ? error.cause : error;
  if (cause instanceof AppError) return cause;
  // tRPC wraps a failed output check in an INTERNAL_SERVER_ERROR with the ZodError as cause: that is
  // our bug, not the client's, and its issues describe server data that must not leave.
  const isClientInput = !(error instanceof TRPCError) || error.code === 'BAD_REQUEST';
  if (cause instanceof z.ZodError && isClientInput) {
    return new AppError('VALIDATION_ERROR', 'Request validation failed', zodIssuesToFields(cause.issues));
  }
  if (error instanceof TRPCError) {
    switch (error.code) {
      case 'PARSE_ERROR':
        return new AppError('VALIDATION_ERROR', 'Malformed JSON body', [{ field: 'body', message: 'Malformed JSON' }]);
      case 'BAD_REQUEST':
        // tRPC reports an unparsable /trpc body or `input` parameter as BAD_REQUEST caused by JSON.parse.
        if (cause instanceof SyntaxError) {
          return new AppError('VALIDATION_ERROR', 'Malformed JSON body', [{ field: 'body', message: 'Malformed JSON' }]);
        }
        // tRPC's own request checks (a batch over `maxBatchSize`, a batch input that is not an object)
        // throw without a cause; their fixed messages name the problem and hold nothing internal.
        if (!error.cause) return new AppError('VALIDATION_ERROR', error.message);
        return new AppError('VALIDATION_ERROR', 'Request validation failed');
      case 'NOT_FOUND':
        return new AppError('NOT_FOUND', 'Not found');
      case 'PAYLOAD_TOO_LARGE':
        return new AppError('PAYLOAD_TOO_LARGE', 'Request body exceeds 100 KiB');
      case 'UNSUPPORTED_MEDIA_TYPE':
        return new AppError('UNSUPPORTED_MEDIA_TYPE', 'Request body must be application/json');
      case 'METHOD_NOT_SUPPORTED':
        return new AppError('METHOD_NOT_ALLOWED', 'Method not allowed');
      default:
        break;
    }
  }
  const unexpected = isDatabaseUnavailable(cause)
    ? new AppError('SERVICE_UNAVAILABLE', 'The database is unavailable, try again shortly')
    : new AppError('INTERNAL_ERROR', 'An unexpected error occurred');
  // Kept for the server log only; the envelope and the tRPC error shape never include causes.
  unexpected.cause = cause;
  return unexpected;
}

const TRPC_CODE_BY_STATUS: Record<number, TRPCError['code']> = {
  400: 'BAD_REQUEST',
  401: 'UNAUTHORIZED',
  403: 'FORBIDDEN',
  404: 'NOT_FOUND',
  405: 'METHOD_NOT_SUPPORTED',
  409: 'CONFLICT',
  413: 'PAYLOAD_TOO_LARGE',
  415: 'UNSUPPORTED_MEDIA_TYPE',
  429: 'TOO_MANY_REQUESTS',
  500: 'INTERNAL_SERVER_ERROR',
  503: 'SERVICE_UNAVAILABLE',
};

/** A TRPCError whose code gives tRPC (and the REST adapter) the contract's HTTP status. */
export function toTrpcError(error: unknown): TRPCError {
  const appError = toAppError(error);
  return new TRPCError({
    code: TRPC_CODE_BY_STATUS[appError.status] ?? 'INTERNAL_SERVER_ERROR',
    message: appError.message,
    cause: appError,
  });
}
