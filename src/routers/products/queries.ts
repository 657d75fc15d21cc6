import { arrayLiteral } from '../../db/array-literal.js';
import type { Em } from '../../db/orm.js';
import { join, queryRows, sql, verbatim, type Fragment } from '../../db/sql.js';
import type { Attributes } from '../../entities/Product.js';
import type { ProductSort } from './schemas.js';

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

/** What a page is drawn from. `key` identifies the matching set (not its order): every sort order shares one cached total. */
export interface CatalogQuery {
  key: string;
  filter: CatalogFilter;
  order: { sort: ProductSort } | { relevance: TextQuery };
}

export function listQuery(filter: CatalogFilter, sort: ProductSort): CatalogQuery {
  return { key: JSON.stringify(['list', filter]), filter, order: { sort } };
}

export function searchQuery(filter: CatalogFilter, text: TextQuery): CatalogQuery {
  return { key: JSON.stringify(['search', text.match, filter]), filter, order: { relevance: text } };
}

/**
 * Where the rows a filter reads come from: the product table, or the change
 * log, whose rows carry the same columns for one logged state of a product
 * (live states only, so no `deleted_at`).
 */
type Source = 'product' | 'change';
const aliasOf = (source: Source) => (source === 'product' ? 'p' : 'c');

function matching(query: CatalogQuery, source: Source): Fragment {
  const { filter } = query;
  const a = aliasOf(source);
  const conditions = source === 'product' ? [verbatim('p.deleted_at is null')] : [];
  // lower() on both sides, exactly as in the category indexes.
  if (filter.category !== undefined) conditions.push(sql`lower(${verbatim(a)}.category) = lower(${filter.category}::text)`);
  if (filter.minPriceCents !== undefined) conditions.push(sql`${verbatim(a)}.price_cents >= ${filter.minPriceCents}`);
  if (filter.maxPriceCents !== undefined) conditions.push(sql`${verbatim(a)}.price_cents <= ${filter.maxPriceCents}`);
  if (filter.inStock !== undefined) conditions.push(verbatim(filter.inStock ? `${a}.stock > 0` : `${a}.stock = 0`));
  if ('relevance' in query.order) {
    conditions.push(sql`${verbatim(a)}.search_vector @@ to_tsquery('simple', ${query.order.relevance.match}::text)`);
  }
  return conditions.length > 0 ? join(conditions, ' and ') : verbatim('true');
}

/** Every order is one sort key, then `id` ascending (the unique tie-breaker); each list order has a matching index. */
interface Ordering {
  key(source: Source): Fragment;
  descending: boolean;
  /** The key of `column` as text that casts back to the same value with `keyType`, whatever the session settings. */
  keyText(column: string): string;
  keyType: string;
}

const column = (name: string) => (source: Source) => verbatim(`${aliasOf(source)}.${name}`);

const SORTS: Record<ProductSort, Ordering> = {
  newest: {
    key: column('created_at'),
    descending: true,
    keyText: (c) => `to_char(${c} at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"')`,
    keyType: 'timestamptz',
  },
  price_asc: { key: column('price_cents'), descending: false, keyText: (c) => `${c}::text`, keyType: 'int' },
  price_desc: { key: column('price_cents'), descending: true, keyText: (c) => `${c}::text`, keyType: 'int' },
  // The "C" collation, as in the name indexes, so every database orders names identically.
  name_asc: {
    key: (source) => verbatim(`lower(${aliasOf(source)}.name) collate "C"`),
    descending: false,
    keyText: (c) => c,
    keyType: 'text collate "C"',
  },
};

/** The number of query words found in the name: any name match outranks matches found only elsewhere. */
const byRelevance = (text: TextQuery): Ordering => ({
  key: (source) =>
    join(
      text.nameTerms.map((term) => sql`(${verbatim(aliasOf(source))}.search_vector @@ to_tsquery('simple', ${term}::text))::int`),
      ' + ',
    ),
  descending: true,
  keyText: (c) => `${c}::text`,
  keyType: 'int',
});

const orderingOf = (query: CatalogQuery): Ordering =>
  'sort' in query.order ? SORTS[query.order.sort] : byRelevance(query.order.relevance);

/** The order a page's ids were cached in: list pages differ by sort, search pages share one order. */
export const orderKey = (query: CatalogQuery): string => ('sort' in query.order ? query.order.sort : 'relevance');

/** Where a row sits in its page's order: its sort key (as keyText renders it) and id. */
export interface SortPosition {
  key: string;
  id: string;
}

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

/** No product: the one row a left join answers when a page is empty. */
interface NoProductRow {
  id: null;
}

