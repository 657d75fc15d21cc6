import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Product } from '../src/entities/Product.js';
import { textQueryOf } from '../src/routers/products/service.js';
import { createHttpHarness, type HttpHarness, type TestResponse } from './support/harness.js';
import { startSecondInstance, type SecondInstance } from './support/second-instance.js';
import { captureSql } from './support/sql-log.js';

/**
 * Issue 10: a live catalog stays exact. Totals and page ids are cached per
 * process and brought up to date through the catalog change log; every figure
 * they produce is compared here with the answer of a direct, uncached query of
 * the product table, after each kind of write, through two instances, after a
 * restart, with the log pruned or reset, and with writes racing reads.
 */

let h: HttpHarness;
let other: SecondInstance;
let admin: string;

/** Every shape of cached read: each sort, filters, deep and past-the-end pages, whole words, prefixes. */
const WATCHED = [
  '/api/products?page=1&limit=5',
  '/api/products?page=2&limit=5',
  '/api/products?page=1&limit=5&sort=price_asc',
  '/api/products?page=2&limit=4&sort=price_desc',
  '/api/products?page=1&limit=6&sort=name_asc',
  '/api/products?page=1&limit=3&category=lamps&sort=price_asc',
  '/api/products?page=1&limit=100&inStock=true',
  '/api/products?page=1&limit=5&inStock=false',
  '/api/products?page=1&limit=5&minPrice=10&maxPrice=30',
  '/api/products?page=30&limit=5',
  '/api/products/search?q=lamp&page=1&limit=3',
  '/api/products/search?q=brass&page=2&limit=2',
  '/api/products/search?q=lam&page=1&limit=4',
  '/api/products/search?q=brass%20lamp&category=lamps&inStock=true&page=1&limit=5',
];

interface Answer {
  total: number;
  items: { id: string; stock: number; price: number }[];
}

const answerOf = (res: TestResponse): Answer => {
  expect(res.status, res.text).toBe(200);
  const body = res.body as { total: number; items: { id: string; stock: number; price: number }[] };
  return { total: body.total, items: body.items.map(({ id, stock, price }) => ({ id, stock, price })) };
};

const SORT_SQL: Record<string, string> = {
  newest: 'created_at desc, id',
  price_asc: 'price_cents, id',
  price_desc: 'price_cents desc, id',
  name_asc: 'lower(name) collate "C", id',
};

/** The answer computed from scratch with one plain query of the product table: no cache, no change log. */
async function uncached(path: string): Promise<Answer> {
  const params = new URL(path, 'http://oracle').searchParams;
  const page = Number(params.get('page') ?? 1);
  const limit = Number(params.get('limit') ?? 20);
  const conditions = ['deleted_at is null'];
  const values: unknown[] = [];
  const where = (condition: string, ...bound: unknown[]) => {
    conditions.push(condition);
    values.push(...bound);
  };
  if (params.has('category')) where('lower(category) = lower(?)', params.get('category'));
  if (params.has('minPrice')) where('price_cents >= ?', Math.round(Number(params.get('minPrice')) * 100));
  if (params.has('maxPrice')) where('price_cents <= ?', Math.round(Number(params.get('maxPrice')) * 100));
  if (params.has('inStock')) where(params.get('inStock') === 'true' ? 'stock > 0' : 'stock = 0');
  let order = SORT_SQL[params.get('sort') ?? 'newest']!;
  const orderValues: unknown[] = [];
  if (path.startsWith('/api/products/search')) {
    const text = textQueryOf(params.get('q')!)!;
    where(`search_vector @@ to_tsquery('simple', ?)`, text.match);
    order = `${text.nameTerms.map(() => `(search_vector @@ to_tsquery('simple', ?))::int`).join(' + ')} desc, id`;
    orderValues.push(...text.nameTerms);
  }
  const rows = await h.db.orm.em
    .getConnection()
    .execute<{ id: string; stock: number; price_cents: number }[]>(
      `select id, stock, price_cents from product where ${conditions.join(' and ')} order by ${order}`,
      [...values, ...orderValues],
    );
  const items = rows.slice((page - 1) * limit, page * limit).map((row) => ({ id: row.id, stock: row.stock, price: row.price_cents / 100 }));
  return { total: rows.length, items };
}

type Reader = (path: string) => Promise<TestResponse>;
const primary: Reader = (path) => h.request(path);
const secondary: Reader = (path) => other.request(path);

/** Every watched read through `read` equals the uncached answer. */
async function expectExact(read: Reader, label: string): Promise<void> {
  for (const path of WATCHED) {
    const answer = answerOf(await read(path));
    expect({ label, path, ...answer }).toEqual({ label, path, ...(await uncached(path)) });
  }
}

