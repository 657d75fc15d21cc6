import { Counter, Gauge, Histogram, Registry } from 'prom-client';
import { toAppError } from '../error-mapping.js';

/**
 * The process's Prometheus metrics (prom-client), served on METRICS_PORT only
 * (src/metrics/server.ts). Every replica keeps its own: Prometheus scrapes each
 * process and sums across them.
 *
 * Labels are bounded sets only (route templates, methods, statuses, outcomes),
 * never raw paths, ids or user input: each label value is a time series.
 */
export const registry = new Registry();

export const httpRequests = new Counter({
  name: 'http_requests_total',
  help: 'HTTP requests answered on the API port, by route template, method and status',
  labelNames: ['route', 'method', 'status'] as const,
  registers: [registry],
});

export const httpRequestDuration = new Histogram({
  name: 'http_request_duration_seconds',
  help: 'Time from receiving an API request to the end of its response, by route template, method and status',
  labelNames: ['route', 'method', 'status'] as const,
  // Catalog reads take a few ms, checkouts tens; the top buckets catch a struggling database.
  buckets: [0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
  registers: [registry],
});

const catalogCache = new Counter({
  name: 'catalog_cache_requests_total',
  help: 'Catalog pages (product lists and searches) served from the page cache (hit) or recomputed (miss)',
  labelNames: ['result'] as const,
  registers: [registry],
});
const catalogCacheHits = catalogCache.labels('hit');
const catalogCacheMisses = catalogCache.labels('miss');

export const countCatalogCache = (hit: boolean): void => (hit ? catalogCacheHits : catalogCacheMisses).inc();

export type CheckoutOutcome = 'placed' | 'replayed' | 'cart_empty' | 'insufficient_stock' | 'promo_invalid' | 'error';

const checkouts = new Counter({
  name: 'checkout_total',
  help: 'Checkout attempts that reached the checkout step, by outcome',
  labelNames: ['outcome'] as const,
  registers: [registry],
});

const OUTCOME_BY_CODE: Partial<Record<string, CheckoutOutcome>> = {
  CART_EMPTY: 'cart_empty',
  INSUFFICIENT_STOCK: 'insufficient_stock',
  PROMO_CODE_INVALID: 'promo_invalid',
};

/** Counts the outcome of one checkout and passes its result (or error) on unchanged. */
export async function countCheckout<T extends { replayed: boolean }>(checkout: Promise<T>): Promise<T> {
  try {
    const result = await checkout;
    checkouts.inc({ outcome: result.replayed ? 'replayed' : 'placed' });
    return result;
  } catch (error) {
    checkouts.inc({ outcome: OUTCOME_BY_CODE[toAppError(error).code] ?? 'error' });
    throw error;
  }
}

/** What pg's Pool reports about itself. */
export interface PoolStats {
  totalCount: number;
  idleCount: number;
  waitingCount: number;
  options: { max?: number };
}

/**
 * Pool gauges for the database pool of this process, read at scrape time. Only
 * the PostgreSQL driver has a pool; the embedded PGlite has none to report.
 */
export function trackPool(pool: PoolStats): void {
  const gauges: [string, string, () => number][] = [
    ['db_pool_connections_in_use', 'Pooled database connections checked out by a query or transaction', () => pool.totalCount - pool.idleCount],
    ['db_pool_connections_idle', 'Open pooled database connections waiting for work', () => pool.idleCount],
    ['db_pool_requests_waiting', 'Queries and transactions waiting for a free pooled connection', () => pool.waitingCount],
    ['db_pool_connections_max', 'Most connections the pool opens', () => pool.options.max ?? 10],
  ];
  for (const [name, help, read] of gauges) {
    registry.removeSingleMetric(name);
    new Gauge({
      name,
      help,
      registers: [registry],
      collect() {
        this.set(read());
      },
    });
  }
}
