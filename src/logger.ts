import { pino, type DestinationStream, type Logger } from 'pino';
import type { AppConfig } from './config.js';

export type { Logger };

/**
 * Structured JSON logs, one object per line on stdout (or `destination`);
 * credentials are redacted wherever they might appear.
 */
export function createLogger(level: AppConfig['logLevel'], destination?: DestinationStream): Logger {
  const options = {
    level,
    base: undefined,
    redact: {
      paths: ['req.headers.authorization', 'headers.authorization', '*.password', 'password', '*.accessToken', 'accessToken'],
      censor: '[redacted]',
    },
  };
  return destination ? pino(options, destination) : pino(options);
}