/** Statements that count or rank the whole matching set (what the change log avoids). */
const recounts = (statements: string[]) => statements.filter((sql) => /count\(\*\)::int from product/i.test(sql));

interface Fields {
  name: string;
  description: string;
  price: number;
  imageUrl: string | null;
  category: string | null;
  stock: number;
  attributes: Record<string, string | number | boolean>;
}

const products = new Map<string, Fields>();

async function create(fields: Partial<Fields> & { name: string }, via: SecondInstance['request'] = h.request): Promise<string> {
  const json: Fields = { description: '', price: 12, imageUrl: null, category: 'lamps', stock: 3, attributes: {}, ...fields };
  const res = await via('/api/products', { method: 'POST', token: admin, json });
  expect(res.status, res.text).toBe(201);
  products.set(res.body.id, json);
  return res.body.id as string;
}

async function edit(id: string, change: Partial<Fields>, via: SecondInstance['request'] = h.request): Promise<void> {
  const json = { ...products.get(id)!, ...change };
  const res = await via(`/api/products/${id}`, { method: 'PUT', token: admin, json });
  expect(res.status, res.text).toBe(200);
  products.set(id, json);
}

async function remove(id: string, via: SecondInstance['request'] = h.request): Promise<void> {
  expect((await via(`/api/products/${id}`, { method: 'DELETE', token: admin })).status).toBe(204);
  products.delete(id);
}

async function buy(productId: string, quantity: number): Promise<void> {
  const { token } = await h.createUser();
  expect((await h.request('/api/cart/items', { method: 'POST', token, json: { productId, quantity } })).status).toBe(200);
  expect((await h.request('/api/checkout', { method: 'POST', token, json: {} })).status).toBe(201);
  products.get(productId)!.stock -= quantity;
}

const ids = () => [...products.keys()];

beforeAll(async () => {
  h = await createHttpHarness();
  other = await startSecondInstance(h);
  admin = (await h.createUser({ role: 'admin' })).token;
  const names = ['Brass Lamp', 'Oak Lamp', 'Lamplight Chair', 'Brass Hook', 'Reading Lamp', 'Glass Vase', 'Copper Lamp', 'Stool'];
  for (const [i, name] of names.entries()) {
    await create({
      name,
      price: 5 + ((i * 7) % 30),
      category: i % 3 === 0 ? 'decor' : 'lamps',
      stock: i % 4 === 1 ? 0 : 2 + i,
      description: i % 2 === 0 ? 'polished brass finish' : 'matte',
    });
  }
});
afterAll(async () => {
  await other?.close();
  await h?.close();
});

describe('the cached catalog after each kind of write', () => {
  it('answers every list and search exactly as an uncached query, on both instances, without recounting', async () => {
    await expectExact(primary, 'warm-up');
    await expectExact(secondary, 'warm-up');

    const oak = ids()[1]!;
    const hook = ids()[3]!;
    const soldOut = ids()[5]!;
    const writes: [string, () => Promise<void>][] = [
      ['create', async () => void (await create({ name: 'Brass Floor Lamp', price: 19.5, stock: 1, description: 'brass' }))],
      ['create on the other instance', async () => void (await create({ name: 'Tin Lamp', price: 3, category: 'lamps' }, other.request))],
      ['price edit', () => edit(oak, { price: 29.99 })],
      ['name edit', () => edit(hook, { name: 'Brass Lamp Hook' })],
      ['category edit', () => edit(oak, { category: 'decor' })],
      ['description edit (search text)', () => edit(soldOut, { description: 'brass lamp glass' })],
      ['stock to zero', () => edit(oak, { stock: 0 })],
      ['zero to some', () => edit(soldOut, { stock: 5 })],
      ['stock down, staying above zero (checkout)', () => buy(soldOut, 2)],
      ['checkout of the last unit', () => buy(ids().find((id) => products.get(id)!.name === 'Brass Floor Lamp')!, 1)],
      ['delete', () => remove(ids()[0]!)],
      ['delete on the other instance', () => remove(ids()[0]!, other.request)],
      [
        'hard delete outside the API',
        async () => {
          const id = ids().find((candidate) => products.get(candidate)!.name === 'Stool')!;
          await h.db.orm.em.getConnection().execute('delete from product where id = ?', [id]);
          products.delete(id);
        },
      ],
    ];
    for (const [label, write] of writes) {
      await write();
      const { statements } = await captureSql(h.db.orm, async () => {
        await expectExact(primary, label);
      });
      await expectExact(secondary, label);
      // The totals moved through the log: no total was counted again.
      expect({ label, recounts: recounts(statements) }).toEqual({ label, recounts: [] });
    }
  }, 120_000);

  it('computes a past-the-end page and an unaffected page from the log alone: no product statement ranks a page', async () => {
    await expectExact(primary, 'warm-up');
    // A new product that does not match "brass" leaves that search's pages as they were; the list's total
    // grows by one, and page 30 stays past its end.
    await create({ name: 'Plain Stool', category: 'seating' });
    const paths = ['/api/products/search?q=brass&page=2&limit=2', '/api/products?page=30&limit=5'];
    const { result: answers, statements } = await captureSql(h.db.orm, () => Promise.all(paths.map(async (path) => answerOf(await primary(path)))));
    expect(statements.filter((sql) => /order by/i.test(sql))).toEqual([]);
    expect(answers).toEqual(await Promise.all(paths.map(uncached)));
  });
});

