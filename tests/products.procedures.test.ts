import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { demoCatalog, seedDemoCatalog } from '../src/db/seed.js';
import { Product } from '../src/entities/Product.js';
import type { User } from '../src/entities/User.js';
import { createHarness, type Harness } from './support/harness.js';
import { expectAppError } from './support/errors.js';
import { captureSql } from './support/sql-log.js';

let h: Harness;
let admin: User;
let customer: User;

beforeAll(async () => {
  h = await createHarness({ CURRENCY: 'USD' });
  admin = (await h.createUser({ role: 'admin' })).user;
  customer = (await h.createUser()).user;
});
afterAll(() => h.close());

const UNKNOWN_ID = '00000000-0000-4000-8000-000000000000';

describe('products procedures', () => {
  it('create → byId → update → delete, with the configured currency', async () => {
    const created = await h.caller(admin).products.create({
      name: ' Lantern ',
      price: 19.99,
      category: 'outdoor',
      stock: 3,
      attributes: { lumens: 300, color: 'green' },
    });
    expect(created).toEqual({
      id: expect.any(String),
      name: 'Lantern',
      description: '',
      price: 19.99,
      currency: 'USD',
      imageUrl: null,
      category: 'outdoor',
      stock: 3,
      attributes: { lumens: 300, color: 'green' },
      createdAt: expect.any(String),
      updatedAt: expect.any(String),
    });
    expect(await h.caller().products.byId({ id: created.id })).toEqual(created);

    const updated = await h.caller(admin).products.update({ id: created.id, name: 'Lantern XL', price: 25, stock: 0 });
    expect(updated).toMatchObject({ name: 'Lantern XL', price: 25, stock: 0, category: null, attributes: {}, currency: 'USD' });

    expect(await h.caller(admin).products.delete({ id: created.id })).toBeUndefined();
    await expectAppError(h.caller().products.byId({ id: created.id }), 'NOT_FOUND');
    await expectAppError(h.caller(admin).products.delete({ id: created.id }), 'NOT_FOUND');
    await expectAppError(h.caller(admin).products.update({ id: created.id, name: 'Back', price: 1, stock: 1 }), 'NOT_FOUND');
  });

  it('accepts typed query values from tRPC clients (numbers and booleans)', async () => {
    await h.caller(admin).products.create({ name: 'Typed', price: 7.5, category: 'typed', stock: 2 });
    const page = await h.caller().products.list({ page: 1, limit: 5, category: 'TYPED', minPrice: 7.5, maxPrice: 7.5, inStock: true, sort: 'price_desc' });
    expect(page).toMatchObject({ page: 1, limit: 5, total: 1, items: [expect.objectContaining({ name: 'Typed', currency: 'USD' })] });
    const found = await h.caller().products.search({ q: 'typed', page: 1, inStock: true });
    expect(found.total).toBe(1);
    expect(found.limit).toBe(20);
  });

  it('checks the role before validating the input', async () => {
    await expectAppError(h.caller().products.create({ name: 'X', price: 1 }), 'UNAUTHORIZED');
    await expectAppError(h.caller(customer).products.create({ name: 'X', price: 1 }), 'FORBIDDEN');
    await expectAppError(h.caller(customer).products.create({ name: '', price: -1 } as never), 'FORBIDDEN');
    await expectAppError(h.caller(customer).products.update({ id: UNKNOWN_ID, name: 'X', price: 1, stock: 1 }), 'FORBIDDEN');
    await expectAppError(h.caller(customer).products.delete({ id: UNKNOWN_ID }), 'FORBIDDEN');
  });

  it('names the invalid field', async () => {
    await expectAppError(h.caller(admin).products.create({ name: 'X', price: 1.234 }), 'VALIDATION_ERROR', 'price');
    await expectAppError(h.caller(admin).products.create({ name: 'X', price: 1, attributes: { 'bad key': 1 } }), 'VALIDATION_ERROR', 'attributes.bad key');
    await expectAppError(h.caller(admin).products.update({ id: UNKNOWN_ID, name: 'X', price: 1 } as never), 'VALIDATION_ERROR', 'stock');
    await expectAppError(h.caller().products.list({ page: 0 }), 'VALIDATION_ERROR', 'page');
    await expectAppError(h.caller().products.list({ page: 1.5 }), 'VALIDATION_ERROR', 'page');
    await expectAppError(h.caller().products.list({ page: 1, limit: 101 }), 'VALIDATION_ERROR', 'limit');
    await expectAppError(h.caller().products.list({ page: 1, minPrice: 3, maxPrice: 2 }), 'VALIDATION_ERROR', 'minPrice');
    await expectAppError(h.caller().products.list({ page: 1, sort: 'oldest' as never }), 'VALIDATION_ERROR', 'sort');
    await expectAppError(h.caller().products.search({ page: 1, q: '   ' }), 'VALIDATION_ERROR', 'q');
    await expectAppError(h.caller().products.search({ page: 1 } as never), 'VALIDATION_ERROR', 'q');
  });

  it('answers NOT_FOUND for malformed and unknown ids', async () => {
    await expectAppError(h.caller().products.byId({ id: 'x' }), 'NOT_FOUND');
    await expectAppError(h.caller().products.byId({ id: UNKNOWN_ID }), 'NOT_FOUND');
    await expectAppError(h.caller(admin).products.update({ id: 'x', name: 'X', price: 1, stock: 1 }), 'NOT_FOUND');
    await expectAppError(h.caller(admin).products.delete({ id: 'x' }), 'NOT_FOUND');
  });
});

