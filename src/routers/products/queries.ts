import type { Em } from '../../db/orm.js';
import { Product } from '../../entities/Product.js';
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
 * What a page is drawn from. `key` identifies the matching set (not its order),
 * so list pages in every sort order share one cached total.
 */
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

/** Every sort ends with `id` ascending, the unique tie-breaker; each has a matching index. */
const SORT_KEYS: Record<ProductSort, (alias: string) => string> = {
  newest: (t) => `${t}.created_at desc, ${t}.id`,
  price_asc: (t) => `${t}.price_cents, ${t}.id`,
  price_desc: (t) => `${t}.price_cents desc, ${t}.id`,
  name_asc: (t) => `lower(${t}.name) collate "C", ${t}.id`,
};

/** The number of query words found in the name: any name match outranks matches found only elsewhere. */
function relevance(text: TextQuery): Fragment {
  return join(
    text.nameTerms.map((term) => sql`(p.search_vector @@ to_tsquery('simple', ${term}::text))::int`),
    ' + ',
  );
}

const orderBy = (query: CatalogQuery, alias: string): string =>
  'sort' in query.order ? SORT_KEYS[query.order.sort](alias) : `${alias}.relevance desc, ${alias}.id`;

const PRODUCT_COLUMNS =
  'p.id, p.name, p.description, p.price_cents, p.image_url, p.category, p.stock, p.attributes, p.created_at, p.updated_at';

export interface PageWindow {
  offset: number;
  limit: number;
}

export interface FetchedPage {
  /** The catalog version the page (and total, when counted) was read at. */
  version: string;
  products: Product[];
}

/**
 * One statement, so one snapshot and one round trip: the catalog version, the
 * page, and (with `count`) the total. When counting, the page itself is skipped
 * if it starts past the end. The page is ordered inside the lateral subquery
 * (where the indexes serve it) and again outside, over at most `limit` rows,
 * because only the outermost ORDER BY guarantees the order of the result.
 */
export async function fetchPage(em: Em, query: CatalogQuery, window: PageWindow, count: true): Promise<FetchedPage & { total: number }>;
export async function fetchPage(em: Em, query: CatalogQuery, window: PageWindow, count: false): Promise<FetchedPage>;
export async function fetchPage(em: Em, query: CatalogQuery, window: PageWindow, count: boolean): Promise<FetchedPage & { total?: number }> {
  const where = matching(query);
  const total = count ? sql`(select count(*) from product p where ${where})` : verbatim('null::bigint');
  const pastTheEnd = count ? sql` and ${window.offset} < s.total` : verbatim('');
  const rank = 'relevance' in query.order ? sql`, ${relevance(query.order.relevance)} as relevance` : verbatim('');
  const innerOrder = 'sort' in query.order ? orderBy(query, 'p') : 'relevance desc, p.id';
  const statement = sql`
    select s.catalog_version, s.total, page.*
    from (select (select version from catalog_state)::text as catalog_version, ${total} as total) s
    left join lateral (
      select ${verbatim(PRODUCT_COLUMNS)}${rank}
      from product p
      where ${where}${pastTheEnd}
      order by ${verbatim(innerOrder)}
      limit ${window.limit} offset ${window.offset}
    ) page on true
    order by ${verbatim(orderBy(query, 'page'))}`;

  const rows = await em.execute<Record<string, unknown>[]>(statement.text, [...statement.params]);
  const first = rows[0]!;
  return {
    version: String(first.catalog_version),
    ...(count ? { total: Number(first.total) } : {}),
    products: rows.filter((row) => row.id !== null).map(({ catalog_version: _v, total: _t, relevance: _r, ...row }) => em.map(Product, row)),
  };
}

export async function readCatalogVersion(em: Em): Promise<string> {
  const [row] = await em.execute<{ version: string }[]>('select version::text as version from catalog_state');
  return row!.version;
}
