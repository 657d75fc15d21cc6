import pg from 'pg';
import { Product, type Attributes } from '../src/entities/Product.js';
import { runScript } from './processes.js';
import {
  ADJECTIVES,
  BENEFITS,
  BRANDS,
  CATEGORIES,
  COLORS,
  COMMON_WORD,
  FEATURES,
  MATERIALS,
  MODEL_SYLLABLES,
  SEARCH_PREFIX,
  USES,
} from './vocabulary.js';

const MIGRATE_TIMEOUT_MS = 120_000;
const ROWS_PER_STATEMENT = 100_000;

export async function connect(databaseUrl: string): Promise<pg.Client> {
  const client = new pg.Client({ connectionString: databaseUrl, application_name: 'storefront-bench' });
  await client.connect();
  return client;
}

/** Drops everything in the bench database, then lets the app's own migrations build the schema. */
export async function resetSchema(client: pg.Client, databaseUrl: string): Promise<void> {
  await client.query('drop schema if exists public cascade');
  await client.query('create schema public');
  await runScript('src/db/cli.ts', ['migrate'], { ...process.env, DATABASE_URL: databaseUrl, LOG_LEVEL: 'warn' }, MIGRATE_TIMEOUT_MS);
}

/**
 * `abs(hash(i, seed) % n)`: a deterministic pseudo-random pick per row, so two
 * runs of the same size generate the same catalog (ids and timestamps aside).
 */
const roll = (seed: number, modulo: number | string) => `abs(hashint8extended(g.i, ${seed}) % ${modulo})`;
const pick = (param: string, seed: number) => `(${param})[1 + ${roll(seed, `cardinality(${param})`)}]`;

/**
 * One INSERT … SELECT per chunk of the series. search_name/search_body get what
 * the app's searchText() would compute: the text is ASCII, so lower() and
 * collapsing non-alphanumerics to single spaces is the same normalisation.
 * Attribute values enter search_body in jsonb key order, as the app reads them.
 */
const INSERT_CHUNK = `
insert into product (id, name, description, price_cents, image_url, category, stock, attributes,
                     search_name, search_body, created_at, updated_at)
select gen_random_uuid(), t.name, t.description, t.price_cents, t.image_url, t.category, t.stock, t.attributes,
       trim(regexp_replace(lower(t.name), '[^a-z0-9]+', ' ', 'g')),
       trim(regexp_replace(lower(concat_ws(' ', t.description, t.category,
         (select string_agg(a.value #>> '{}', ' ') from jsonb_each(t.attributes) a
           where jsonb_typeof(a.value) in ('string', 'number')))), '[^a-z0-9]+', ' ', 'g')),
       t.created_at, least(t.created_at + t.edited_after, now())
from (
  select concat_ws(' ', r.brand, r.model, r.adjective, case when r.color_in_name then initcap(r.color) end, initcap(r.noun)) as name,
         format('%s %s in %s with %s. Made for %s, it %s.', r.description_adjective, r.noun, r.material, r.feature, r.use, r.benefit)
           as description,
         r.price_units * 100 + (array[99, 49, 0, 95])[1 + ${roll(9, 4)}] as price_cents,
         case when ${roll(10, 10)} = 0 then null else 'https://img.example.com/products/' || g.i || '.jpg' end as image_url,
         r.category,
         case when ${roll(11, 100)} < 8 then 0 else 1 + ${roll(12, 500)}::int end as stock,
         jsonb_build_object('brand', r.brand, 'color', r.color, 'model', r.model, 'material', r.material,
                            'weightGrams', 50 + ${roll(13, 5000)}, 'reviews', ${roll(14, 2000)},
                            'waterproof', ${roll(15, 2)} = 0) as attributes,
         now() - ${roll(16, 63_072_000_000)} * interval '1 millisecond' as created_at,
         ${roll(17, 2_592_000_000)} * interval '1 millisecond' as edited_after
  from generate_series($1::bigint, $2::bigint) as g(i)
  cross join lateral (
    select ($3::text[])[c.ordinal + 1] as category, ($4::text[])[c.ordinal * 5 + 1 + ${roll(2, 5)}] as noun,
           ${pick('$5::text[]', 3)} as brand,
           ${pick('$6::text[]', 4)} as adjective,
           ${pick('$6::text[]', 5)} as description_adjective,
           ${pick('$7::text[]', 6)} as color,
           ${roll(7, 2)} = 0 as color_in_name,
           initcap(${pick('$8::text[]', 21)} || ${pick('$8::text[]', 22)} || ${pick('$8::text[]', 23)}) as model,
           ${pick('$9::text[]', 24)} as material,
           ${pick('$10::text[]', 25)} as feature,
           ${pick('$11::text[]', 26)} as use,
           ${pick('$12::text[]', 27)} as benefit,
           case when ${roll(8, 10)} = 0 then 100 + ${roll(18, 900)} else 2 + ${roll(19, 200)} end as price_units
    from (select ${roll(1, 'cardinality($3::text[])')} as ordinal) as c
  ) as r
) as t`;

