/**
 * The floor: the least a server can do to answer the product list (scenario 1),
 * a product search (scenario 5), the cart (C1) and an add to cart (C2) —
 * node:http and prepared pg queries, no framework, no ORM, no total count. The
 * real API cannot be faster than this on the same machine and database.
 *
 * The cart routes do what the API must do and nothing more: verify the bearer
 * token (HS256 with the API's JWT_SECRET, exp checked: it costs microseconds and
 * a server that skipped it would not be the same service), prove the user still
 * exists, and read the cart with its lines and current prices in one statement.
 * What they skip: promo-code resolution (the bench's carts carry none, so the
 * API does none either), creating a missing cart (every bench shopper has one),
 * input validation beyond the body's shape, and the contract's error envelope
 * (errors are not measured).
 *
 * Run by the bench with DATABASE_URL, JWT_SECRET and PORT set.
 */
import { createHmac, timingSafeEqual } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import pg from 'pg';
import { searchWords } from '../src/lib/search-text.js';

// Its own row type and statements, not src/routers/products/queries.ts's: the floor must
// not move when the API's code does (only the search normalisation is shared, so both
// match the same words).
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

/** An answer other than 200, thrown by a route and sent as is. */
class Refusal {
  constructor(
    readonly status: number,
    readonly code: string,
  ) {}
}

const jwtKey = Buffer.from(process.env.JWT_SECRET ?? '', 'utf8');

/** The user id of a valid, unexpired HS256 token signed with JWT_SECRET. */
function authenticatedUserId(req: IncomingMessage): string {
  const token = /^Bearer (\S+)$/.exec(req.headers.authorization ?? '')?.[1];
  const [header, payload, signature] = token?.split('.') ?? [];
  if (!header || !payload || !signature) throw new Refusal(401, 'UNAUTHORIZED');
  const expected = createHmac('sha256', jwtKey).update(`${header}.${payload}`).digest();
  const given = Buffer.from(signature, 'base64url');
  if (given.length !== expected.length || !timingSafeEqual(given, expected)) throw new Refusal(401, 'UNAUTHORIZED');
  const { alg } = JSON.parse(Buffer.from(header, 'base64url').toString()) as { alg?: unknown };
  const { sub, exp } = JSON.parse(Buffer.from(payload, 'base64url').toString()) as { sub?: unknown; exp?: unknown };
  if (alg !== 'HS256' || typeof sub !== 'string' || typeof exp !== 'number' || exp <= Date.now() / 1000) {
    throw new Refusal(401, 'UNAUTHORIZED');
  }
  return sub;
}

interface CartRow {
  cart_id: string;
  promo_code: string | null;
  updated_at: Date;
  item_id: string | null;
  product_id: string | null;
  name: string | null;
  image_url: string | null;
  price_cents: number | null;
  stock: number | null;
  quantity: number | null;
}

/**
 * The signed-in user's active cart and its visible lines, first-added first, in
 * one statement: the join on users is the API's "the user still exists" check.
 */
const CART = `
  select c.id as cart_id, c.promo_code, c.updated_at, ci.id as item_id, p.id as product_id, p.name, p.image_url,
         p.price_cents, p.stock, ci.quantity
  from users u
  join cart c on c.user_id = u.id and c.status = 'active'
  left join (cart_item ci join product p on p.id = ci.product_id and p.deleted_at is null) on ci.cart_id = c.id
  where u.id = $1
  order by ci.created_at, ci.id`;

/** Locks the cart row (one mutation of a cart at a time, as in the API) and touches it; none: no such user or cart. */
const LOCK_CART = `
  update cart c set updated_at = now() from users u
  where u.id = c.user_id and c.user_id = $1 and c.status = 'active'
  returning c.id`;

/** One line per product: a new line or more units on the existing one, never past min(99, stock) or 1,000 lines. */
const ADD_UNITS = `
  insert into cart_item (id, cart_id, product_id, quantity, created_at)
  select gen_random_uuid(), $1, p.id, $3, clock_timestamp() from product p
  where p.id = $2 and p.deleted_at is null and $3 <= least(99, p.stock)
    and (select count(*) from cart_item where cart_id = $1) < 1000
  on conflict (cart_id, product_id) do update set quantity = cart_item.quantity + excluded.quantity
    where cart_item.quantity + excluded.quantity <= (select least(99, stock) from product where id = excluded.product_id)
  returning id`;

