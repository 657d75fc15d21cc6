import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Order, OrderItem } from '../src/entities/Order.js';
import type { User } from '../src/entities/User.js';
import { createHttpHarness, expectErrorEnvelope, type HttpHarness } from './support/harness.js';

let h: HttpHarness;
let alice: { user: User; token: string };
let bob: { user: User; token: string };
beforeAll(async () => {
  h = await createHttpHarness();
  alice = await h.createUser();
  bob = await h.createUser();
});
afterAll(() => h.close());

/** Writes an order as checkout would (checkout itself is another feature). */
async function placeOrder(user: User, createdAt: Date, promoCode: string | null = null) {
  const em = h.db.orm.em.fork();
  const order = em.create(Order, { user: user.id, itemCount: 3, subtotalCents: 3097, discountCents: promoCode ? 310 : 0, totalCents: promoCode ? 2787 : 3097, currency: 'EUR', promoCode, createdAt });
  em.create(OrderItem, { order, position: 1, productId: crypto.randomUUID(), name: 'Mug', unitPriceCents: 1099, quantity: 1, lineTotalCents: 1099 });
  em.create(OrderItem, { order, position: 0, productId: crypto.randomUUID(), name: 'Tea', unitPriceCents: 999, quantity: 2, lineTotalCents: 1998 });
  await em.flush();
  return order.id;
}

describe('GET /api/orders/{id}', () => {
  it('returns exactly the contract\'s Order shape', async () => {
    const id = await placeOrder(alice.user, new Date('2026-11-24T10:00:00.000Z'), 'SAVE10');
    const res = await h.request(`/api/orders/${id}`, { token: alice.token });
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/^application\/json/);
    expect(res.body).toEqual({
      id,
      status: 'placed',
      items: [
        { productId: expect.any(String), name: 'Tea', unitPrice: 9.99, quantity: 2, lineTotal: 19.98 },
        { productId: expect.any(String), name: 'Mug', unitPrice: 10.99, quantity: 1, lineTotal: 10.99 },
      ],
      itemCount: 3,
      subtotal: 30.97,
      discount: 3.1,
      total: 27.87,
      currency: 'EUR',
      promoCode: 'SAVE10',
      createdAt: '2026-11-24T10:00:00.000Z',
    });
  });

  it('answers 404 for another user\'s order and for malformed or unknown ids, 401 without a token', async () => {
    const id = await placeOrder(alice.user, new Date());
    expectErrorEnvelope(await h.request(`/api/orders/${id}`, { token: bob.token }), 404, 'NOT_FOUND');
    expectErrorEnvelope(await h.request('/api/orders/not-a-uuid', { token: alice.token }), 404, 'NOT_FOUND');
    expectErrorEnvelope(await h.request('/api/orders/00000000-0000-4000-8000-000000000000', { token: alice.token }), 404, 'NOT_FOUND');
    const anonymous = await h.request(`/api/orders/${id}`);
    expectErrorEnvelope(anonymous, 401, 'UNAUTHORIZED');
    expect(anonymous.headers.get('www-authenticate')).toBe('Bearer');
  });

  it('offers no way to change or delete an order', async () => {
    const id = await placeOrder(alice.user, new Date());
    for (const method of ['PUT', 'PATCH', 'DELETE', 'POST']) {
      const res = await h.request(`/api/orders/${id}`, { method, token: alice.token, json: method === 'DELETE' ? undefined : {} });
      expectErrorEnvelope(res, 405, 'METHOD_NOT_ALLOWED');
      const allowed = res.headers.get('allow')!.split(/,\s*/);
      expect(allowed).toContain('GET');
      expect(allowed.filter((m) => !['GET', 'HEAD', 'OPTIONS'].includes(m))).toEqual([]);
    }
    expect((await h.request(`/api/orders/${id}`, { token: alice.token })).status).toBe(200);
  });
});

describe('GET /api/orders', () => {
  it('pages through the caller\'s orders newest first and never shows anyone else\'s', async () => {
    const { user, token } = await h.createUser();
    const ids = [];
    for (let day = 1; day <= 5; day++) ids.push(await placeOrder(user, new Date(Date.UTC(2026, 10, day))));
    await placeOrder(bob.user, new Date(Date.UTC(2026, 10, 3, 12)));

    const first = await h.request('/api/orders?page=1&limit=2', { token });
    expect(first.status).toBe(200);
    expect(Object.keys(first.body).sort()).toEqual(['items', 'limit', 'page', 'total']);
    expect(first.body).toMatchObject({ page: 1, limit: 2, total: 5 });
    const second = await h.request('/api/orders?page=2&limit=2', { token });
    const third = await h.request('/api/orders?page=3&limit=2', { token });
    const walked = [first, second, third].flatMap((r) => r.body.items.map((o: { id: string }) => o.id));
    expect(walked).toEqual([...ids].reverse());
    expect(third.body.items[0].items.map((i: { name: string }) => i.name)).toEqual(['Tea', 'Mug']);

    const past = await h.request('/api/orders?page=4&limit=2', { token });
    expect(past.body).toEqual({ page: 4, limit: 2, total: 5, items: [] });
    const defaults = await h.request('/api/orders?page=1&unknown=x', { token });
    expect(defaults.body).toMatchObject({ page: 1, limit: 20, total: 5 });
  });

  it('answers an empty page for a user without orders', async () => {
    const { token } = await h.createUser();
    expect((await h.request('/api/orders?page=1', { token })).body).toEqual({ page: 1, limit: 20, total: 0, items: [] });
  });

  it.each([
    ['', 'page'],
    ['?page=0', 'page'],
    ['?page=1.5', 'page'],
    ['?page=x', 'page'],
    ['?page=', 'page'],
    ['?page=1&page=1', 'page'],
    ['?page=1&limit=0', 'limit'],
    ['?page=1&limit=101', 'limit'],
    ['?page=1&limit=-5', 'limit'],
  ])('rejects %s naming %s', async (query, field) => {
    const error = expectErrorEnvelope(await h.request(`/api/orders${query}`, { token: alice.token }), 400, 'VALIDATION_ERROR');
    expect(error.details).toEqual([{ field, message: expect.any(String) }]);
  });

  it('needs a token before anything else', async () => {
    expectErrorEnvelope(await h.request('/api/orders?page=0'), 401, 'UNAUTHORIZED');
  });
});