interface IndexDefinition {
  name: string;
  definition: string;
}

/**
 * Secondary indexes are dropped for the bulk load and rebuilt from their own
 * definitions afterwards: building an index once is far cheaper than
 * maintaining it row by row (the GIN search index above all).
 */
async function secondaryIndexes(client: pg.Client): Promise<IndexDefinition[]> {
  const { rows } = await client.query<IndexDefinition>(`
    select i.relname as name, pg_get_indexdef(i.oid) as definition
    from pg_index x join pg_class i on i.oid = x.indexrelid
    where x.indrelid = 'product'::regclass
      and not exists (select 1 from pg_constraint c where c.conindid = x.indexrelid)`);
  return rows;
}

export async function generateCatalog(client: pg.Client, products: number, progress: (message: string) => void): Promise<void> {
  await client.query(`set synchronous_commit = off`);
  await client.query(`set maintenance_work_mem = '512MB'`);
  const indexes = await secondaryIndexes(client);
  for (const index of indexes) await client.query(`drop index "${index.name}"`);

  const vocabulary = [
    CATEGORIES.map((c) => c.name),
    CATEGORIES.flatMap((c) => c.nouns),
    BRANDS,
    ADJECTIVES,
    COLORS,
    MODEL_SYLLABLES,
    MATERIALS,
    FEATURES,
    USES,
    BENEFITS,
  ];
  for (let first = 1; first <= products; first += ROWS_PER_STATEMENT) {
    const last = Math.min(products, first + ROWS_PER_STATEMENT - 1);
    await client.query(INSERT_CHUNK, [first, last, ...vocabulary]);
    progress(`inserted ${last.toLocaleString('en')} / ${products.toLocaleString('en')} products`);
  }

  for (const index of indexes) {
    progress(`building index ${index.name}`);
    await client.query(index.definition);
  }
  progress('vacuum analyze, checkpoint');
  await client.query('vacuum (analyze) product');
  // Flushes the bulk load now rather than in a background checkpoint during the first measurements.
  await client.query('checkpoint');
}

/**
 * The app's search only finds what its own normalisation would have stored, so
 * a sample of generated rows is recomputed with the entity's code and compared.
 */
export async function checkSearchText(client: pg.Client, sample = 500): Promise<void> {
  const { rows } = await client.query<{
    name: string;
    description: string;
    category: string | null;
    attributes: Attributes;
    search_name: string;
    search_body: string;
  }>(`select name, description, category, attributes, search_name, search_body from product order by md5(id::text) limit $1`, [sample]);
  for (const row of rows) {
    const product = Object.assign(new Product(), { name: row.name, description: row.description, category: row.category, attributes: row.attributes });
    product.refreshSearchText();
    if (product.searchName !== row.search_name || product.searchBody !== row.search_body) {
      throw new Error(
        `generated search text differs from the app's for "${row.name}":\n` +
          `  generated: ${row.search_name} | ${row.search_body}\n  app:       ${product.searchName} | ${product.searchBody}`,
      );
    }
  }
}

export interface SearchTerm {
  query: string;
  /** Products the term matches (as a word; the prefix as a word prefix), counted on the generated data. */
  matches: number;
}

