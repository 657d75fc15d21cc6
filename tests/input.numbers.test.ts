import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Cart } from '../src/entities/Cart.js';
import { CartItem } from '../src/entities/CartItem.js';
import { Product } from '../src/entities/Product.js';
import type { User } from '../src/entities/User.js';
import { hasAtMostTwoDecimals } from '../src/lib/money.js';
import { MAX_CART_LINES, MAX_LINE_QUANTITY } from '../src/routers/cart/schemas.js';
import { expectAppError } from './support/errors.js';
import { createHttpHarness, expectErrorEnvelope, type HttpHarness, type TestResponse } from './support/harness.js';

/** Issue 8 §2: money with more than 2 decimals, sums that overflow, times PostgreSQL cannot store. */

let h: HttpHarness;
let admin: { user: User; token: string };

beforeAll(async () => {
  h = await createHttpHarness();
  admin = await h.createUser({ role: 'admin' });
});
afterAll(() => h.close());

function expectFieldError(res: TestResponse, field: string) {
  const error = expectErrorEnvelope(res, 400, 'VALIDATION_ERROR');
  expect(error.details).toEqual(expect.arrayContaining([expect.objectContaining({ field })]));
}

const post = (path: string, json: unknown, token = admin.token) => h.request(path, { method: 'POST', json, token });
const put = (path: string, json: unknown, token = admin.token) => h.request(path, { method: 'PUT', json, token });
const patch = (path: string, json: unknown, token = admin.token) => h.request(path, { method: 'PATCH', json, token });

let codeCounter = 0;
const nextCode = () => `NUM${++codeCounter}`;

describe('hasAtMostTwoDecimals: exact, on the shortest decimal form of the number', () => {
  it.each([
    [19.99, true],
    [18, true],
    [0.07, true],
    [0.1, true],
    [1e-2, true],
    [-19.99, true],
    [1e21, true],
    [1.5e300, true],
    [1e-9, false],
    [1.5e-7, false],
    [19.999999999, false],
    [1.005, false],
    [0.1 + 0.2, false],
    [5e-324, false],
    [Number.NaN, false],
    [Number.POSITIVE_INFINITY, false],
  ])('%s → %s', (amount, expected) => {
    expect(hasAtMostTwoDecimals(amount)).toBe(expected);
  });
});

describe('money inputs with more than 2 decimals → 400 naming the field (no tolerance)', () => {
  const tooPrecise = [1e-9, 19.999999999, 0.001, 1.005];

  it.each(tooPrecise)('product price %s on create and replace', async (price) => {
    expectFieldError(await post('/api/products', { name: 'Precise', price }), 'price');
    const product = await h.caller(admin.user).products.create({ name: 'Target', price: 1 });
    expectFieldError(await put(`/api/products/${product.id}`, { name: 'Precise', price, stock: 0 }), 'price');
    await expectAppError(h.caller(admin.user).products.create({ name: 'Precise', price }), 'VALIDATION_ERROR', 'price');
  });

  it.each(tooPrecise)('promo fixed value and minSubtotal %s, on create and update', async (amount) => {
    expectFieldError(await post('/api/promo-codes', { code: nextCode(), type: 'fixed', value: amount }), 'value');
    expectFieldError(await post('/api/promo-codes', { code: nextCode(), type: 'percent', value: 5, minSubtotal: amount }), 'minSubtotal');
    const promo = await h.caller(admin.user).promoCodes.create({ code: nextCode(), type: 'percent', value: 5 });
    expectFieldError(await patch(`/api/promo-codes/${promo.id}`, { minSubtotal: amount }), 'minSubtotal');
    await expectAppError(h.caller(admin.user).promoCodes.create({ code: nextCode(), type: 'fixed', value: amount }), 'VALIDATION_ERROR', 'value');
  });

  it.each(tooPrecise)('query minPrice/maxPrice %s: as a REST string and as a tRPC number', async (amount) => {
    expectFieldError(await h.request(`/api/products?page=1&minPrice=${amount}`), 'minPrice');
    expectFieldError(await h.request(`/api/products/search?page=1&q=x&maxPrice=${amount}`), 'maxPrice');
    await expectAppError(h.caller().products.list({ page: 1, minPrice: amount }), 'VALIDATION_ERROR', 'minPrice');
    await expectAppError(h.caller().products.search({ page: 1, q: 'x', maxPrice: amount }), 'VALIDATION_ERROR', 'maxPrice');
  });

  it('amounts with up to 2 decimals are stored exactly', async () => {
    for (const price of [0.01, 0.1, 19.99, 999999.99, 1000000]) {
      const res = await post('/api/products', { name: 'Exact', price });
      expect(res.status).toBe(201);
      expect(res.body.price).toBe(price);
    }
    const promo = await post('/api/promo-codes', { code: nextCode(), type: 'fixed', value: 0.01, minSubtotal: 999999.99 });
    expect(promo.status).toBe(201);
    expect(promo.body).toMatchObject({ value: 0.01, minSubtotal: 999999.99 });
  });
});

