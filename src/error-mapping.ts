import { ConnectionException } from '@mikro-orm/core';
import { TRPCError } from '@trpc/server';
import { z } from 'zod';
import { AppError, databaseUnavailable, internalError, payloadTooLarge, unsupportedMediaType, type FieldIssue } from './errors.js';

// "Required" reads better than zod's "expected string, received undefined".
z.config({
  customError: (issue) => (issue.code === 'invalid_type' && issue.input === undefined ? 'Required' : undefined),
});

/** Socket errors (Node) and the pool client's own give-up: the path to the database is broken or too slow. */
const NETWORK_ERROR_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ECONNABORTED',
  'EPIPE',
  'ETIMEDOUT',
  'ENOTFOUND',
  'EAI_AGAIN',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'ENETDOWN',
  'DATABASE_TIMEOUT',
]);

/**
 * SQLSTATEs that say the server cannot serve us now, not that the request is wrong:
 * class 08 (connection exception), class 53 (insufficient resources: 53300 too many
 * connections, 53400 configuration limit exceeded, out of memory or disk),
 * 57P01–57P03 (administrator or crash shutdown, cannot connect now), and the
 * time limits we set ourselves: 57014 (statement_timeout) and 25P03
 * (idle_in_transaction_session_timeout).
 */
const UNAVAILABLE_SQLSTATES = new Set(['57P01', '57P02', '57P03', '57014', '25P03']);
const isUnavailableSqlState = (code: string) => /^(08|53)[0-9A-Z]{3}$/.test(code) || UNAVAILABLE_SQLSTATES.has(code);

/** pg and pg-pool report these without any code: the message is all there is. */
const UNAVAILABLE_MESSAGES =
  /^(Connection terminated|timeout exceeded when trying to connect|timeout expired|Client has encountered a connection error|Query read timeout)/;

function isDatabaseUnavailable(error: unknown): boolean {
  for (let e: unknown = error, depth = 0; e instanceof Error && depth < 5; e = e.cause, depth++) {
    if (e instanceof ConnectionException) return true;
    if (e instanceof AggregateError && e.errors.some(isDatabaseUnavailable)) return true;
    const code = (e as { code?: unknown }).code;
    if (typeof code === 'string') {
      if (NETWORK_ERROR_CODES.has(code) || isUnavailableSqlState(code)) return true;
    } else if (UNAVAILABLE_MESSAGES.test(e.message)) {
      return true;
    }
  }
  return false;
}

/**
 * Zod issues as the contract's `details`: `field` is the dotted path into the input. An issue
 * about the input as a whole is named `input`: only a /trpc call reaches validation with no
 * input or one that is not an object (REST parses an absent body as `{}` and refuses a body
 * that is not a JSON object before validation, naming it `body`).
 */
export function zodIssuesToFields(issues: readonly z.core.$ZodIssue[]): FieldIssue[] {
  const fields: FieldIssue[] = [];
  for (const issue of issues) {
    const base = issue.path.map(String);
    if (issue.code === 'unrecognized_keys') {
      for (const key of issue.keys) fields.push({ field: [...base, key].join('.'), message: 'Unknown field' });
    } else {
      fields.push({ field: base.length > 0 ? base.join('.') : 'input', message: issue.message });
    }
  }
  return fields;
}

/**
 * The one place where anything thrown (domain errors, validation failures, ORM
 * and driver errors, bugs) becomes a contract error. Unknown errors become a
 * generic 500: their messages may contain SQL or internals and never leave.
 */
/** A /trpc body or `input` parameter that is not JSON (tRPC reports it two ways). */
const malformedJson = () => new AppError('VALIDATION_ERROR', 'Malformed JSON body', [{ field: 'body', message: 'Malformed JSON' }]);

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
        return malformedJson();
      case 'BAD_REQUEST':
        // tRPC reports an unparsable /trpc body or `input` parameter as BAD_REQUEST caused by JSON.parse.
        if (cause instanceof SyntaxError) return malformedJson();
        // tRPC's own request checks (a batch over `maxBatchSize`, a batch input that is not an object)
        // throw without a cause; their fixed messages name the problem and hold nothing internal.
        if (!error.cause) return new AppError('VALIDATION_ERROR', error.message);
        return new AppError('VALIDATION_ERROR', 'Request validation failed');
      case 'NOT_FOUND':
        return new AppError('NOT_FOUND', 'Not found');
      case 'PAYLOAD_TOO_LARGE':
        return payloadTooLarge();
      case 'UNSUPPORTED_MEDIA_TYPE':
        return unsupportedMediaType();
      case 'METHOD_NOT_SUPPORTED':
        return new AppError('METHOD_NOT_ALLOWED', 'Method not allowed');
      default:
        break;
    }
  }
  const unexpected = isDatabaseUnavailable(cause) ? databaseUnavailable() : internalError();
  // Kept for the server log only; the envelope and the tRPC error shape never include causes.
  unexpected.cause = cause;
  return unexpected;
}

/** The database's own words for an outage, in one short line: code and first message line (driver messages carry no SQL). */
function outageReason(error: unknown): string {
  const e = error instanceof Error ? error : new Error(String(error));
  const code = (e as { code?: unknown }).code;
  const message = e.message.split('\n', 1)[0]!.slice(0, 160);
  return typeof code === 'string' ? `${code} ${message}` : message;
}

/**
 * The fields the server log records about a failed request. A database outage is
 * expected and comes in bursts, so a 503 is one short line: its code and the
 * driver's reason, no stack (as full errors, an outage once wrote 15 MB of logs in
 * 25 s). Every other server error keeps its whole cause for the operator.
 */
export function failureLogFields(error: unknown): Record<string, unknown> {
  const appError = toAppError(error);
  if (appError.code !== 'SERVICE_UNAVAILABLE') return { err: error };
  return { code: appError.code, reason: outageReason(appError.cause ?? error) };
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