export interface Workload {
  category: string;
  categorySize: number;
  outOfStock: number;
  commonWord: SearchTerm;
  rareWord: SearchTerm;
  prefix: SearchTerm;
  /** Products the detail scenario cycles through. */
  detailIds: string[];
  /** In-stock products the cart users put in their carts. */
  cartProductIds: string[];
  /** Products the checkout users buy; restocked so every checkout can succeed. */
  checkoutProductIds: string[];
  /** Products the add-to-cart scenario adds, one unit a request; restocked so no add is refused for stock. */
  addToCartProductIds: string[];
  /** The live writer's pools: in-stock products it sells out, out-of-stock ones it restocks, ones it sells a unit of. */
  live: { sellOutIds: string[]; restockIds: string[]; checkoutIds: string[] };
}

async function countMatches(client: pg.Client, pattern: string): Promise<number> {
  const { rows } = await client.query<{ n: string }>(
    `select count(*) as n from product where deleted_at is null and (search_name ~ $1 or search_body ~ $1)`,
    [pattern],
  );
  return Number(rows[0]?.n ?? 0);
}

async function sampleIds(client: pg.Client, count: number, where: string): Promise<string[]> {
  const { rows } = await client.query<{ id: string }>(
    `select id from product where deleted_at is null and ${where} order by md5(id::text) limit $1`,
    [count],
  );
  return rows.map((row) => row.id);
}

/** Like sampleIds, in another pseudo-random order and never one of `taken`: pools that must not share products. */
async function sampleOtherIds(client: pg.Client, count: number, where: string, taken: string[]): Promise<string[]> {
  const { rows } = await client.query<{ id: string }>(
    `select id from product where deleted_at is null and ${where} and id <> all($2::uuid[])
     order by md5(id::text || 'other') limit $1`,
    [count, taken],
  );
  taken.push(...rows.map((row) => row.id));
  return rows.map((row) => row.id);
}

const ADD_TO_CART_PRODUCTS = 60;
const LIVE_POOL = 200;
const LIVE_CHECKOUT_PRODUCTS = 20;

export const CHECKOUT_STOCK = 1_000_000;

/** Picks the scenario parameters from the generated catalog and restocks the checkout products. */
export async function prepareWorkload(client: pg.Client, checkoutProducts: number): Promise<Workload> {
  const { rows: categories } = await client.query<{ category: string; n: string }>(
    `select category, count(*) as n from product where category = $1 group by category`,
    [CATEGORIES[0]?.name],
  );
  const { rows: stock } = await client.query<{ n: string }>(`select count(*) as n from product where stock = 0`);
  const { rows: models } = await client.query<{ model: string }>(
    `select attributes->>'model' as model from product order by md5(id::text) limit 1`,
  );
  const rareWord = (models[0]?.model ?? '').toLowerCase();

  const detailIds = await sampleIds(client, 1000, 'true');
  const cartProductIds = await sampleIds(client, 200, 'stock >= 20');
  const checkoutProductIds = await sampleIds(client, checkoutProducts, 'stock > 0');
  const taken = [...detailIds, ...cartProductIds, ...checkoutProductIds];
  const addToCartProductIds = await sampleOtherIds(client, ADD_TO_CART_PRODUCTS, 'stock > 0', taken);
  const live = {
    sellOutIds: await sampleOtherIds(client, LIVE_POOL, 'stock > 0', taken),
    restockIds: await sampleOtherIds(client, LIVE_POOL, 'stock = 0', taken),
    checkoutIds: await sampleOtherIds(client, LIVE_CHECKOUT_PRODUCTS, 'stock > 0', taken),
  };
  await client.query(`update product set stock = $2 where id = any($1::uuid[])`, [
    [...checkoutProductIds, ...addToCartProductIds, ...live.checkoutIds],
    CHECKOUT_STOCK,
  ]);

  return {
    category: categories[0]?.category ?? '',
    categorySize: Number(categories[0]?.n ?? 0),
    outOfStock: Number(stock[0]?.n ?? 0),
    commonWord: { query: COMMON_WORD, matches: await countMatches(client, `\\m${COMMON_WORD}\\M`) },
    rareWord: { query: rareWord, matches: await countMatches(client, `\\m${rareWord}\\M`) },
    prefix: { query: SEARCH_PREFIX, matches: await countMatches(client, `\\m${SEARCH_PREFIX}`) },
    detailIds,
    cartProductIds,
    checkoutProductIds,
    addToCartProductIds,
    live,
  };
}

export async function serverVersion(client: pg.Client): Promise<string> {
  const { rows } = await client.query<{ server_version: string }>('show server_version');
  return rows[0]?.server_version ?? 'unknown';
}
