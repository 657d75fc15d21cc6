import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Order } from '../src/entities/Order.js';
import { Product } from '../src/entities/Product.js';
import { ISO_TIMESTAMP } from './support/contract-shapes.js';
import { createHttpHarness, expectErrorEnvelope, type HttpHarness, type ProductFields } from './support/harness.js';

/** Contract §6 over real HTTP: 201 + Location, the 409s, idempotency headers and the order of checks. */

let h: HttpHarness;
beforeAll(async () => {
  h = await createHttpHarness();
});
afterAll(() => h.close());

/** 89.99 and 25 in stock unless the test says otherwise: the figures the expected bodies use. */
const createProduct = (fields: ProductFields = {}) => h.createProduct({ priceCents: 8999, stock: 25, ...fields });

async function shopper(lines: Array<{ productId: string; quantity: number }> = []) {
  const { user, token } = await h.createUser();
  for (const json of lines) {
    const res = await h.request('/api/cart/items', { method: 'POST', token, json });
    expect(res.status).toBe(200);
  }
  return { user, token };
}

const checkout = (token: string, init: { json?: unknown; key?: string; headers?: Record<string, string>; body?: string } = {}) =>
  h.request('/api/checkout', {
    method: 'POST',
    token,
    json: init.json,
    body: init.body,
    headers: { ...init.headers, ...(init.key === undefined ? {} : { 'Idempotency-Key': init.key }) },
  });

describe('POST /api/checkout', () => {
  it('answers 201 with the order and its Location, and the next cart is new and empty', async () => {
    const product = await createProduct();
    const { token } = await shopper([{ productId: product.id, quantity: 2 }]);
    const cartId = (await h.request('/api/cart', { token })).body.id;

    const res = await checkout(token);
    expect(res.status).toBe(201);
    expect(res.headers.get('content-type')).toMatch(/^application\/json; charset=utf-8/);
    expect(res.body).toEqual({
      id: expect.any(String),
      status: 'placed',
      items: [{ productId: product.id, name: product.name, unitPrice: 89.99, quantity: 2, lineTotal: 179.98 }],
      itemCount: 2,
      subtotal: 179.98,
      discount: 0,
      total: 179.98,
      currency: 'EUR',
      promoCode: null,
      createdAt: expect.stringMatching(ISO_TIMESTAMP),
    });
    expect(res.headers.get('location')).toBe(`/api/orders/${res.body.id}`);
    expect(res.headers.get('idempotent-replayed')).toBeNull();

    const viaLocation = await h.request(res.headers.get('location')!, { token });
    expect(viaLocation.status).toBe(200);
    expect(viaLocation.body).toEqual(res.body);

    const cart = await h.request('/api/cart', { token });
    expect(cart.body.id).not.toBe(cartId);
    expect(cart.body).toMatchObject({ items: [], itemCount: 0, subtotal: 0, total: 0, promoCode: null });
  });

  it('accepts a JSON body with the charset parameter and an explicit empty object', async () => {
    const product = await createProduct();
    const first = await shopper([{ productId: product.id, quantity: 1 }]);
    const charset = await checkout(first.token, { headers: { 'Content-Type': 'application/json; charset=utf-8' }, body: '{"promoCode":null}' });
    expect(charset.status).toBe(201);
    const second = await shopper([{ productId: product.id, quantity: 1 }]);
    expect((await checkout(second.token, { json: {} })).status).toBe(201);
  });

  it('applies a promo code from the body, the cart, or not at all when it is invalid', async () => {
    await h.createPromoCode({ code: 'HTTPSAVE10', type: 'percent', value: 10 });
    await h.createPromoCode({ code: 'HTTPOFF', type: 'percent', value: 50, active: false });
    const product = await createProduct();

    const fromBody = await shopper([{ productId: product.id, quantity: 2 }]);
    const ordered = await checkout(fromBody.token, { json: { promoCode: 'httpsave10' } });
    expect(ordered.status).toBe(201);
    expect(ordered.body).toMatchObject({ subtotal: 179.98, discount: 18, total: 161.98, promoCode: 'HTTPSAVE10' });

    const invalid = await shopper([{ productId: product.id, quantity: 1 }]);
    const refused = await checkout(invalid.token, { json: { promoCode: 'HTTPOFF' } });
    expect(expectErrorEnvelope(refused, 409, 'PROMO_CODE_INVALID').details).toEqual({ reason: 'inactive' });
  });

  it('answers 409 CART_EMPTY for an empty cart and for a second checkout', async () => {
    const { token } = await shopper();
    expectErrorEnvelope(await checkout(token), 409, 'CART_EMPTY');
    const product = await createProduct();
    await h.request('/api/cart/items', { method: 'POST', token, json: { productId: product.id } });
    expect((await checkout(token)).status).toBe(201);
    expectErrorEnvelope(await checkout(token), 409, 'CART_EMPTY');
  });

  it('answers 409 INSUFFICIENT_STOCK listing the lines that do not fit', async () => {
    const [short, fine] = [await createProduct({ stock: 5 }), await createProduct({ stock: 5 })];
    const { token } = await shopper([
      { productId: fine.id, quantity: 1 },
      { productId: short.id, quantity: 4 },
    ]);
    await h.db.orm.em.fork().nativeUpdate(Product, { id: short.id }, { stock: 2 });
    const error = expectErrorEnvelope(await checkout(token), 409, 'INSUFFICIENT_STOCK');
    expect(error.details).toEqual([{ productId: short.id, requested: 4, available: 2 }]);
  });
});

