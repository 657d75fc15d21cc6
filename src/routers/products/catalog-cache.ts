import { LRUCache } from 'lru-cache';
import type { Em } from '../../db/orm.js';
import { countCatalogCache } from '../../metrics/registry.js';
import {
  fetchPage,
  fetchProducts,
  orderKey,
  readCatalogVersion,
  type CatalogQuery,
  type FetchedPage,
  type PageWindow,
  type ProductRecord,
} from './queries.js';

interface CachedTotal {
  version: string;
  total: number;
}

interface CachedPage extends CachedTotal {
  ids: string[];
}

interface CatalogCache {
  /** Per matching set (filters and search words), shared by every page and sort order. */
  totals: LRUCache<string, CachedTotal>;
  /** Which products, in which order, make up one page; at most 100 ids each. */
  pages: LRUCache<string, CachedPage>;
  /** Page computations under way, by page and the catalog version their requests saw. */
  inFlight: Map<string, Promise<FetchedPage & CountedPage>>;
}

/** One cache per ORM instance (connection pool), so never shared between databases. */
const caches = new WeakMap<object, CatalogCache>();

function cacheFor(em: Em): CatalogCache {
  const driver = em.getDriver();
  let cache = caches.get(driver);
  if (!cache) {
    cache = { totals: new LRUCache({ max: 5000 }), pages: new LRUCache({ max: 2000 }), inFlight: new Map() };
    caches.set(driver, cache);
  }
  return cache;
}

export interface CountedPage {
  total: number;
  products: ProductRecord[];
}

/**
 * A page with its exact total, without counting or re-ranking on every request.
 *
 * The database bumps the catalog version (trigger on `product`) whenever a write
 * can change which products match some filter or search, or their order (price
 * changes bump a version of their own, read only by queries that involve
 * prices: see catalogVersionOf). Totals
 * and the ids of pages are cached with the version they were computed at and
 * used only while the version, read in the same statement as the products,
 * still matches: exact after every write, also when several processes share the
 * database. The products themselves are always read fresh (stock, for one,
 * changes without a new version).
 */
export async function countedPage(em: Em, query: CatalogQuery, window: PageWindow): Promise<CountedPage> {
  const cache = cacheFor(em);
  const pageKey = JSON.stringify([query.key, orderKey(query), window.offset, window.limit]);
  const cachedPage = cache.pages.get(pageKey);
  let currentVersion: string;
  if (cachedPage) {
    const page = await fetchProducts(em, query, cachedPage.ids);
    const hit = page?.version === cachedPage.version;
    countCatalogCache(hit);
    if (hit) return { total: cachedPage.total, products: page.products };
    currentVersion = page?.version ?? (await readCatalogVersion(em, query));
  } else {
    countCatalogCache(false);
    currentVersion = await readCatalogVersion(em, query);
  }

  // Right after a write, every request for a busy page misses at once: one of them
  // computes it and the others wait for that result instead of repeating the
  // (possibly expensive) count and ranking. Joining only a computation keyed by the
  // version this request read after it arrived keeps the answer exact: the shared
  // result is read at that version or a later one.
  const flightKey = `${pageKey}@${currentVersion}`;
  let flight = cache.inFlight.get(flightKey);
  if (!flight) {
    flight = computePage(em, cache, query, window).finally(() => cache.inFlight.delete(flightKey));
    cache.inFlight.set(flightKey, flight);
  }
  const page = await flight;
  cache.pages.set(pageKey, { version: page.version, total: page.total, ids: page.products.map((p) => p.id) });
  return { total: page.total, products: page.products };
}

async function computePage(em: Em, cache: CatalogCache, query: CatalogQuery, window: PageWindow): Promise<FetchedPage & CountedPage> {
  const cachedTotal = cache.totals.get(query.key);
  if (cachedTotal) {
    if (window.offset >= cachedTotal.total) {
      const version = await readCatalogVersion(em, query);
      if (version === cachedTotal.version) return { version, total: cachedTotal.total, products: [] };
    } else {
      const page = await fetchPage(em, query, window, false);
      if (page.version === cachedTotal.version) return { ...page, total: cachedTotal.total };
    }
  }
  const page = await fetchPage(em, query, window, true);
  cache.totals.set(query.key, { version: page.version, total: page.total });
  return page;
}