const isProduct = <Row extends { id: string | null }>(row: Row): row is Extract<Row, { id: string }> => row.id !== null;

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
 * Beyond this many log rows since a cached figure, recounting is cheaper than
 * replaying them (and the log may be pruned meanwhile anyway).
 */
export const MAX_REPLAYED_CHANGES = 5_000;

/** A figure as of a snapshot: `snapshot` is pg_current_snapshot() as text, read in the same statement. */
export interface AtSnapshot {
  snapshot: string;
}

export interface CachedTotal extends AtSnapshot {
  total: number;
}

/**
 * The change-log rows committed since `since` (visible in this statement's
 * snapshot, not in that one; migration Migration20261202120000_catalog_change_log
 * explains why this is exact), at most one past MAX_REPLAYED_CHANGES.
 */
const changesSince = (since: AtSnapshot): Fragment => sql`
  since as materialized (select ${since.snapshot}::pg_snapshot as snapshot),
  changes as materialized (
    select c.* from catalog_change c
    where c.xid >= (select pg_snapshot_xmin(snapshot) from since)
      and not pg_visible_in_snapshot(c.xid, (select snapshot from since))
    limit ${MAX_REPLAYED_CHANGES + 1})`;

/**
 * `freshness.stale`: the changes cannot bring a figure from `since` up to
 * date (pruned, too many, or a bulk reset among them). Its own CTE so that the
 * sums over the changes are guarded by it (`unlessStale`): a subquery in a CASE
 * branch not taken is never run.
 */
const freshness: Fragment = sql`
  freshness as materialized (select (
    (select change_log_pruned_below from catalog_state) > (select pg_snapshot_xmin(snapshot) from since)
    or (select count(*) from changes) > ${MAX_REPLAYED_CHANGES}
    or coalesce((select bool_or(reset) from changes), false)) as stale)`;

const unlessStale = (value: Fragment): Fragment => sql`case when (select stale from freshness) then null else ${value} end`;

/** The total as of this statement: the cached total plus one per logged state entering the matching set, minus one per state leaving it. */
const totalSince = (query: CatalogQuery, cached: CachedTotal): Fragment =>
  sql`${cached.total}::int + (select coalesce(sum(c.sign), 0)::int from changes c where ${matching(query, 'change')})`;

/**
 * Whether the changes alter a page whose last row is `last` (undefined: the page
 * is not full, so a row anywhere after its start could join it). Per product and
 * sort key, the logged signs add up to +1 when that position entered the
 * matching set, −1 when it left, 0 when nothing moved (a price edit in a
 * newest-first list: the state before and after match, at the same key). A page
 * changes only if some position at or before its last row entered or left.
 */
function pageChangedSince(query: CatalogQuery, last: SortPosition | undefined): Fragment {
  const ordering = orderingOf(query);
  const key = sql`${last?.key ?? null}::${verbatim(ordering.keyType)}`;
  const before = ordering.descending ? '>' : '<';
  const atOrBeforeLast = last
    ? sql`where (m.sort_key ${verbatim(before)} ${key} or (m.sort_key = ${key} and m.id <= ${last.id}::uuid))`
    : verbatim('');
  return sql`exists (
    select from (select c.id, c.sign, ${ordering.key('change')} as sort_key from changes c where ${matching(query, 'change')}) m
    ${atOrBeforeLast}
    group by m.id, m.sort_key having sum(m.sign) <> 0)`;
}

export interface PageWindow {
  offset: number;
  limit: number;
}

/** One page of a catalog query, with its total, both as of `snapshot`. */
export interface CatalogPage extends CachedTotal {
  products: ProductRecord[];
  /** Where the page's last product sits in the order; undefined for an empty page. */
  last: SortPosition | undefined;
}

/** The figures as of this statement's snapshot; none when stale (then they are recomputed). */
type SummaryRow = { snapshot: string } & ({ stale: true; total: null } | { stale: false; total: number });

type PageRow = SummaryRow & ((ProductRow & { sort_key: string }) | (NoProductRow & { sort_key: null }));

/**
 * One statement, so one snapshot and one round trip: the snapshot, the total
 * (counted, or brought up to date from a cached total through the change log),
 * and the page. The page is skipped if it starts past the end. The page
 * subquery walks only ids and sort keys (mostly an index-only scan, which keeps
 * deep offsets cheap); whole rows are read for the page alone. Only the
 * outermost ORDER BY guarantees the order of the result, so it re-applies the
 * order to the page's rows. Undefined when the cached total could not be
 * brought up to date (then count).
 */
