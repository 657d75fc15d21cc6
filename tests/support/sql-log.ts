import type { Orm } from '../../src/db/orm.js';

/** Runs `work` with the ORM's query log captured; returns its result and every SQL statement it sent. */
export async function captureSql<T>(orm: Orm, work: () => Promise<T>): Promise<{ result: T; statements: string[] }> {
  // The ORM re-applies its `debug` option to the logger on every config change, so query logging goes through it.
  const logger = orm.config.getLogger() as unknown as { writer: (message: string) => void };
  const originalWriter = logger.writer;
  const statements: string[] = [];
  logger.writer = (message) => statements.push(message);
  orm.config.set('debug', ['query']);
  try {
    return { result: await work(), statements };
  } finally {
    orm.config.set('debug', false);
    logger.writer = originalWriter;
  }
}
