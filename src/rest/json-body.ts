import express, { type NextFunction, type Request, type RequestHandler, type Response } from 'express';
import { AppError, payloadTooLarge, unsupportedMediaType } from '../errors.js';
import { nestedDeeperThan, TOO_DEEP_MESSAGE } from '../lib/input-text.js';

export const MAX_BODY_BYTES = 100 * 1024;

const METHODS_WITH_BODY = new Set(['POST', 'PUT', 'PATCH']);
const JSON_MEDIA_TYPE = /^application\/json\s*(;.*)?$/i;

const readRawBody = express.raw({ type: () => true, limit: MAX_BODY_BYTES });

/** Fatal: bytes that are not UTF-8 are refused instead of silently becoming U+FFFD. */
const utf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

const malformedBody = (message: string) =>
  new AppError('VALIDATION_ERROR', 'Malformed request body', [{ field: 'body', message }]);

/** What a request's body turned out to be: absent, its text, or why it cannot be used. */
type BodyText = { kind: 'absent' } | { kind: 'text'; text: string } | { kind: 'problem'; problem: AppError };

/**
 * Reads a body as UTF-8 text, for both surfaces: a JSON media type, at most
 * MAX_BODY_BYTES, and bytes that are UTF-8 (never decoded to U+FFFD).
 */
function readBodyText(req: Request, res: Response, done: (body: BodyText) => void): void {
  const declaredLength = Number(req.headers['content-length'] ?? 0);
  if (req.headers['transfer-encoding'] === undefined && !(declaredLength > 0)) return done({ kind: 'absent' });
  if (!JSON_MEDIA_TYPE.test(req.headers['content-type'] ?? '')) {
    req.resume();
    return done({ kind: 'problem', problem: unsupportedMediaType() });
  }
  readRawBody(req, res, (error?: unknown) => {
    if (error) {
      const tooLarge = (error as { type?: string }).type === 'entity.too.large';
      return done({ kind: 'problem', problem: tooLarge ? payloadTooLarge() : malformedBody('Could not read the request body') });
    }
    try {
      done({ kind: 'text', text: Buffer.isBuffer(req.body) ? utf8.decode(req.body) : '' });
    } catch {
      done({ kind: 'problem', problem: malformedBody('Must be UTF-8 encoded') });
    }
  });
}

/**
 * Hands the body on as the adapter reads it, under a JSON media type (ours has been
 * checked already); a problem is recorded for the procedure to raise.
 */
function handOver(req: Request, res: Response, next: NextFunction, body: unknown, problem?: AppError): void {
  req.body = body;
  if (problem) res.locals.bodyError = problem;
  req.headers['content-type'] = 'application/json';
  next();
}

/** The JSON object a body's text holds, or why it is not one. */
function parseObject(text: string): { body: object } | { problem: AppError } {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    return { problem: malformedBody('Malformed JSON') };
  }
  if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) return { problem: malformedBody('Must be a JSON object') };
  // The adapter serialises the body again (recursively) before any check of ours could run.
  if (nestedDeeperThan(parsed)) return { problem: malformedBody(TOO_DEEP_MESSAGE) };
  return { body: parsed };
}

/**
 * Reads REST request bodies ourselves instead of letting the adapter do it:
 * the adapter rejects `application/json; charset=utf-8`, and it would answer
 * 415/413/parse errors before authentication. Here a body problem is only
 * recorded (`res.locals.bodyError`) and raised by the procedure after the auth
 * checks, as the contract's order of checks requires. An absent body means `{}`.
 */
export const jsonBody: RequestHandler = (req, res, next) => {
  if (!METHODS_WITH_BODY.has(req.method)) return next();
  readBodyText(req, res, (read) => {
    if (read.kind === 'absent') return handOver(req, res, next, {});
    if (read.kind === 'problem') return handOver(req, res, next, {}, read.problem);
    const parsed = parseObject(read.text);
    if ('problem' in parsed) return handOver(req, res, next, {}, parsed.problem);
    handOver(req, res, next, parsed.body);
  });
};

/**
 * /trpc bodies are read here too, so that both surfaces treat them alike: bytes that
 * are not UTF-8 are refused (tRPC would decode them to U+FFFD), another media type is a
 * 415 and a body that cannot be read a 400 or 413, each recorded for the procedure to
 * raise after the auth checks (tRPC itself answers 415 before them), and a POST with no
 * body is a call without input, as an absent body means `{}` on REST. tRPC parses the
 * text it is handed as `req.body` itself.
 */
export const trpcBody: RequestHandler = (req, res, next) => {
  if (req.method !== 'POST') return next();
  readBodyText(req, res, (read) => {
    if (read.kind === 'problem') return handOver(req, res, next, '', read.problem);
    handOver(req, res, next, read.kind === 'text' ? read.text : '');
  });
};
