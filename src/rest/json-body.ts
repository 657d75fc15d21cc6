import express, { type RequestHandler } from 'express';
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

/**
 * Reads REST request bodies ourselves instead of letting the adapter do it:
 * the adapter rejects `application/json; charset=utf-8`, and it would answer
 * 415/413/parse errors before authentication. Here a body problem is only
 * recorded (`res.locals.bodyError`) and raised by the procedure after the auth
 * checks, as the contract's order of checks requires. An absent body means `{}`.
 */
export const jsonBody: RequestHandler = (req, res, next) => {
  if (!METHODS_WITH_BODY.has(req.method)) return next();

  const finish = (body: unknown, error?: AppError) => {
    req.body = body;
    if (error) res.locals.bodyError = error;
    // The adapter re-checks the media type itself; ours has been checked already.
    req.headers['content-type'] = 'application/json';
    next();
  };

  const declaredLength = Number(req.headers['content-length'] ?? 0);
  const hasBody = req.headers['transfer-encoding'] !== undefined || declaredLength > 0;
  if (!hasBody) return finish({});

  if (!JSON_MEDIA_TYPE.test(req.headers['content-type'] ?? '')) {
    req.resume();
    return finish({}, unsupportedMediaType());
  }

  readRawBody(req, res, (error?: unknown) => {
    if (error) {
      const tooLarge = (error as { type?: string }).type === 'entity.too.large';
      return finish(
        {},
        tooLarge ? payloadTooLarge() : malformedBody('Could not read the request body'),
      );
    }
    let text: string;
    try {
      text = Buffer.isBuffer(req.body) ? utf8.decode(req.body) : '';
    } catch {
      return finish({}, malformedBody('Must be UTF-8 encoded'));
    }
    let parsed: unknown;
    try {
      parsed = JSON.parse(text);
    } catch {
      return finish({}, malformedBody('Malformed JSON'));
    }
    if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) {
      return finish({}, malformedBody('Must be a JSON object'));
    }
    // The adapter serialises the body again (recursively) before any check of ours could run.
    if (nestedDeeperThan(parsed)) return finish({}, malformedBody(TOO_DEEP_MESSAGE));
    finish(parsed);
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
  const handOver = (text: string, problem?: AppError) => {
    req.body = text;
    if (problem) res.locals.bodyError = problem;
    req.headers['content-type'] = 'application/json';
    next();
  };
  const declaredLength = Number(req.headers['content-length'] ?? 0);
  if (req.headers['transfer-encoding'] === undefined && !(declaredLength > 0)) return handOver('');
  if (!JSON_MEDIA_TYPE.test(req.headers['content-type'] ?? '')) {
    req.resume();
    return handOver('', unsupportedMediaType());
  }
  readRawBody(req, res, (error?: unknown) => {
    if (error) {
      const tooLarge = (error as { type?: string }).type === 'entity.too.large';
      return handOver('', tooLarge ? payloadTooLarge() : malformedBody('Could not read the request body'));
    }
    if (!Buffer.isBuffer(req.body)) return handOver('');
    try {
      handOver(utf8.decode(req.body));
    } catch {
      handOver('', malformedBody('Must be UTF-8 encoded'));
    }
  });
};
