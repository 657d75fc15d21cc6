import { arrayLiteral } from '../../db/array-literal.js';
import type { Em } from '../../db/orm.js';
import { queryPrepared } from '../../db/prepared.js';
import type { Attributes } from '../../entities/Product.js';
import type { ProductSort } from './schemas.js';

/** A piece of SQL with `?` placeholders and their values, composable with the `sql` tag. */
interface Fragment {
  readonly text: string;
  readonly params: readonly unknown[];
}

const isFragment = (value: unknown): value is Fragment =>
  typeof value === 'object' && value !== null && 'text' in value && 'params' in value;

/** Values become bound parameters; nested fragments are spliced in with their own parameters. */
function sql(strings: TemplateStringsArray, ...values: unknown[]): Fragment {
  let text = strings[0]!;
  const params: unknown[] = [];
  values.forEach((value, i) => {
    if (isFragment(value)) {
      text += value.text;
      params.push(...value.params);
    } else {
      text += '?';
      params.push(value);
    }
    text += strings[i + 1]!;
  });
  return { text, params };
}

const join = (fragments: Fragment[], separator: string): Fragment => ({
  text: fragments.map((f) => f.text).join(separator),
  params: fragments.flatMap((f) => f.params),
});

const verbatim = (text: string): Fragment => ({ text, params: [] });

export interface CatalogFilter {
  category?: string | undefined;
  minPriceCents?: number | undefined;
  maxPriceCents?: number | undefined;
  inStock?: boolean | undefined;
}

/** A full-text query: `match` must hold; `nameTerms` (one per word, weight A only) rank name matches first. */
export interface TextQuery {
  match: string;
  nameTerms: string[];
}

/**
 * What a page is drawn from. `key` identifies the matching set (not its order)
 * and whether prices matter, so list pages in every sort order that reads no
 * price share one cached total.
 */
export interface CatalogQuery {
  key: string;
  filter: CatalogFilter;
  order: { sort: ProductSort } | { relevance: TextQuery };
  /** Price filters or a price sort: the answer also changes with any price. */
  pricesMatter: boolean;
}

const filtersByPrice = (filter: CatalogFilter) => filter.minPriceCents !== undefined || filter.maxPriceCents !== undefined;

export function listQuery(filter: CatalogFilter, sort: ProductSort): CatalogQuery {
  const pricesMatter = filtersByPrice(filter) || sort === 'price_asc' || sort === 'price_desc';
  return { key: JSON.stringify(['list', filter, pricesMatter]), filter, order: { sort }, pricesMatter };
}

export function searchQuery(filter: CatalogFilter, text: TextQuery): CatalogQuery {
  const pricesMatter = filtersByPrice(filter);
  return { key: JSON.stringify(['search', text.match, filter, pricesMatter]), filter, order: { relevance: text }, pricesMatter };
}

function matching(query: CatalogQuery): Fragment {
  const { filter } = query;
  const conditions = [verbatim('p.deleted_at is null')];
  // lower() on both sides, exactly as in the category indexes.
  if (filter.category !== undefined) conditions.push(sql`lower(p.category) = lower(${filter.category}::text)`);
  if (filter.minPriceCents !== undefined) conditions.push(sql`p.price_cents >= ${filter.minPriceCents}`);
  if (filter.maxPriceCents !== undefined) conditions.push(sql`p.price_cents <= ${filter.maxPriceCents}`);
  if (filter.inStock !== undefined) conditions.push(verbatim(filter.inStock ? 'p.stock > 0' : 'p.stock = 0'));
  if ('relevance' in query.order) {
    conditions.push(sql`p.search_vector @@ to_tsquery('simple', ${query.order.relevance.match}::text)`);
  }
  return join(conditions, ' and ');
}

interface Ordering {
  /** Sort-key columns the page subquery returns, so the outer query can re-apply the order. */
  keys: Fragment;
  inner: string;
  outer: string;
}

