import { LRUCache } from 'lru-cache';
import type { Em } from '../../db/orm.js';
import { countCatalogCache } from '../../metrics/registry.js';
import {
  fetchCachedPage,
  fetchPage,
  orderKey,
  type CachedPage,
  type CachedTotal,
  type CatalogPage,
  type CatalogQuery,
  type PageWindow,
  type ProductRecord,
} from './queries.js';

/** A page computation, joinable by requests that arrive before it sends its first statement. */
interface Flight {
  started: boolean;
  result: Promise<CatalogPage>;
}

interface CatalogCache {
  /** Per matching set (filters and search words), shared by every page and sort order. */
  totals: LRUCache<string, CachedTotal>;
  /** Which products, in which order, make up one page; at most 100 ids each. */
  pages: LRUCache<string, CachedPage>;
  /** The latest page computation per page. */
  flights: Map<string, Flight>;
}

/** One cache per ORM instance (connection pool), so never shared between databases. */
const caches = new WeakMap<object, CatalogCache>();

function cacheFor(em: Em): CatalogCache {
  const driver = em.getDriver();
  let cache = caches.get(driver);
  if (!cache) {
    cache = { totals: new LRUCache({ max: 5000 }), pages: new LRUCache({ max: 2000 }), flights: new Map() };
    caches.set(driver, cache);
  }
  return cache;
}

export interface CountedPage {
  total: number;
  products: ProductRecord[];
}

/**
 * A page with its exact total, without counting or ranking on every request,
 * and with work proportional to what changed rather than to the catalog.
 *
 * Totals and page ids are cached with the database snapshot they were read in.
 * The next request reads, in one statement with the products, the change-log
 * rows committed since that snapshot (migration
 * Migration20261202120000_catalog_change_log): the total moves by the logged
 * states entering or leaving the matching set, and the page is reused unless a
 * change entered or left it at or before its last row, in which case only the
 * page is recomputed (the total carried along through the log). A count runs
 * only for a matching set seen for the first time, or when the log since the
 * cached snapshot is pruned or too long. Everything is read from the database
 * in each request's own statement, so it is exact after every write, also when
 * several processes share the database, and a cache lost in a restart is just
 * empty. The products themselves are always read fresh.
 */
export async function countedPage(em: Em, query: CatalogQuery, window: PageWindow): Promise<CountedPage> {
  const cache = cacheFor(em);
  const pageKey = JSON.stringify([query.key, orderKey(query), window.offset, window.limit]);
  for (let waited = false; ; waited = true) {
    const cached = cache.pages.get(pageKey);
    if (!cached) break;
    const read = await fetchCachedPage(em, query, cached);
    if (read.kind === 'current' || (read.kind === 'moved' && cached.ids.length === 0 && window.offset >= read.total.total)) {
      // Current, or empty and still past the end.
      const page = read.kind === 'current' ? read.page : { ...read.total, products: [], last: undefined };
      countCatalogCache(true);
      remember(cache, query, pageKey, window, page);
      return { total: page.total, products: page.products };
    }
    if (read.kind === 'moved') cache.totals.set(query.key, read.total);
    else cache.totals.delete(query.key);
    // The page moved and its recomputation is already under way, from a snapshot that may predate this
    // request: wait for it, then check the page it stores against the log once more, in a statement of
    // this request's own. Without this, every request arriving during a slow recomputation (a deep page:
    // an offset scan) queued a second one, and each change cost two.
    const running = cache.flights.get(pageKey);
    if (waited || !running?.started) break;
    await running.result.catch(() => undefined);
  }
  countCatalogCache(false);
  const page = await shared(cache, pageKey, () => computePage(em, cache, query, window));
  remember(cache, query, pageKey, window, page);
  return { total: page.total, products: page.products };
}

function remember(cache: CatalogCache, query: CatalogQuery, pageKey: string, window: PageWindow, page: CatalogPage): void {
  const { snapshot, total, products } = page;
  cache.totals.set(query.key, { snapshot, total });
  const full = products.length === window.limit;
  cache.pages.set(pageKey, { snapshot, total, ids: products.map((p) => p.id), last: full ? page.last : undefined });
}

async function computePage(em: Em, cache: CatalogCache, query: CatalogQuery, window: PageWindow): Promise<CatalogPage> {
  const cachedTotal = cache.totals.get(query.key);
  const page = cachedTotal && (await fetchPage(em, query, window, cachedTotal));
  return page ?? fetchPage(em, query, window, 'count');
}

/**
 * Right after a change, every request for a busy page misses at once: one
 * computation serves them all instead of each recomputing the page. A request
 * joins only a computation that has not sent a statement yet, so the answer it
 * gets is read in a snapshot taken after it arrived: it reflects every write
 * that completed before. A new computation waits for the one under way (or one
 * turn of the event loop), gathering the requests that arrive meanwhile.
 */
function shared(cache: CatalogCache, key: string, compute: () => Promise<CatalogPage>): Promise<CatalogPage> {
  const latest = cache.flights.get(key);
  if (latest && !latest.started) return latest.result;
  const flight: Flight = { started: false, result: Promise.resolve(undefined as never) };
  flight.result = (async () => {
    if (latest) await latest.result.catch(() => undefined);
    else await new Promise((resolve) => setImmediate(resolve));
    flight.started = true;
    return compute();
  })().finally(() => {
    if (cache.flights.get(key) === flight) cache.flights.delete(key);
  });
  cache.flights.set(key, flight);
  return flight.result;
}
