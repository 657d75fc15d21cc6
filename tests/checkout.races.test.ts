import { CheckConstraintViolationException } from '@mikro-orm/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Cart } from '../src/entities/Cart.js';
import { CartItem } from '../src/entities/CartItem.js';
import { Order } from '../src/entities/Order.js';
import { Product } from '../src/entities/Product.js';
import { PromoCode } from '../src/entities/PromoCode.js';
import { PromoRedemption } from '../src/entities/PromoRedemption.js';
import { MAX_CART_LINES } from '../src/routers/cart/schemas.js';
import { createHttpHarness, expectErrorEnvelope, type HttpHarness, type TestResponse } from './support/harness.js';

/**
 * The concurrency guarantees of §5 and §6, proven with requests really sent in
 * parallel over HTTP. On PostgreSQL they race; on PGlite they serialize and the
 * outcome must be the same.
 */

let h: HttpHarness;
beforeAll(async () => {
  h = await createHttpHarness();
});
afterAll(() => h.close());

const stockOf = async (id: string) => (await h.db.orm.em.fork().findOneOrFail(Product, { id })).stock;

async function shopper(lines: Array<{ productId: string; quantity: number }>) {
  const { user, token } = await h.createUser();
  for (const json of lines) expect((await h.request('/api/cart/items', { method: 'POST', token, json })).status).toBe(200);
  return { user, token };
}

const checkout = (token: string, headers: Record<string, string> = {}) => h.request('/api/checkout', { method: 'POST', token, headers });

const statuses = (responses: TestResponse[]) => responses.map((r) => r.status).sort();

describe('checkout races', () => {
  it('sells scarce stock exactly once: 12 buyers, 5 in stock', async () => {
    const product = await h.createProduct({ stock: 5 });
    const buyers = await Promise.all(Array.from({ length: 12 }, () => shopper([{ productId: product.id, quantity: 1 }])));

    const responses = await Promise.all(buyers.map(({ token }) => checkout(token)));

    const won = responses.filter((r) => r.status === 201);
    const lost = responses.filter((r) => r.status !== 201);
    expect(won).toHaveLength(5);
    expect(lost).toHaveLength(7);
    for (const res of lost) {
      expect(expectErrorEnvelope(res, 409, 'INSUFFICIENT_STOCK').details).toEqual([{ productId: product.id, requested: 1, available: 0 }]);
    }
    expect(await stockOf(product.id)).toBe(0);
    expect(await h.db.orm.em.fork().count(Order, { user: { $in: buyers.map((b) => b.user.id) } })).toBe(5);
  });

  it('places one order when one cart is submitted 5 times at once; the rest are CART_EMPTY', async () => {
    const product = await h.createProduct({ stock: 50 });
    const { user, token } = await shopper([{ productId: product.id, quantity: 3 }]);

    const responses = await Promise.all(Array.from({ length: 5 }, () => checkout(token)));

    expect(statuses(responses)).toEqual([201, 409, 409, 409, 409]);
    for (const res of responses.filter((r) => r.status === 409)) expectErrorEnvelope(res, 409, 'CART_EMPTY');
    expect(await h.db.orm.em.fork().count(Order, { user: user.id })).toBe(1);
    expect(await stockOf(product.id)).toBe(47);
  });

  it('answers 8 concurrent requests sharing an Idempotency-Key with one order and identical 201 bodies', async () => {
    const product = await h.createProduct({ stock: 50 });
    const { user, token } = await shopper([{ productId: product.id, quantity: 2 }]);

    const responses = await Promise.all(Array.from({ length: 8 }, () => checkout(token, { 'Idempotency-Key': 'same-click' })));

    expect(statuses(responses)).toEqual(Array(8).fill(201));
    const [first] = responses;
    for (const res of responses) {
      expect(res.body).toEqual(first!.body);
      expect(res.headers.get('location')).toBe(`/api/orders/${first!.body.id}`);
    }
    expect(responses.filter((r) => r.headers.get('idempotent-replayed') === 'true')).toHaveLength(7);
    expect(responses.filter((r) => r.headers.get('idempotent-replayed') === null)).toHaveLength(1);
    expect(await h.db.orm.em.fork().count(Order, { user: user.id })).toBe(1);
    expect(await stockOf(product.id)).toBe(48);
  });

  it('never redeems a promo code past maxRedemptions: 8 users race for 3', async () => {
    const product = await h.createProduct({ stock: 100, priceCents: 2000 });
    const promo = await h.createPromoCode({ code: 'RACE3', maxRedemptions: 3 });
    const buyers = await Promise.all(Array.from({ length: 8 }, () => shopper([{ productId: product.id, quantity: 1 }])));
    for (const { token } of buyers) {
      expect((await h.request('/api/cart/promo-code', { method: 'POST', token, json: { code: 'RACE3' } })).status).toBe(200);
    }

    const responses = await Promise.all(buyers.map(({ token }) => checkout(token)));

    const won = responses.filter((r) => r.status === 201);
    expect(won).toHaveLength(3);
    for (const res of won) expect(res.body).toMatchObject({ promoCode: 'RACE3', subtotal: 20, discount: 2, total: 18 });
    for (const res of responses.filter((r) => r.status !== 201)) {
      expect(expectErrorEnvelope(res, 409, 'PROMO_CODE_INVALID').details).toEqual({ reason: 'exhausted' });
    }
    const fresh = h.db.orm.em.fork();
    expect((await fresh.findOneOrFail(PromoCode, { id: promo.id })).redemptions).toBe(3);
    expect(await fresh.count(PromoRedemption, { promoCode: promo.id })).toBe(3);
    // The losers' transactions rolled back entirely: only the winners' stock is gone.
    expect(await stockOf(product.id)).toBe(97);
  });

  it('lets two shoppers with the same products in opposite orders check out together, round after round', async () => {
    const products = [await h.createProduct({ stock: 1000 }), await h.createProduct({ stock: 1000 }), await h.createProduct({ stock: 1000 })];
    const forward = products.map((p) => ({ productId: p.id, quantity: 1 }));
    const backward = [...forward].reverse();
    const rounds = 5;
    for (let round = 0; round < rounds; round++) {
      const [a, b, c] = await Promise.all([shopper(forward), shopper(backward), shopper([forward[1]!, forward[2]!, forward[0]!])]);
      const responses = await Promise.all([checkout(a.token), checkout(b.token), checkout(c.token)]);
      expect(statuses(responses), `round ${round}`).toEqual([201, 201, 201]);
    }
    for (const product of products) expect(await stockOf(product.id)).toBe(1000 - 3 * rounds);
  });

  it('keeps stock from ever going negative at the database level', async () => {
    const product = await h.createProduct({ stock: 1 });
    await expect(h.db.orm.em.fork().nativeUpdate(Product, { id: product.id }, { stock: -1 })).rejects.toBeInstanceOf(CheckConstraintViolationException);
  });
});

