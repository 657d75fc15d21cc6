import type { RequestHandler } from 'express';
import { validationError } from '../errors.js';

const utf8 = new TextDecoder('utf-8', { fatal: true });

const PERCENT_ESCAPE = /^[0-9a-f]{2}$/i;

/** The bytes a percent-encoded query component stands for, read as leniently as URLSearchParams does. */
function componentBytes(component: string): Uint8Array {
  const bytes: number[] = [];
  for (let i = 0; i < component.length; i++) {
    const escape = component.slice(i + 1, i + 3);
    if (component[i] === '%' && PERCENT_ESCAPE.test(escape)) {
      bytes.push(Number.parseInt(escape, 16));
      i += 2;
    } else {
      bytes.push(...Buffer.from(component[i]!, 'utf8'));
    }
  }
  return Uint8Array.from(bytes);
}

const isUtf8 = (component: string): boolean => {
  try {
    utf8.decode(componentBytes(component));
    return true;
  } catch {
    return false;
  }
};

/**
 * Query parameters are percent-encoded UTF-8. URLSearchParams (and tRPC's reading of
 * `?input=`) silently turn an escape sequence that is not UTF-8 (`%FF`) into U+FFFD,
 * so the server would act on text the client never sent. Such a parameter is
 * recorded as a 400 naming it and, like body problems, reported after the auth checks.
 */
export const strictQueryEncoding: RequestHandler = (req, res, next) => {
  const query = req.originalUrl.split('?', 2)[1];
  if (query === undefined || !query.includes('%')) return next();
  for (const pair of query.split('&')) {
    const separator = pair.indexOf('=');
    const name = separator < 0 ? pair : pair.slice(0, separator);
    if (!isUtf8(pair)) {
      const field = new URLSearchParams(`${name}=`).keys().next().value ?? name;
      res.locals.bodyError ??= validationError([{ field, message: 'Must be UTF-8 encoded' }]);
      break;
    }
  }
  next();
};