/** Every sort ends with `id` ascending, the unique tie-breaker; each has a matching index. */
const SORTS: Record<ProductSort, Ordering> = {
  newest: { keys: verbatim('p.created_at'), inner: 'p.created_at desc, p.id', outer: 'page.created_at desc, page.id' },
  price_asc: { keys: verbatim('p.price_cents'), inner: 'p.price_cents, p.id', outer: 'page.price_cents, page.id' },
  price_desc: { keys: verbatim('p.price_cents'), inner: 'p.price_cents desc, p.id', outer: 'page.price_cents desc, page.id' },
  name_asc: { keys: verbatim('lower(p.name) collate "C" as name_key'), inner: 'lower(p.name) collate "C", p.id', outer: 'page.name_key, page.id' },
};

/** The number of query words found in the name: any name match outranks matches found only elsewhere. */
function byRelevance(text: TextQuery): Ordering {
  const nameHits = join(
    text.nameTerms.map((term) => sql`(p.search_vector @@ to_tsquery('simple', ${term}::text))::int`),
    ' + ',
  );
  return { keys: sql`${nameHits} as relevance`, inner: 'relevance desc, p.id', outer: 'page.relevance desc, page.id' };
}

const orderingOf = (query: CatalogQuery): Ordering =>
  'sort' in query.order ? SORTS[query.order.sort] : byRelevance(query.order.relevance);

/** The order a page's ids were cached in: list pages differ by sort, search pages share one order. */
export const orderKey = (query: CatalogQuery): string => ('sort' in query.order ? query.order.sort : 'relevance');

/** Contract time format (UTC, milliseconds), produced by PostgreSQL so rows need no date parsing. */
const isoTime = (column: string) => `to_char(${column} at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"')`;

const PRODUCT_COLUMNS = verbatim(
  `p.id, p.name, p.description, p.price_cents, p.image_url, p.category, p.stock, p.attributes, ` +
    `${isoTime('p.created_at')} as created_at, ${isoTime('p.updated_at')} as updated_at`,
);

/**
 * A product as catalog pages read it: plain data straight from the row. Pages are
 * read-only, so they skip entity hydration and change tracking (the largest
 * per-request cost of a list request when profiled).
 */
export interface ProductRecord {
  id: string;
  name: string;
  description: string;
  priceCents: number;
  imageUrl: string | null;
  category: string | null;
  stock: number;
  attributes: Attributes;
  createdAt: string;
  updatedAt: string;
}

interface ProductRow {
  id: string;
  name: string;
  description: string;
  price_cents: number;
  image_url: string | null;
  category: string | null;
  stock: number;
  attributes: Attributes;
  created_at: string;
  updated_at: string;
}

const toRecord = (row: ProductRow): ProductRecord => ({
  id: row.id,
  name: row.name,
  description: row.description,
  priceCents: row.price_cents,
  imageUrl: row.image_url,
  category: row.category,
  stock: row.stock,
  attributes: row.attributes,
  createdAt: row.created_at,
  updatedAt: row.updated_at,
});

/**
 * The catalog version a query's answer is valid at. The database bumps `version`
 * on every change that can alter which products match or their order, except
 * price changes, which bump `price_version`: only answers that read prices
 * depend on it, so a price edit leaves cached text searches and newest-first
 * pages valid (their products are re-read anyway, with current prices).
 */
const catalogVersionOf = (query: Pick<CatalogQuery, 'pricesMatter'>): Fragment =>
  verbatim(
    query.pricesMatter
      ? `(select version::text || '.' || price_version::text from catalog_state)`
      : `(select version::text from catalog_state)`,
  );

export interface PageWindow {
  offset: number;
  limit: number;
}

export interface FetchedPage {
  /** The catalog version the page (and total, when counted) was read at. */
  version: string;
  products: ProductRecord[];
}

type Row = { catalog_version: unknown; total?: unknown } & (ProductRow | { id: null });

