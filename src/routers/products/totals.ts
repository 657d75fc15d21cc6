import type { Em } from '../../db/orm.js';
import type { Product } from '../../entities/Product.js';
import { fetchPage, readCatalogVersion, type CatalogQuery, type PageWindow } from './queries.js';

/** Enough for every filter combination a storefront really uses, yet bounded. */
const MAX_CACHED_TOTALS = 5000;

interface CachedTotal {
  version: string;
  total: number;
}

/** Least-recently-used map: a Map iterates in insertion order, so re-inserting on use keeps the oldest first. */
class TotalsCache {
  readonly #entries = new Map<string, CachedTotal>();

  get(key: string): CachedTotal | undefined {
    const entry = this.#entries.get(key);
    if (entry) {
      this.#entries.delete(key);
      this.#entries.set(key, entry);
    }
    return entry;
  }

  set(key: string, entry: CachedTotal): void {
    this.#entries.delete(key);
    this.#entries.set(key, entry);
    if (this.#entries.size > MAX_CACHED_TOTALS) {
      this.#entries.delete(this.#entries.keys().next().value!);
    }
  }
}

/** One cache per database connection pool (ORM instance), never shared between databases. */
const caches = new WeakMap<object, TotalsCache>();

function cacheFor(em: Em): TotalsCache {
  const driver = em.getDriver();
  let cache = caches.get(driver);
  if (!cache) {
    cache = new TotalsCache();
    caches.set(driver, cache);
  }
  return cache;
}

export interface CountedPage {
  total: number;
  products: Product[];
}

/**
 * A page with its exact total, without counting on every request. A total is
 * cached with the catalog version it was counted at; the database bumps that
 * version (trigger on `product`) whenever a write can change any total, so a
 * cached total is used only while the version read in the same statement as the
 * page still matches — exact after every write, also when several processes
 * share the database.
 */
export async function countedPage(em: Em, query: CatalogQuery, window: PageWindow): Promise<CountedPage> {
  const cache = cacheFor(em);
  const cached = cache.get(query.key);
  if (cached) {
    if (window.offset >= cached.total) {
      if ((await readCatalogVersion(em)) === cached.version) return { total: cached.total, products: [] };
    } else {
      const page = await fetchPage(em, query, window, false);
      if (page.version === cached.version) return { total: cached.total, products: page.products };
    }
  }
  const page = await fetchPage(em, query, window, true);
  cache.set(query.key, { version: page.version, total: page.total });
  return { total: page.total, products: page.products };
}
