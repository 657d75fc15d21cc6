import pg from 'pg';

type QueryCallback = (error: Error | null, result: pg.QueryResult) => void;

const callbackQuery = pg.Client.prototype.query as (this: pg.Client, config: unknown, values?: unknown, callback?: QueryCallback) => unknown;

/**
 * The PostgreSQL client the connection pool creates. The one difference from
 * pg's own: a query without a callback — the promise form, which is how Kysely
 * (under MikroORM) sends every statement — is sent in the callback form and
 * wrapped in a promise here.
 *
 * Why: pg's promise form builds its Query without a callback and attaches one
 * afterwards. Measured under load, that makes V8 keep finished query results
 * alive past young-generation collections (they are promoted and only freed by
 * full GCs; the effect disappears with --no-allocation-site-pretenuring, so it is
 * V8 pretenuring rather than a leak). Page 1 under load: ~1.3 MB promoted per
 * scavenge before, ~0.4 MB after; server RSS 290 → 210 MB; CPU per request −7 %.
 */
export class CallbackQueryClient extends pg.Client {}

CallbackQueryClient.prototype.query = function query(this: pg.Client, config: unknown, values?: unknown, callback?: QueryCallback) {
  const submittable = typeof (config as { submit?: unknown } | null)?.submit === 'function';
  if (callback !== undefined || typeof values === 'function' || submittable) return callbackQuery.call(this, config, values, callback);
  return new Promise<pg.QueryResult>((resolve, reject) => {
    callbackQuery.call(this, config, values, (error, result) => (error ? reject(error) : resolve(result)));
  });
} as typeof pg.Client.prototype.query;