describe('restarts', () => {
  it('a restarted instance (empty caches, same database) and the instance that kept its caches stay exact', async () => {
    await expectExact(primary, 'before');
    await expectExact(secondary, 'before');
    await other.close();
    // Writes while the other instance is down, then it comes back with nothing cached.
    await create({ name: 'Restart Lamp', price: 8 });
    await edit(ids()[0]!, { stock: 0 });
    other = await startSecondInstance(h);
    await expectExact(secondary, 'restarted');
    await expectExact(primary, 'kept its caches');
    await create({ name: 'After Restart Lamp', price: 44 }, other.request);
    await expectExact(secondary, 'restarted, then a write');
    await expectExact(primary, 'kept its caches, then a write');
  });
});

describe('the change log', () => {
  const connection = () => h.db.orm.em.getConnection();

  it('is pruned: figures cached before the prune horizon are recounted, exactly', async () => {
    await expectExact(primary, 'before');
    await edit(ids()[1]!, { price: 1.5 });
    await connection().execute('select prune_catalog_changes(0)');
    expect(await connection().execute<{ n: number }[]>('select count(*)::int as n from catalog_change')).toEqual([{ n: 0 }]);
    await edit(ids()[2]!, { name: 'Pruned Lamp' });
    const { statements } = await captureSql(h.db.orm, () => expectExact(primary, 'pruned'));
    expect(recounts(statements).length).toBeGreaterThan(0);
    await expectExact(secondary, 'pruned');
    await create({ name: 'Post Prune Lamp' });
    await expectExact(primary, 'after the prune');
    await expectExact(secondary, 'after the prune');
  });

  it('logs a bulk statement as one reset row, after which cached figures are recounted', async () => {
    await connection().execute('update catalog_state set change_log_bulk_rows = 20');
    try {
      await expectExact(primary, 'before');
      await connection().execute(
        `insert into product (id, name, price_cents, category, stock, created_at, updated_at, search_name)
         select gen_random_uuid(), 'Bulk Lamp ' || n, 100 + n % 50, 'lamps', n % 3, now(), now(), 'bulk lamp ' || n
         from generate_series(1, 21) n`,
      );
      expect(await connection().execute<{ n: number }[]>(`select count(*)::int as n from catalog_change where reset`)).toEqual([{ n: 1 }]);
      const { statements } = await captureSql(h.db.orm, () => expectExact(primary, 'after a bulk insert'));
      expect(recounts(statements).length).toBeGreaterThan(0);
      await expectExact(secondary, 'after a bulk insert');
      await connection().execute(`delete from product where name like 'Bulk Lamp %'`);
      expect(await connection().execute<{ n: number }[]>(`select count(*)::int as n from catalog_change where reset`)).toEqual([{ n: 2 }]);
      await expectExact(primary, 'after a bulk delete');
      await expectExact(secondary, 'after a bulk delete');
    } finally {
      await connection().execute('update catalog_state set change_log_bulk_rows = default');
    }
  });

  it('stays bounded: writers prune it as it grows, and figures older than what is kept are recounted exactly', async () => {
    await connection().execute('update catalog_state set change_log_keep = 40, change_log_next_prune = 0');
    try {
      await expectExact(primary, 'before');
      await expectExact(secondary, 'before');
      const [{ first }] = (await connection().execute('select coalesce(max(seq), 0)::int as first from catalog_change')) as [{ first: number }];
      // 30 price edits log 60 rows: a prune every 2 rows past 40 kept.
      for (let edit = 0; edit < 30; edit++) {
        await connection().execute('update product set price_cents = price_cents + 1 where id = ?', [ids()[edit % 3]!]);
      }
      const [log] = await connection().execute<{ rows: number; oldest: number }[]>(
        'select count(*)::int as rows, min(seq)::int as oldest from catalog_change',
      );
      expect(log!.rows).toBeLessThanOrEqual(40 + 2 + 2);
      expect(log!.oldest).toBeGreaterThan(first);
      const { statements } = await captureSql(h.db.orm, () => expectExact(primary, 'after pruning'));
      expect(recounts(statements).length).toBeGreaterThan(0);
      await expectExact(secondary, 'after pruning');
    } finally {
      await connection().execute('update catalog_state set change_log_keep = default');
    }
  });
});

