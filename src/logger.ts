import { pino, type Logger } from 'pino';
import type { AppConfig } from './config.js';

export type { Logger };

/** Structured JSON logs; credentials are redacted wherever they might appear. */
export function createLogger(level: AppConfig['logLevel']): Logger {
  return pino({
    level,
    base: undefined,
    redact: {
      paths: ['req.headers.authorization', 'headers.authorization', '*.password', 'password', '*.accessToken', 'accessToken'],
      censor: '[redacted]',
    },
  });
}