export async function fetchPage(em: Em, query: CatalogQuery, window: PageWindow, from: 'count'): Promise<CatalogPage>;
export async function fetchPage(em: Em, query: CatalogQuery, window: PageWindow, from: CachedTotal): Promise<CatalogPage | undefined>;
export async function fetchPage(em: Em, query: CatalogQuery, window: PageWindow, from: 'count' | CachedTotal): Promise<CatalogPage | undefined> {
  const where = matching(query, 'product');
  const ordering = orderingOf(query);
  const direction = verbatim(ordering.descending ? 'desc' : 'asc');
  const summary =
    from === 'count'
      ? sql`with s as materialized (
          select pg_current_snapshot()::text as snapshot, false as stale, (select count(*)::int from product p where ${where}) as total)`
      : sql`with ${changesSince(from)}, ${freshness},
        s as materialized (
          select pg_current_snapshot()::text as snapshot, (select stale from freshness) as stale, ${unlessStale(totalSince(query, from))} as total)`;
  // Materialized: otherwise PostgreSQL inlines `s` and counts a second time for the past-the-end check.
  const statement = sql<PageRow>`${summary}
    select s.snapshot, s.stale, s.total, ${verbatim(ordering.keyText('page.sort_key'))} as sort_key, ${PRODUCT_COLUMNS}
    from s
    left join lateral (
      select p.id, ${ordering.key('product')} as sort_key
      from product p
      where ${where} and ${window.offset}::bigint < s.total
      order by sort_key ${direction}, p.id
      limit ${window.limit} offset ${window.offset}
    ) page on true
    left join product p on p.id = page.id
    order by page.sort_key ${direction}, page.id`;

  const rows = await queryRows(em, statement);
  const first = rows[0]!;
  if (first.stale) return undefined;
  const products = rows.filter(isProduct);
  const lastRow = products.at(-1);
  return {
    snapshot: first.snapshot,
    total: first.total,
    products: products.map(toRecord),
    last: lastRow && { key: lastRow.sort_key, id: lastRow.id },
  };
}

/** A page whose ids (in order) were read as of `snapshot`, with the total then. */
export interface CachedPage extends CachedTotal {
  ids: string[];
  /** Undefined when the page was not full: then any change in the matching set may alter it. */
  last: SortPosition | undefined;
}

export type CachedPageRead =
  | { kind: 'current'; page: CatalogPage }
  /** The page's rows moved: its total is still known (as of `total.snapshot`). */
  | { kind: 'moved'; total: CachedTotal }
  /** Neither the page nor its total can be brought up to date. */
  | { kind: 'stale' };

type CachedPageRow = { snapshot: string } & ({ stale: true; total: null; page_changed: null } | { stale: false; total: number; page_changed: boolean }) &
  (ProductRow | NoProductRow);

/**
 * A cached page brought up to date in one statement: the changes since it was
 * read, and its products re-read fresh (stock, for one, changes without a log
 * row). Stays `current` when no change can move a row at or before its end.
 */
export async function fetchCachedPage(em: Em, query: CatalogQuery, cached: CachedPage): Promise<CachedPageRead> {
  const statement = sql<CachedPageRow>`
    with ${changesSince(cached)}, ${freshness},
    s as materialized (
      select pg_current_snapshot()::text as snapshot, (select stale from freshness) as stale,
        ${unlessStale(totalSince(query, cached))} as total, ${unlessStale(pageChangedSince(query, cached.last))} as page_changed)
    select s.snapshot, s.stale, s.total, s.page_changed, ${PRODUCT_COLUMNS}
    from s
    left join product p on p.id = any(${arrayLiteral(cached.ids)}::uuid[])`;

  const rows = await queryRows(em, statement);
  const first = rows[0]!;
  if (first.stale) return { kind: 'stale' };
  const total = { snapshot: first.snapshot, total: first.total };
  if (first.page_changed) return { kind: 'moved', total };

  const byId = new Map(rows.filter(isProduct).map((row) => [row.id, row]));
  const products: ProductRecord[] = [];
  for (const id of cached.ids) {
    const row = byId.get(id);
    // Gone without a log row (removed outside the triggers' reach): recount.
    if (!row) return { kind: 'stale' };
    products.push(toRecord(row));
  }
  return { kind: 'current', page: { ...total, products, last: cached.last } };
}

/** One live product as a plain record, or undefined (unknown or deleted). */
export async function fetchLiveProduct(em: Em, id: string): Promise<ProductRecord | undefined> {
  const [row] = await queryRows(
    em,
    sql<ProductRow>`select ${PRODUCT_COLUMNS} from product p where p.id = ${id}::uuid and p.deleted_at is null`,
  );
  return row && toRecord(row);
}