describe('cart races', () => {
  it('adds up 10 parallel adds of the same product to a brand-new cart', async () => {
    const product = await h.createProduct({ stock: 50 });
    const { token } = await h.createUser();

    const responses = await Promise.all(
      Array.from({ length: 10 }, () => h.request('/api/cart/items', { method: 'POST', token, json: { productId: product.id } })),
    );

    expect(statuses(responses)).toEqual(Array(10).fill(200));
    const cart = (await h.request('/api/cart', { token })).body;
    expect(cart.items).toHaveLength(1);
    expect(cart.items[0].quantity).toBe(10);
    expect(new Set(responses.map((r) => r.body.id))).toEqual(new Set([cart.id]));
  });

  it('never lets parallel adds push a line past the stock', async () => {
    const product = await h.createProduct({ stock: 4 });
    const { token } = await h.createUser();

    const responses = await Promise.all(
      Array.from({ length: 6 }, () => h.request('/api/cart/items', { method: 'POST', token, json: { productId: product.id } })),
    );

    expect(statuses(responses)).toEqual([200, 200, 200, 200, 409, 409]);
    expect((await h.request('/api/cart', { token })).body.items[0].quantity).toBe(4);
  });

  it(`lets only one of 6 parallel adds of new products take the last of ${MAX_CART_LINES} lines`, async () => {
    const { user, token } = await h.createUser();
    // The cart is filled directly: a thousand API calls would only slow the test.
    const em = h.db.orm.em.fork();
    const cart = em.create(Cart, { user: user.id, status: 'active' });
    for (let i = 1; i < MAX_CART_LINES; i++) {
      const product = em.create(Product, { name: `Filler ${i}`, priceCents: 100, stock: 5, imageUrl: null, category: null });
      em.create(CartItem, { cart, product, quantity: 1 });
    }
    await em.flush();
    const newcomers = await Promise.all(Array.from({ length: 6 }, () => h.createProduct({ stock: 5 })));

    const responses = await Promise.all(
      newcomers.map((product) => h.request('/api/cart/items', { method: 'POST', token, json: { productId: product.id } })),
    );

    expect(statuses(responses)).toEqual([200, 400, 400, 400, 400, 400]);
    for (const res of responses.filter((r) => r.status === 400)) expectErrorEnvelope(res, 400, 'VALIDATION_ERROR');
    expect((await h.request('/api/cart', { token })).body.items).toHaveLength(MAX_CART_LINES);
  });
});