describe('demo catalog', () => {
  it('is deterministic and varied', () => {
    const catalog = demoCatalog();
    expect(demoCatalog()).toEqual(catalog);
    expect(catalog.length).toBeGreaterThanOrEqual(120);
    expect(new Set(catalog.map((p) => p.category)).size).toBeGreaterThanOrEqual(6);
    expect(new Set(catalog.map((p) => p.name)).size).toBe(catalog.length);
    expect(catalog.some((p) => p.stock === 0)).toBe(true);
    expect(catalog.some((p) => p.imageUrl === null)).toBe(true);
    expect(catalog.some((p) => p.priceCents % 100 !== 0)).toBe(true);
    expect(catalog.every((p) => Object.keys(p.attributes).length > 0)).toBe(true);
  });

  it('is inserted only into an empty catalog, searchable, in a stable newest-first order', async () => {
    const fresh = await createHarness();
    try {
      const added = await seedDemoCatalog(fresh.db.orm.em.fork());
      expect(added).toBe(demoCatalog().length);
      expect(await seedDemoCatalog(fresh.db.orm.em.fork())).toBe(0);

      const page = await fresh.caller().products.list({ page: 1, limit: 100 });
      expect(page.total).toBe(added);
      expect(page.items.slice(0, 3).map((p) => p.name)).toEqual(demoCatalog().slice(0, 3).map((p) => p.name));
      expect((await fresh.caller().products.search({ q: 'kestrel runn', page: 1 })).total).toBeGreaterThan(0);
      expect((await fresh.caller().products.list({ page: 1, inStock: false })).total).toBe(demoCatalog().filter((p) => p.stock === 0).length);
    } finally {
      await fresh.close();
    }
  });

  it('is not inserted when the only products are deleted ones', async () => {
    const fresh = await createHarness();
    try {
      const em = fresh.db.orm.em.fork();
      em.create(Product, { name: 'Retired', priceCents: 100, imageUrl: null, category: null, attributes: {}, deletedAt: new Date() });
      await em.flush();
      expect(await seedDemoCatalog(fresh.db.orm.em.fork())).toBe(0);
    } finally {
      await fresh.close();
    }
  });

  it('is seeded once when two starts race', async () => {
    const fresh = await createHarness();
    try {
      const results = await Promise.all([seedDemoCatalog(fresh.db.orm.em.fork()), seedDemoCatalog(fresh.db.orm.em.fork())]);
      expect(results.sort()).toEqual([0, demoCatalog().length]);
      expect(await fresh.db.orm.em.fork().count(Product, {})).toBe(demoCatalog().length);
    } finally {
      await fresh.close();
    }
  });
});

describe('catalog page cache', () => {
  it('computes a page once when many requests miss it together, and stays exact after a write', async () => {
    const em = h.db.orm.em.fork();
    em.create(Product, { name: 'Stampede Lamp', priceCents: 1500, category: 'stampede', stock: 4 });
    await em.flush();
    const query = { page: 1, category: 'stampede' } as const;

    const { result: pages, statements } = await captureSql(h.db.orm, () =>
      Promise.all(Array.from({ length: 8 }, () => h.caller(customer).products.list(query))),
    );
    expect(pages.map((page) => page.total)).toEqual(Array(8).fill(1));
    expect(statements.filter((sql) => /count\(\*\)/i.test(sql))).toHaveLength(1);

    await h.caller(admin).products.create({ name: 'Stampede Fan', price: 30, category: 'stampede', stock: 1 });
    const after = await Promise.all(Array.from({ length: 4 }, () => h.caller(customer).products.list(query)));
    expect(after.map((page) => page.total)).toEqual([2, 2, 2, 2]);
  });
});
