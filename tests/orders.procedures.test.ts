import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Order, OrderItem } from '../src/entities/Order.js';
import type { User } from '../src/entities/User.js';
import { createHarness, type Harness } from './support/harness.js';
import { failure } from './support/errors.js';
import { captureSql } from './support/sql-log.js';

let h: Harness;
let alice: User;
let bob: User;
beforeAll(async () => {
  h = await createHarness();
  alice = (await h.createUser()).user;
  bob = (await h.createUser()).user;
});
afterAll(() => h.close());

interface Line {
  name: string;
  unitPriceCents: number;
  quantity: number;
}

/** Writes an order as checkout would (checkout itself is another feature). Items are inserted in reverse position order on purpose. */
async function placeOrder(user: User, opts: { createdAt: Date; lines?: Line[]; discountCents?: number; promoCode?: string | null }) {
  const em = h.db.orm.em.fork();
  const lines = opts.lines ?? [{ name: 'Widget', unitPriceCents: 1999, quantity: 1 }];
  const subtotalCents = lines.reduce((sum, l) => sum + l.unitPriceCents * l.quantity, 0);
  const discountCents = opts.discountCents ?? 0;
  const order = em.create(Order, {
    user: user.id,
    itemCount: lines.reduce((sum, l) => sum + l.quantity, 0),
    subtotalCents,
    discountCents,
    totalCents: subtotalCents - discountCents,
    currency: 'EUR',
    promoCode: opts.promoCode ?? null,
    createdAt: opts.createdAt,
  });
  const productIds = lines.map(() => crypto.randomUUID());
  for (let position = lines.length - 1; position >= 0; position--) {
    const line = lines[position]!;
    em.create(OrderItem, {
      order,
      position,
      productId: productIds[position]!,
      name: line.name,
      unitPriceCents: line.unitPriceCents,
      quantity: line.quantity,
      lineTotalCents: line.unitPriceCents * line.quantity,
    });
  }
  await em.flush();
  return { id: order.id, productIds };
}

describe('orders.byId', () => {
  it('returns the order snapshot in major units with items in position order', async () => {
    const { id, productIds } = await placeOrder(alice, {
      createdAt: new Date('2026-11-24T10:00:00.000Z'),
      lines: [
        { name: 'Trail Running Shoe', unitPriceCents: 8999, quantity: 2 },
        { name: 'Sock', unitPriceCents: 5, quantity: 3 },
        { name: 'Cap', unitPriceCents: 1000, quantity: 1 },
      ],
      discountCents: 1800,
      promoCode: 'SAVE10',
    });
    expect(await h.caller(alice).orders.byId({ id })).toEqual({
      id,
      status: 'placed',
      items: [
        { productId: productIds[0], name: 'Trail Running Shoe', unitPrice: 89.99, quantity: 2, lineTotal: 179.98 },
        { productId: productIds[1], name: 'Sock', unitPrice: 0.05, quantity: 3, lineTotal: 0.15 },
        { productId: productIds[2], name: 'Cap', unitPrice: 10, quantity: 1, lineTotal: 10 },
      ],
      itemCount: 6,
      subtotal: 190.13,
      discount: 18,
      total: 172.13,
      currency: 'EUR',
      promoCode: 'SAVE10',
      createdAt: '2026-11-24T10:00:00.000Z',
    });
  });

  it('hides other users\' orders and answers 404 for malformed or unknown ids', async () => {
    const { id } = await placeOrder(alice, { createdAt: new Date() });
    expect((await failure(h.caller(bob).orders.byId({ id }))).code).toBe('NOT_FOUND');
    const admin = (await h.createUser({ role: 'admin' })).user;
    expect((await failure(h.caller(admin).orders.byId({ id }))).code).toBe('NOT_FOUND');
    expect((await failure(h.caller(alice).orders.byId({ id: 'not-a-uuid' }))).code).toBe('NOT_FOUND');
    expect((await failure(h.caller(alice).orders.byId({ id: '00000000-0000-4000-8000-000000000000' }))).code).toBe('NOT_FOUND');
    expect((await failure(h.caller().orders.byId({ id }))).code).toBe('UNAUTHORIZED');
  });
});

describe('orders.list', () => {
  it('pages through only the caller\'s orders, newest first, ties broken by id', async () => {
    const { user: carol } = await h.createUser();
    const sameMoment = new Date('2026-11-20T09:00:00.000Z');
    const oldest = await placeOrder(carol, { createdAt: new Date('2026-01-01T00:00:00.000Z') });
    const tied = await Promise.all([placeOrder(carol, { createdAt: sameMoment }), placeOrder(carol, { createdAt: sameMoment }), placeOrder(carol, { createdAt: sameMoment })]);
    const newest = await placeOrder(carol, { createdAt: new Date('2026-11-24T00:00:00.000Z') });
    await placeOrder(bob, { createdAt: new Date('2026-11-22T00:00:00.000Z') });

    const expected = [newest.id, ...tied.map((o) => o.id).sort(), oldest.id];
    const seen: string[] = [];
    for (let page = 1; page <= 3; page++) {
      const result = await h.caller(carol).orders.list({ page, limit: 2 });
      expect(result).toMatchObject({ page, limit: 2, total: 5 });
      seen.push(...result.items.map((o) => o.id));
    }
    expect(seen).toEqual(expected);
    expect(await h.caller(carol).orders.list({ page: 4, limit: 2 })).toEqual({ page: 4, limit: 2, total: 5, items: [] });
    expect((await h.caller(carol).orders.list({ page: 1 })).limit).toBe(20);
  });

  it('returns full orders with their items, loaded in one extra query for the whole page', async () => {
    const { user: dave } = await h.createUser();
    for (let i = 0; i < 4; i++) {
      await placeOrder(dave, {
        createdAt: new Date(Date.UTC(2026, 10, 1 + i)),
        lines: [
          { name: `First ${i}`, unitPriceCents: 100 + i, quantity: 1 },
          { name: `Second ${i}`, unitPriceCents: 200, quantity: 2 },
        ],
      });
    }

    const { result, statements: queries } = await captureSql(h.db.orm, () => h.caller(dave).orders.list({ page: 1, limit: 10 }));

    expect(result.items).toHaveLength(4);
    expect(result.items.map((o) => o.items.map((i) => i.name))).toEqual([3, 2, 1, 0].map((i) => [`First ${i}`, `Second ${i}`]));
    expect(result.items[3]).toMatchObject({ subtotal: 5, total: 5, itemCount: 3, discount: 0, promoCode: null, items: [{ unitPrice: 1, lineTotal: 1 }, { unitPrice: 2, lineTotal: 4 }] });
    expect(queries.filter((q) => /from "order_item"/.test(q))).toHaveLength(1);
    expect(queries.filter((q) => q.includes('select '))).toHaveLength(3); // orders, count, items
  });

  it('validates paging strictly and needs a signed-in user', async () => {
    for (const [input, field] of [
      [{}, 'page'],
      [{ page: 0 }, 'page'],
      [{ page: '2.5' }, 'page'],
      [{ page: 1, limit: 101 }, 'limit'],
      [{ page: 1, limit: 'ten' }, 'limit'],
    ] as const) {
      const error = await failure(h.caller(alice).orders.list(input as never));
      expect(error.code).toBe('VALIDATION_ERROR');
      expect(error.details).toEqual([{ field, message: expect.any(String) }]);
    }
    expect((await failure(h.caller().orders.list({ page: 1 }))).code).toBe('UNAUTHORIZED');
  });
});