describe('writes racing reads', () => {
  type Write =
    | { kind: 'create'; price: number; stock: number; category: string }
    | { kind: 'price' | 'stock'; target: number; value: number }
    | { kind: 'rename'; target: number; name: string }
    | { kind: 'delete'; target: number };
  const write: fc.Arbitrary<Write> = fc.oneof(
    fc.record({ kind: fc.constant('create' as const), price: fc.integer({ min: 1, max: 40 }), stock: fc.integer({ min: 0, max: 2 }), category: fc.constantFrom('lamps', 'decor') }),
    fc.record({ kind: fc.constantFrom('price' as const, 'stock' as const), target: fc.nat(), value: fc.integer({ min: 0, max: 40 }) }),
    fc.record({ kind: fc.constant('rename' as const), target: fc.nat(), name: fc.constantFrom('Brass Lamp', 'Lamp Oak', 'Zinc Bowl', 'Brass') }),
    fc.record({ kind: fc.constant('delete' as const), target: fc.nat() }),
  );

  async function apply(change: Write, via: SecondInstance['request']): Promise<void> {
    const all = ids();
    if (change.kind === 'create') {
      await create({ name: 'Racing Lamp', price: change.price, stock: change.stock, category: change.category }, via);
      return;
    }
    const id = all[change.target % all.length]!;
    if (change.kind === 'delete') {
      products.delete(id);
      await via(`/api/products/${id}`, { method: 'DELETE', token: admin });
      return;
    }
    const fields = products.get(id)!;
    if (change.kind === 'rename') fields.name = change.name;
    else if (change.kind === 'price') fields.price = change.value + 0.5;
    else fields.stock = change.value % 3;
    await via(`/api/products/${id}`, { method: 'PUT', token: admin, json: fields });
  }

  it('every racing answer is one consistent snapshot, and the next answers equal the uncached ones (fixed seed)', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.tuple(write, fc.boolean()), { minLength: 1, maxLength: 8 }),
        fc.array(fc.tuple(fc.constantFrom(...WATCHED), fc.boolean()), { minLength: 4, maxLength: 16 }),
        async (writes, reads) => {
          while (products.size < 6) await create({ name: 'Refill Lamp' });
          const racing = await Promise.all([
            ...writes.map(async ([change, viaOther]) => void (await apply(change, viaOther ? other.request : h.request))),
            ...reads.map(async ([path, viaOther]) => {
              const { total, items } = answerOf(await (viaOther ? secondary : primary)(path));
              // Page and total from one snapshot: the page holds exactly what the total leaves for it.
              const params = new URL(path, 'http://check').searchParams;
              const limit = Number(params.get('limit') ?? 20);
              const offset = (Number(params.get('page')) - 1) * limit;
              expect({ path, size: items.length }).toEqual({ path, size: Math.max(0, Math.min(limit, total - offset)) });
            }),
          ]);
          expect(racing).toHaveLength(writes.length + reads.length);
          await expectExact(primary, 'after the race');
          await expectExact(secondary, 'after the race');
        },
      ),
      // Fewer runs on the embedded PGlite, which runs every statement on this process's one thread.
      { seed: 20261210, numRuns: h.db.driver === 'pglite' ? 3 : 12, endOnFailure: true },
    );
  }, 120_000);

  it('two instances racing each other on the same pages stay exact', async () => {
    const path = '/api/products?page=1&limit=5&category=lamps&sort=price_asc';
    await Promise.all([primary(path), secondary(path)]);
    const target = ids()[0]!;
    await Promise.all([
      ...Array.from({ length: 6 }, (_, i) => (i % 2 ? create({ name: `Race ${i}`, price: 1 + i }, other.request) : edit(target, { price: 2 + i }))),
      ...Array.from({ length: 6 }, (_, i) => (i % 2 ? primary(path) : secondary(path))),
    ]);
    for (const read of [primary, secondary]) expect(answerOf(await read(path))).toEqual(await uncached(path));
  });
});

describe('writes through the ORM', () => {
  it('are logged like API writes (the triggers see every path)', async () => {
    const em = h.db.orm.em.fork();
    const product = em.create(Product, { name: 'Orm Lamp', priceCents: 700, category: 'lamps', stock: 1 });
    await em.flush();
    products.set(product.id, { name: 'Orm Lamp', description: '', price: 7, imageUrl: null, category: 'lamps', stock: 1, attributes: {} });
    await expectExact(primary, 'an ORM insert');
    await expectExact(secondary, 'an ORM insert');
  });
});