const prepared = (sql: string, values: unknown[]) => ({ name: statementName(sql), text: sql, values });

function toCart(rows: CartRow[]): unknown {
  const first = rows[0];
  if (!first) throw new Refusal(401, 'UNAUTHORIZED');
  const lines = rows.filter((row) => row.item_id !== null);
  const subtotalCents = lines.reduce((sum, row) => sum + row.price_cents! * row.quantity!, 0);
  return {
    id: first.cart_id,
    items: lines.map((row) => ({
      id: row.item_id,
      productId: row.product_id,
      name: row.name,
      imageUrl: row.image_url,
      unitPrice: row.price_cents! / 100,
      quantity: row.quantity,
      lineTotal: (row.price_cents! * row.quantity!) / 100,
      available: Math.min(99, row.stock!),
    })),
    itemCount: lines.reduce((sum, row) => sum + row.quantity!, 0),
    subtotal: subtotalCents / 100,
    discount: 0,
    total: subtotalCents / 100,
    currency: 'EUR',
    promoCode: first.promo_code,
    updatedAt: first.updated_at.toISOString(),
  };
}

async function cart(req: IncomingMessage): Promise<unknown> {
  const { rows } = await pool.query<CartRow>(prepared(CART, [authenticatedUserId(req)]));
  return toCart(rows);
}

async function jsonBody(req: IncomingMessage): Promise<unknown> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  try {
    return JSON.parse(Buffer.concat(chunks).toString('utf8'));
  } catch {
    throw new Refusal(400, 'VALIDATION_ERROR');
  }
}

async function addToCart(req: IncomingMessage): Promise<unknown> {
  const userId = authenticatedUserId(req);
  const { productId, quantity = 1 } = ((await jsonBody(req)) ?? {}) as { productId?: unknown; quantity?: unknown };
  if (typeof productId !== 'string' || !UUID.test(productId) || !Number.isInteger(quantity) || (quantity as number) < 1 || (quantity as number) > 99) {
    throw new Refusal(400, 'VALIDATION_ERROR');
  }
  const client = await pool.connect();
  try {
    await client.query('begin');
    const locked = await client.query<{ id: string }>(prepared(LOCK_CART, [userId]));
    const cartId = locked.rows[0]?.id;
    if (!cartId) throw new Refusal(401, 'UNAUTHORIZED');
    const added = await client.query(prepared(ADD_UNITS, [cartId, productId, quantity]));
    // Least work on the refusal path too: a missing product and a full line both answer 409 here.
    if (added.rowCount === 0) throw new Refusal(409, 'INSUFFICIENT_STOCK');
    const { rows } = await client.query<CartRow>(prepared(CART, [userId]));
    await client.query('commit');
    return toCart(rows);
  } catch (error) {
    await client.query('rollback');
    throw error;
  } finally {
    client.release();
  }
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

function route(req: IncomingMessage, url: URL): Promise<unknown> | undefined {
  if (req.method === 'POST') return url.pathname === '/api/cart/items' ? addToCart(req) : undefined;
  switch (url.pathname) {
    case '/api/products':
      return page(NEWEST_PAGE, [], url);
    case '/api/products/search':
      return search(url);
    case '/api/cart':
      return cart(req);
    case '/ready':
      return pool.query('select 1').then(() => ({ status: 'ready' }));
    default:
      return undefined;
  }
}

const server = createServer((req, res) => {
  const url = new URL(req.url ?? '/', 'http://localhost');
  // A synchronous throw (a bad token) becomes a rejection like the others.
  const answer = Promise.resolve().then(() => route(req, url));
  answer.then(
    (body) => (body === undefined ? send(res, 404, { error: { code: 'NOT_FOUND' } }) : send(res, 200, body)),
    (error: unknown) =>
      error instanceof Refusal
        ? send(res, error.status, { error: { code: error.code } })
        : send(res, 500, { error: { code: 'INTERNAL_ERROR', message: String(error) } }),
  );
});

server.listen(Number(process.env.PORT), '127.0.0.1');

const stop = () => server.close(() => void pool.end().then(() => process.exit(0)));
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