function toFetchedPage(rows: Row[]): FetchedPage & { total: number | null } {
  const first = rows[0]!;
  return {
    version: String(first.catalog_version),
    total: first.total === null || first.total === undefined ? null : Number(first.total),
    products: rows.filter((row): row is Row & ProductRow => row.id !== null).map(toRecord),
  };
}

/**
 * One statement, so one snapshot and one round trip: the catalog version, the
 * page, and (with `count`) the total. When counting, the page is skipped if it
 * starts past the end. The page subquery walks only ids and sort keys (mostly
 * an index-only scan, which keeps deep offsets cheap); whole rows are read for
 * the page alone. Only the outermost ORDER BY guarantees the order of the
 * result, so it re-applies the order to the page's rows.
 */
export async function fetchPage(em: Em, query: CatalogQuery, window: PageWindow, count: true): Promise<FetchedPage & { total: number }>;
export async function fetchPage(em: Em, query: CatalogQuery, window: PageWindow, count: false): Promise<FetchedPage>;
export async function fetchPage(em: Em, query: CatalogQuery, window: PageWindow, count: boolean): Promise<FetchedPage & { total?: number }> {
  const where = matching(query);
  const ordering = orderingOf(query);
  const total = count ? sql`(select count(*) from product p where ${where})` : verbatim('null::bigint');
  const pastTheEnd = count ? sql` and ${window.offset} < s.total` : verbatim('');
  // Materialized: otherwise PostgreSQL inlines `s` and counts a second time for the past-the-end check.
  const statement = sql`
    with s as materialized (select ${catalogVersionOf(query)} as catalog_version, ${total} as total)
    select s.catalog_version, s.total, ${PRODUCT_COLUMNS}
    from s
    left join lateral (
      select p.id, ${ordering.keys}
      from product p
      where ${where}${pastTheEnd}
      order by ${verbatim(ordering.inner)}
      limit ${window.limit} offset ${window.offset}
    ) page on true
    left join product p on p.id = page.id
    order by ${verbatim(ordering.outer)}`;

  const { total: counted, ...page } = toFetchedPage(await queryPrepared<Row>(em, statement.text, statement.params));
  return count ? { ...page, total: counted ?? 0 } : page;
}

/**
 * The products with these ids, in this order, with the catalog version read in
 * the same statement. `id = any(…)` is one bitmap scan of the primary key; joining
 * an unnest() of the ids to keep their order cost PostgreSQL about 40 % more per
 * page (pgbench), so the order is restored here. `undefined` when a product is
 * gone, which the version alone would not show if a row vanished outside the API.
 */
export async function fetchProducts(em: Em, query: CatalogQuery, ids: string[]): Promise<FetchedPage | undefined> {
  if (ids.length === 0) return { version: await readCatalogVersion(em, query), products: [] };
  const statement = sql`
    select ${catalogVersionOf(query)} as catalog_version, ${PRODUCT_COLUMNS}
    from product p
    where p.id = any(${arrayLiteral(ids)}::uuid[])`;
  const rows = await queryPrepared<ProductRow & { catalog_version: unknown }>(em, statement.text, statement.params);
  const byId = new Map(rows.map((row) => [row.id, row]));
  const products: ProductRecord[] = [];
  for (const id of ids) {
    const row = byId.get(id);
    if (!row) return undefined;
    products.push(toRecord(row));
  }
  return { version: String(rows[0]!.catalog_version), products };
}

/** One live product as a plain record, or undefined (unknown or deleted). */
export async function fetchLiveProduct(em: Em, id: string): Promise<ProductRecord | undefined> {
  const statement = sql`select ${PRODUCT_COLUMNS} from product p where p.id = ${id}::uuid and p.deleted_at is null`;
  const [row] = await queryPrepared<ProductRow>(em, statement.text, statement.params);
  return row && toRecord(row);
}

export async function readCatalogVersion(em: Em, query: CatalogQuery): Promise<string> {
  const statement = sql`select ${catalogVersionOf(query)} as version`;
  const [row] = await queryPrepared<{ version: string }>(em, statement.text, statement.params);
  return row!.version;
}