describe("promo startsAt/expiresAt outside years 0001–9999 (UTC) or finer than a millisecond → 400 naming the field", () => {
  const refused: [string, 'startsAt' | 'expiresAt', string][] = [
    ['year 0000', 'startsAt', '0000-01-01T00:00:00Z'],
    ['year 0000 (expiresAt)', 'expiresAt', '0000-06-15T12:00:00Z'],
    ['year 10000', 'expiresAt', '10000-01-01T00:00:00Z'],
    ['0001-01-01 at +01:00 (0000-12-31T23:00Z)', 'startsAt', '0001-01-01T00:00:00+01:00'],
    ['9999-12-31T23:59:59 at -01:00 (10000-01-01T00:59:59Z)', 'expiresAt', '9999-12-31T23:59:59-01:00'],
    ['a microsecond (finer than the millisecond the API keeps)', 'startsAt', '2026-01-01T00:00:00.000001Z'],
    ['9999-12-31T23:00 at -01:00 in basic form', 'expiresAt', '99991231T2300-0100'],
  ];

  it.each(refused)('%s', async (_label, field, value) => {
    expectFieldError(await post('/api/promo-codes', { code: nextCode(), type: 'percent', value: 5, [field]: value }), field);
    const promo = await h.caller(admin.user).promoCodes.create({ code: nextCode(), type: 'percent', value: 5 });
    expectFieldError(await patch(`/api/promo-codes/${promo.id}`, { [field]: value }), field);
    await expectAppError(h.caller(admin.user).promoCodes.update({ id: promo.id, [field]: value }), 'VALIDATION_ERROR', field);
  });

  const accepted: [string, string, string][] = [
    ['the first instant', '0001-01-01T00:00:00Z', '0001-01-01T00:00:00.000Z'],
    ['0001-01-01T00:30 at +00:30', '0001-01-01T00:30:00+00:30', '0001-01-01T00:00:00.000Z'],
    ['0001-01-01T00:00 at -01:00', '0001-01-01T00:00:00-01:00', '0001-01-01T01:00:00.000Z'],
    ['the last millisecond', '9999-12-31T23:59:59.999Z', '9999-12-31T23:59:59.999Z'],
    ['9999-12-31T23:59:59 at +01:00', '9999-12-31T23:59:59+01:00', '9999-12-31T22:59:59.000Z'],
  ];

  it.each(accepted)('%s is stored and read back', async (_label, input, stored) => {
    const field = stored.startsWith('0001') ? 'startsAt' : 'expiresAt';
    const res = await post('/api/promo-codes', { code: nextCode(), type: 'percent', value: 5, [field]: input });
    expect(res.status, res.text).toBe(201);
    expect(res.body[field]).toBe(stored);
    expect((await h.request(`/api/promo-codes/${res.body.id}`, { token: admin.token })).body[field]).toBe(stored);
  });
});

const MAX_PRICE_CENTS = 100_000_000;

/** A customer whose active cart holds `lines` (inserted directly: a thousand API calls would only slow the test). */
async function customerWithCart(lines: { priceCents: number; quantity: number }[]) {
  const customer = await h.createUser();
  const em = h.db.orm.em.fork();
  const products = lines.map((line, i) =>
    em.create(Product, { name: `Bulk ${i}`, priceCents: line.priceCents, stock: line.quantity, description: '', imageUrl: null, category: null, attributes: {} }),
  );
  const cart = em.create(Cart, { user: customer.user.id, status: 'active' });
  await em.flush();
  for (const [i, line] of lines.entries()) em.create(CartItem, { cart, product: products[i]!, quantity: line.quantity });
  await em.flush();
  return { ...customer, products };
}

