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
  if (destination) return pino(options, destination);
  const stdout = pino.destination({ fd: 1, sync: false });
  const logger = pino(options, stdout);
  stdoutOf.set(logger, stdout);
  return logger;
}

/** The stdout stream of each logger createLogger made without a destination. */
const stdoutOf = new WeakMap<Logger, ReturnType<typeof pino.destination>>();

/**
 * Calls `done` once every line logged so far has been written to stdout, and stops the
 * logger's output (for the process's last moments). Writes are asynchronous, and
 * pino's flush(cb) does not wait for one under way: with a reader that is behind, it
 * calls back while the last lines are still queued, and an exit then drops them.
 */
export function endLogOutput(logger: Logger, done: () => void): void {
  const stdout = stdoutOf.get(logger);
  if (!stdout) return void logger.flush(() => done());
  stdout.once('close', done);
  stdout.end();
  // The stream is closing: a later line (a second failure on the way out) is dropped rather than thrown.
  logger.level = 'silent';
}