describe('order of checks', () => {
  it('authenticates first', async () => {
    const res = await h.request('/api/checkout', { method: 'POST', json: { nope: 1 }, headers: { 'Idempotency-Key': '' } });
    expectErrorEnvelope(res, 401, 'UNAUTHORIZED');
  });

  it('then checks the body media type and the body', async () => {
    const { token } = await shopper();
    expectErrorEnvelope(await checkout(token, { headers: { 'Content-Type': 'text/plain' }, body: 'x', key: 'bad key' }), 415, 'UNSUPPORTED_MEDIA_TYPE');
    for (const json of [{ nope: 1 }, { promoCode: 5 }, [1]]) {
      const res = await checkout(token, { json, key: 'bad key' });
      const error = expectErrorEnvelope(res, 400, 'VALIDATION_ERROR');
      expect(error.details).not.toEqual([expect.objectContaining({ field: 'Idempotency-Key' })]);
    }
  });

  it('then the Idempotency-Key header, before any conflict', async () => {
    const { token } = await shopper();
    for (const key of ['', 'two words', 'k'.repeat(256), 'café']) {
      const error = expectErrorEnvelope(await checkout(token, { key }), 400, 'VALIDATION_ERROR');
      expect(error.details).toEqual([{ field: 'Idempotency-Key', message: expect.any(String) }]);
    }
  });
});

describe('Idempotency-Key', () => {
  it('replays the original 201 body and Location with Idempotent-Replayed, creating nothing', async () => {
    const product = await createProduct({ stock: 10 });
    const { user, token } = await shopper([{ productId: product.id, quantity: 3 }]);
    const first = await checkout(token, { key: 'order-attempt-1', json: { promoCode: null } });
    expect(first.status).toBe(201);

    await h.request('/api/cart/items', { method: 'POST', token, json: { productId: product.id } });
    await h.db.orm.em.fork().nativeUpdate(Product, { id: product.id }, { priceCents: 1 });
    const replay = await checkout(token, { key: 'order-attempt-1', headers: { 'Content-Type': 'application/json' }, body: ' { "promoCode" : null } ' });
    expect(replay.status).toBe(201);
    expect(replay.body).toEqual(first.body);
    expect(replay.headers.get('location')).toBe(first.headers.get('location'));
    expect(replay.headers.get('idempotent-replayed')).toBe('true');

    expect(await h.db.orm.em.fork().count(Order, { user: user.id })).toBe(1);
    expect((await h.db.orm.em.fork().findOneOrFail(Product, { id: product.id })).stock).toBe(7);
    expect((await h.request('/api/cart', { token })).body.itemCount).toBe(1);
  });

  it('treats an absent body as {}', async () => {
    const product = await createProduct();
    const { token } = await shopper([{ productId: product.id, quantity: 1 }]);
    const first = await checkout(token, { key: 'absent-body' });
    const replay = await checkout(token, { key: 'absent-body', json: {} });
    expect(replay.status).toBe(201);
    expect(replay.body.id).toBe(first.body.id);
  });

  it('answers 409 IDEMPOTENCY_KEY_REUSED for the same key with another body', async () => {
    const product = await createProduct();
    const { token } = await shopper([{ productId: product.id, quantity: 1 }]);
    await checkout(token, { key: 'reused-key' });
    const res = await checkout(token, { key: 'reused-key', json: { promoCode: 'OTHER' } });
    expectErrorEnvelope(res, 409, 'IDEMPOTENCY_KEY_REUSED');
  });

  it('leaves the key usable after an error response', async () => {
    const product = await createProduct();
    const { token } = await shopper();
    expectErrorEnvelope(await checkout(token, { key: 'try-again' }), 409, 'CART_EMPTY');
    await h.request('/api/cart/items', { method: 'POST', token, json: { productId: product.id } });
    const res = await checkout(token, { key: 'try-again' });
    expect(res.status).toBe(201);
    expect(res.headers.get('idempotent-replayed')).toBeNull();
  });
});

describe('OpenAPI document', () => {
  it('documents 201, the Idempotency-Key header and the Location header', async () => {
    const operation = (await h.request('/api/openapi.json')).body.paths['/api/checkout'].post;
    expect(operation.security).toEqual([{ bearerAuth: [] }]);
    expect(operation.responses['201']).toBeDefined();
    expect(operation.responses['200']).toBeUndefined();
    const keyHeader = operation.parameters.find((p: { in: string; name: string }) => p.in === 'header' && p.name === 'Idempotency-Key');
    expect(keyHeader).toBeDefined();
    expect(keyHeader.required).not.toBe(true);
    expect(operation.responses['201'].headers?.Location).toBeDefined();
    expect(operation.requestBody.required).toBe(false);
  });
});