describe('no arithmetic overflow: the largest cart the limits allow checks out exactly', () => {
  it('22 × a 1,000,000.00 product (over 2^31 cents) checks out: 201 with exact totals', async () => {
    const customer = await customerWithCart([{ priceCents: MAX_PRICE_CENTS, quantity: 22 }]);
    const res = await post('/api/checkout', {}, customer.token);
    expect(res.status, res.text).toBe(201);
    expect(res.body).toMatchObject({ itemCount: 22, subtotal: 22_000_000, discount: 0, total: 22_000_000 });
    expect(res.body.items[0]).toMatchObject({ unitPrice: 1_000_000, quantity: 22, lineTotal: 22_000_000 });
  });

  it(`${MAX_CART_LINES} lines × ${MAX_LINE_QUANTITY} × max price with a 50% code: cart, checkout and order agree to the cent`, async () => {
    // One line a cent cheaper makes the subtotal odd, so the percent discount has a half cent to round (up).
    const lines = Array.from({ length: MAX_CART_LINES }, (_, i) => ({
      priceCents: i === MAX_CART_LINES - 1 ? MAX_PRICE_CENTS - 1 : MAX_PRICE_CENTS,
      quantity: MAX_LINE_QUANTITY,
    }));
    const customer = await customerWithCart(lines);
    await h.caller(admin.user).promoCodes.create({ code: 'HALFOFF', type: 'percent', value: 50 });

    const subtotalCents = MAX_CART_LINES * MAX_LINE_QUANTITY * MAX_PRICE_CENTS - MAX_LINE_QUANTITY; // 9,899,999,999,901
    const discountCents = Math.floor((subtotalCents * 50 + 50) / 100); // 4,949,999,999,950.5 → 4,949,999,999,951
    const expected = {
      itemCount: MAX_CART_LINES * MAX_LINE_QUANTITY,
      subtotal: 98_999_999_999.01,
      discount: 49_499_999_999.51,
      total: 49_499_999_999.5,
    };
    expect([subtotalCents / 100, discountCents / 100, (subtotalCents - discountCents) / 100]).toEqual([expected.subtotal, expected.discount, expected.total]);

    const cart = await post('/api/cart/promo-code', { code: 'HALFOFF' }, customer.token);
    expect(cart.status, cart.text).toBe(200);
    expect(cart.body).toMatchObject(expected);

    const order = await post('/api/checkout', {}, customer.token);
    expect(order.status, order.text).toBe(201);
    expect(order.body).toMatchObject({ ...expected, promoCode: 'HALFOFF' });
    expect(order.body.items).toHaveLength(MAX_CART_LINES);
    const cheaper = order.body.items.filter((item: { unitPrice: number }) => item.unitPrice !== 1_000_000);
    expect(cheaper).toEqual([expect.objectContaining({ unitPrice: 999_999.99, quantity: 99, lineTotal: 98_999_999.01 })]);

    const stored = await h.request(`/api/orders/${order.body.id}`, { token: customer.token });
    expect(stored.body).toEqual(order.body);
    expect(await h.caller(customer.user).orders.byId({ id: order.body.id })).toEqual(order.body);
  });

  it(`the ${MAX_CART_LINES + 1}st different product → 400 field productId; more of a product already in the cart is fine`, async () => {
    const customer = await customerWithCart(Array.from({ length: MAX_CART_LINES }, () => ({ priceCents: 100, quantity: 1 })));
    const extra = await h.caller(admin.user).products.create({ name: 'One too many', price: 1, stock: 5 });

    const res = await post('/api/cart/items', { productId: extra.id }, customer.token);
    expectFieldError(res, 'productId');
    expect(res.body.error.details).toEqual([{ field: 'productId', message: `A cart holds at most ${MAX_CART_LINES} different products` }]);
    await expectAppError(h.caller(customer.user).cart.addItem({ productId: extra.id }), 'VALIDATION_ERROR', 'productId');

    // Topping up an existing line adds no line: still allowed (its product has stock 1, so it must be a conflict, not a 400).
    const topUp = await post('/api/cart/items', { productId: customer.products[0]!.id }, customer.token);
    expectErrorEnvelope(topUp, 409, 'INSUFFICIENT_STOCK');

    // With one line removed, the new product fits again.
    const cart = await h.caller(customer.user).cart.get();
    await h.caller(customer.user).cart.removeItem({ itemId: cart.items[0]!.id });
    const added = await post('/api/cart/items', { productId: extra.id }, customer.token);
    expect(added.status, added.text).toBe(200);
    expect(added.body.items).toHaveLength(MAX_CART_LINES);
  });
});

describe('pagination at its extreme: the offset of the last page number fits', () => {
  it('page 2^53 − 1 with limit 100 → 200, no items, the true total, on every collection', async () => {
    const customer = await customerWithCart([{ priceCents: 100, quantity: 1 }]);
    await post('/api/checkout', {}, customer.token);
    await h.caller(admin.user).promoCodes.create({ code: nextCode(), type: 'percent', value: 5 });
    const page = Number.MAX_SAFE_INTEGER;
    const collections: [string, string | undefined][] = [
      ...['newest', 'price_asc', 'price_desc', 'name_asc'].map((sort): [string, undefined] => [`/api/products?page=${page}&limit=100&sort=${sort}`, undefined]),
      [`/api/products?page=${page}&limit=100&category=none&minPrice=0`, undefined],
      [`/api/products/search?page=${page}&limit=100&q=bulk`, undefined],
      [`/api/orders?page=${page}&limit=100`, customer.token],
      [`/api/promo-codes?page=${page}&limit=100`, admin.token],
    ];
    for (const [path, token] of collections) {
      const res = await h.request(path, { token });
      expect(res.status, `${path}: ${res.text}`).toBe(200);
      expect(res.body).toMatchObject({ page, limit: 100, items: [] });
      if (!path.includes('category=none')) expect(res.body.total, path).toBeGreaterThan(0);
    }
  });
});
