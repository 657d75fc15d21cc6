import { setTimeout as sleep } from 'node:timers/promises';
import type { Express } from 'express';
import type { Orm } from '../db/orm.js';
import { databaseUnavailable } from '../errors.js';
import { sendError } from './error-envelope.js';
import { onlyMethods } from './fallbacks.js';

/** A database that accepts connections but never answers must not hang the readiness probe. */
const READY_TIMEOUT_MS = 2_000;

async function databaseAnswers(orm: Orm): Promise<boolean> {
  const timeout = new AbortController();
  try {
    return await Promise.race([
      orm.em.getConnection().execute('select 1').then(
        () => true,
        () => false,
      ),
      sleep(READY_TIMEOUT_MS, false, { signal: timeout.signal }),
    ]);
  } finally {
    timeout.abort();
  }
}

/** Contract §11: `/health` says the process is up; `/ready` says the database answers too. */
export function mountProbes(app: Express, orm: Orm): void {
  app.get('/health', (_req, res) => {
    res.json({ status: 'ok' });
  });
  app.all('/health', onlyMethods('GET'));

  app.get('/ready', async (_req, res) => {
    if (await databaseAnswers(orm)) res.json({ status: 'ready' });
    else sendError(res, databaseUnavailable(), res.locals.requestId);
  });
  app.all('/ready', onlyMethods('GET'));
}
