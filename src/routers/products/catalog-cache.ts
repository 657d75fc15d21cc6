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

/** A page computation, joinable by every request that arrived before it sent its statement. */
interface Flight {
  /** The cache's clock when the computation sent its statement; undefined until then. */
  startedAt: number | undefined;
  result: Promise<CatalogPage>;
}

interface CatalogCache {
  /** Per matching set (filters and search words), shared by every page and sort order. */
  totals: LRUCache<string, CachedTotal>;
  /** Which products, in which order, make up one page; at most 100 ids each. */
  pages: LRUCache<string, CachedPage>;
  /** The latest page computation per page. */
  flights: Map<string, Flight>;
  /** Ticks once per request and once per computation start: orders arrivals against statements. */
  clock: number;
}

/** One cache per ORM instance (connection pool), so never shared between databases. */
const caches = new WeakMap<object, CatalogCache>();

function cacheFor(em: Em): CatalogCache {
  const driver = em.getDriver();
  let cache = caches.get(driver);
  if (!cache) {
    cache = { totals: new LRUCache({ max: 5000 }), pages: new LRUCache({ max: 2000 }), flights: new Map(), clock: 0 };
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
  const arrivedAt = ++cache.clock;
  const pageKey = JSON.stringify([query.key, orderKey(query), window.offset, window.limit]);
  let page = await storedPageIfCurrent(em, cache, query, pageKey, window);
  // Out of date, and its recomputation was already under way when this request arrived, so that
  // answer may miss a write this one must see: wait for it, then check the page it stored, in a
  // statement of this request's own. Queueing a recomputation instead cost a deep page (an offset
  // scan) two per change. A computation that started after this request arrived is joined below.
  const running = cache.flights.get(pageKey);
  if (!page && running?.startedAt !== undefined && running.startedAt < arrivedAt) {
    await running.result.catch(() => undefined);
    page = await storedPageIfCurrent(em, cache, query, pageKey, window);
  }
  if (page) {
    countCatalogCache(true);
    return { total: page.total, products: page.products };
  }
  countCatalogCache(false);
  const computed = await shared(cache, pageKey, arrivedAt, () => computePage(em, cache, query, window));
  remember(cache, query, pageKey, window, computed);
  return { total: computed.total, products: computed.products };
}

/**
 * The stored page, re-read with its total moved through the log since it was stored, if no
 * change entered or left it (or it is empty and still past the end); else undefined, with the
 * moved total kept for the recomputation (or dropped when the log cannot bring it up to date).
 */
async function storedPageIfCurrent(em: Em, cache: CatalogCache, query: CatalogQuery, pageKey: string, window: PageWindow): Promise<CatalogPage | undefined> {
  const cached = cache.pages.get(pageKey);
  if (!cached) return undefined;
  const read = await fetchCachedPage(em, query, cached);
  if (read.kind === 'current' || (read.kind === 'moved' && cached.ids.length === 0 && window.offset >= read.total.total)) {
    const page = read.kind === 'current' ? read.page : { ...read.total, products: [], last: undefined };
    remember(cache, query, pageKey, window, page);
    return page;
  }
  if (read.kind === 'moved') cache.totals.set(query.key, read.total);
  else cache.totals.delete(query.key);
  return undefined;
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
 * joins a computation that has not sent its statement yet, or sent it after the
 * request arrived: either way the answer is read in a snapshot taken after the
 * request arrived, so it reflects every write that completed before. A new
 * computation waits for the one under way (or one turn of the event loop),
 * gathering the requests that arrive meanwhile.
 */
function shared(cache: CatalogCache, key: string, arrivedAt: number, compute: () => Promise<CatalogPage>): Promise<CatalogPage> {
  const latest = cache.flights.get(key);
  if (latest && (latest.startedAt === undefined || latest.startedAt > arrivedAt)) return latest.result;
  const flight: Flight = { startedAt: undefined, result: Promise.resolve(undefined as never) };
  flight.result = (async () => {
    if (latest) await latest.result.catch(() => undefined);
    else await new Promise((resolve) => setImmediate(resolve));
    flight.startedAt = ++cache.clock;
    return compute();
  })().finally(() => {
    if (cache.flights.get(key) === flight) cache.flights.delete(key);
  });
  cache.flights.set(key, flight);
  return flight.result;
}
