/**
 * The floor: the least a server can do to answer the product list (scenario 1)
 * and a product search (scenario 5) — node:http and one prepared pg query per
 * request, no framework, no ORM, no validation, no total count. The real API cannot be
 * faster than this on the same machine and database.
 *
 * Run by the bench with DATABASE_URL and PORT set.
 */
import { createServer, type ServerResponse } from 'node:http';
import pg from 'pg';
import { searchWords } from '../src/lib/search-text.js';

interface ProductRow {
  id: string;
  name: string;
  description: string;
  price_cents: number;
  image_url: string | null;
  category: string | null;
  stock: number;
  attributes: Record<string, string | number | boolean>;
  created_at: Date;
  updated_at: Date;
}

const COLUMNS = 'id, name, description, price_cents, image_url, category, stock, attributes, created_at, updated_at';
const LIVE = 'deleted_at is null';

/** Served by the partial index product_newest: an index scan that stops after the page. */
const NEWEST_PAGE = `select ${COLUMNS} from product where ${LIVE} order by created_at desc, id limit $1 offset $2`;

/**
 * The GIN index finds the matches; as in the API, a product ranks by how many
 * query words its name (weight A) matches, then by id.
 */
const searchPage = (words: number) => {
  const nameMatches = Array.from({ length: words }, (_, i) => `(search_vector @@ to_tsquery('simple', $${i + 2}))::int`).join(' + ');
  return `select ${COLUMNS} from product
    where ${LIVE} and search_vector @@ to_tsquery('simple', $1)
    order by ${nameMatches} desc, id limit $${words + 2} offset $${words + 3}`;
};

const pool = new pg.Pool({ connectionString: process.env.DATABASE_URL, max: 10 });

const toProduct = (row: ProductRow) => ({
  id: row.id,
  name: row.name,
  description: row.description,
  price: row.price_cents / 100,
  currency: 'EUR',
  imageUrl: row.image_url,
  category: row.category,
  stock: row.stock,
  attributes: row.attributes,
  createdAt: row.created_at.toISOString(),
  updatedAt: row.updated_at.toISOString(),
});

function send(res: ServerResponse, status: number, body: unknown): void {
  const json = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json; charset=utf-8', 'content-length': Buffer.byteLength(json) });
  res.end(json);
}

/** Every word must match; the last one also as a prefix (contract §4). */
function textQuery(q: string): { match: string; nameTerms: string[] } {
  const terms = searchWords(q).map((word, i, all) => (i === all.length - 1 ? `${word}:*` : word));
  return { match: terms.join(' & '), nameTerms: terms.map((term) => `${term}${term.endsWith('*') ? '' : ':'}A`) };
}

function search(url: URL): Promise<unknown> {
  const { match, nameTerms } = textQuery(url.searchParams.get('q') ?? '');
  return page(searchPage(nameTerms.length), [match, ...nameTerms], url);
}

/** Prepared once per connection, like the API's catalog reads: parse and plan are not part of the floor. */
const statementNames = new Map<string, string>();
const statementName = (sql: string) => {
  let name = statementNames.get(sql);
  if (name === undefined) statementNames.set(sql, (name = `reference_${statementNames.size + 1}`));
  return name;
};

async function page(sql: string, leading: unknown[], url: URL): Promise<unknown> {
  const pageNumber = Number(url.searchParams.get('page') ?? 1);
  const limit = Number(url.searchParams.get('limit') ?? 20);
  const { rows } = await pool.query<ProductRow>({ name: statementName(sql), text: sql, values: [...leading, limit, (pageNumber - 1) * limit] });
  return { page: pageNumber, limit, items: rows.map(toProduct) };
}

const server = createServer((req, res) => {
  const url = new URL(req.url ?? '/', 'http://localhost');
  const answer =
    url.pathname === '/api/products'
      ? page(NEWEST_PAGE, [], url)
      : url.pathname === '/api/products/search'
        ? search(url)
        : url.pathname === '/ready'
          ? pool.query('select 1').then(() => ({ status: 'ready' }))
          : undefined;
  if (!answer) return send(res, 404, { error: { code: 'NOT_FOUND' } });
  answer.then(
    (body) => send(res, 200, body),
    (error: unknown) => send(res, 500, { error: { code: 'INTERNAL_ERROR', message: String(error) } }),
  );
});

server.listen(Number(process.env.PORT), '127.0.0.1');

const stop = () => server.close(() => void pool.end().then(() => process.exit(0)));
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
