import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { emptyCart } from './support/contract-shapes.js';
import { createHttpHarness, expectErrorEnvelope, type HttpHarness, type ProductFields } from './support/harness.js';

/** Contract §5 over real HTTP: paths, statuses, bodies, error envelopes and the order of checks. */

let h: HttpHarness;
beforeAll(async () => {
  h = await createHttpHarness();
});
afterAll(() => h.close());

/** The product the expected bodies below describe: 89.99, 25 in stock. */
const createShoe = (fields: ProductFields = {}) =>
  h.createProduct({ name: 'Trail Running Shoe', priceCents: 8999, stock: 25, imageUrl: 'https://example.com/img/shoe.jpg', category: 'footwear', ...fields });

const token = async () => (await h.createUser()).token;

describe('GET /api/cart', () => {
  it('returns the implicit empty cart as JSON', async () => {
    const res = await h.request('/api/cart', { token: await token() });
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/^application\/json; charset=utf-8/);
    expect(res.body).toEqual(emptyCart());
  });

  it('ignores unknown query parameters', async () => {
    expect((await h.request('/api/cart?foo=bar', { token: await token() })).status).toBe(200);
  });

  it('answers 401 with WWW-Authenticate on every cart route without a token', async () => {
    const routes: Array<[string, string]> = [
      ['GET', '/api/cart'],
      ['DELETE', '/api/cart'],
      ['POST', '/api/cart/items'],
      ['PATCH', '/api/cart/items/00000000-0000-4000-8000-000000000000'],
      ['DELETE', '/api/cart/items/00000000-0000-4000-8000-000000000000'],
      ['POST', '/api/cart/promo-code'],
      ['DELETE', '/api/cart/promo-code'],
    ];
    for (const [method, path] of routes) {
      const res = await h.request(path, { method, json: method === 'POST' || method === 'PATCH' ? { bogus: true } : undefined });
      expectErrorEnvelope(res, 401, 'UNAUTHORIZED');
      expect(res.headers.get('www-authenticate'), `${method} ${path}`).toBe('Bearer');
    }
  });

  it('answers 405 with Allow for an unsupported method', async () => {
    const res = await h.request('/api/cart', { method: 'PUT', token: await token(), json: {} });
    expectErrorEnvelope(res, 405, 'METHOD_NOT_ALLOWED');
    expect(res.headers.get('allow')).toContain('GET');
    expect(res.headers.get('allow')).toContain('DELETE');
  });

  it('lets two racing first requests share one cart', async () => {
    const t = await token();
    const responses = await Promise.all(Array.from({ length: 6 }, () => h.request('/api/cart', { token: t })));
    expect(responses.map((r) => r.status)).toEqual(Array(6).fill(200));
    expect(new Set(responses.map((r) => r.body.id)).size).toBe(1);
  });
});

describe('POST /api/cart/items', () => {
  it('adds a product and returns the full cart', async () => {
    const product = await createShoe();
    const res = await h.request('/api/cart/items', { method: 'POST', token: await token(), json: { productId: product.id, quantity: 2 } });
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({
      items: [
        {
          id: expect.any(String),
          productId: product.id,
          name: 'Trail Running Shoe',
          imageUrl: 'https://example.com/img/shoe.jpg',
          unitPrice: 89.99,
          quantity: 2,
          lineTotal: 179.98,
          available: 25,
        },
      ],
      itemCount: 2,
      subtotal: 179.98,
      discount: 0,
      total: 179.98,
      currency: 'EUR',
      promoCode: null,
    });
  });

  it.each([
    [{ quantity: 1 }, 'productId'],
    [{ productId: 'x', quantity: 0 }, 'quantity'],
    [{ productId: 'x', quantity: 100 }, 'quantity'],
    [{ productId: 'x', quantity: 2.5 }, 'quantity'],
    [{ productId: 'x', quantity: '5' }, 'quantity'],
    [{ productId: 'x', quantity: true }, 'quantity'],
    [{ productId: 'x', quantity: null }, 'quantity'],
    [{ productId: 7 }, 'productId'],
    [{ productId: 'x', extra: 1 }, 'extra'],
  ])('rejects %j naming %s (400 before the 404 of the unknown product)', async (json, field) => {
    const res = await h.request('/api/cart/items', { method: 'POST', token: await token(), json });
    const error = expectErrorEnvelope(res, 400, 'VALIDATION_ERROR');
    expect(error.details).toEqual(expect.arrayContaining([expect.objectContaining({ field })]));
  });

  it('rejects a non-JSON body with 415 and malformed JSON with 400', async () => {
    const t = await token();
    const text = await h.request('/api/cart/items', { method: 'POST', token: t, headers: { 'Content-Type': 'text/plain' }, body: 'hi' });
    expectErrorEnvelope(text, 415, 'UNSUPPORTED_MEDIA_TYPE');
    const malformed = await h.request('/api/cart/items', { method: 'POST', token: t, headers: { 'Content-Type': 'application/json' }, body: '{"productId":' });
    expectErrorEnvelope(malformed, 400, 'VALIDATION_ERROR');
  });

  it('answers 404 for an unknown or malformed product id', async () => {
    const t = await token();
    for (const productId of ['00000000-0000-4000-8000-000000000000', 'not-an-id']) {
      expectErrorEnvelope(await h.request('/api/cart/items', { method: 'POST', token: t, json: { productId } }), 404, 'NOT_FOUND');
    }
  });

  it('answers 409 INSUFFICIENT_STOCK with the resulting quantity and what is available', async () => {
    const t = await token();
    const product = await createShoe({ stock: 3 });
    await h.request('/api/cart/items', { method: 'POST', token: t, json: { productId: product.id, quantity: 2 } });
    const res = await h.request('/api/cart/items', { method: 'POST', token: t, json: { productId: product.id, quantity: 2 } });
    const error = expectErrorEnvelope(res, 409, 'INSUFFICIENT_STOCK');
    expect(error.details).toEqual([{ productId: product.id, requested: 4, available: 3 }]);
  });
});

describe('PATCH and DELETE /api/cart/items/{itemId}', () => {
  async function cartWithLine(stock = 25) {
    const t = await token();
    const product = await createShoe({ stock });
    const res = await h.request('/api/cart/items', { method: 'POST', token: t, json: { productId: product.id } });
    return { t, product, itemId: res.body.items[0].id as string };
  }

  it('sets the quantity', async () => {
    const { t, itemId } = await cartWithLine();
    const res = await h.request(`/api/cart/items/${itemId}`, { method: 'PATCH', token: t, json: { quantity: 4 } });
    expect(res.status).toBe(200);
    expect(res.body.items[0]).toMatchObject({ id: itemId, quantity: 4, lineTotal: 359.96 });
  });

  it('validates the body before looking for the line (400 before 404)', async () => {
    const t = await token();
    for (const json of [{}, { quantity: 0 }, { quantity: 1, productId: 'x' }]) {
      const res = await h.request('/api/cart/items/not-a-line', { method: 'PATCH', token: t, json });
      expectErrorEnvelope(res, 400, 'VALIDATION_ERROR');
    }
  });

  it("answers 404 for a malformed id and for another user's line, before any stock conflict", async () => {
    const { itemId } = await cartWithLine(1);
    const other = await token();
    expectErrorEnvelope(await h.request('/api/cart/items/123', { method: 'PATCH', token: other, json: { quantity: 1 } }), 404, 'NOT_FOUND');
    expectErrorEnvelope(await h.request(`/api/cart/items/${itemId}`, { method: 'PATCH', token: other, json: { quantity: 50 } }), 404, 'NOT_FOUND');
    expectErrorEnvelope(await h.request(`/api/cart/items/${itemId}`, { method: 'DELETE', token: other }), 404, 'NOT_FOUND');
  });

  it('answers 409 when the new quantity exceeds what is available', async () => {
    const { t, product, itemId } = await cartWithLine(2);
    const res = await h.request(`/api/cart/items/${itemId}`, { method: 'PATCH', token: t, json: { quantity: 3 } });
    expect(expectErrorEnvelope(res, 409, 'INSUFFICIENT_STOCK').details).toEqual([{ productId: product.id, requested: 3, available: 2 }]);
  });

  it('removes a line with DELETE (no body), ignoring unknown query parameters', async () => {
    const { t, itemId } = await cartWithLine();
    const res = await h.request(`/api/cart/items/${itemId}?foo=1`, { method: 'DELETE', token: t });
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ items: [], itemCount: 0, subtotal: 0 });
    expectErrorEnvelope(await h.request(`/api/cart/items/${itemId}`, { method: 'DELETE', token: t }), 404, 'NOT_FOUND');
  });
});

describe('DELETE /api/cart and the promo code routes', () => {
  it('applies, replaces, removes and clears', async () => {
    const t = await token();
    await h.createPromoCode({ code: 'HTTP10', type: 'percent', value: 10 });
    await h.createPromoCode({ code: 'HTTP5OFF', type: 'fixed', value: 500 });
    const product = await createShoe();
    await h.request('/api/cart/items', { method: 'POST', token: t, json: { productId: product.id, quantity: 2 } });

    const applied = await h.request('/api/cart/promo-code', { method: 'POST', token: t, json: { code: ' http10 ' } });
    expect(applied.status).toBe(200);
    expect(applied.body).toMatchObject({ promoCode: 'HTTP10', subtotal: 179.98, discount: 18, total: 161.98 });

    const replaced = await h.request('/api/cart/promo-code', { method: 'POST', token: t, json: { code: 'HTTP5OFF' } });
    expect(replaced.body).toMatchObject({ promoCode: 'HTTP5OFF', discount: 5, total: 174.98 });

    const removed = await h.request('/api/cart/promo-code', { method: 'DELETE', token: t });
    expect(removed.status).toBe(200);
    expect(removed.body).toMatchObject({ promoCode: null, discount: 0, total: 179.98, itemCount: 2 });

    await h.request('/api/cart/promo-code', { method: 'POST', token: t, json: { code: 'HTTP10' } });
    const cleared = await h.request('/api/cart', { method: 'DELETE', token: t });
    expect(cleared.status).toBe(200);
    expect(cleared.body).toMatchObject({ items: [], itemCount: 0, subtotal: 0, discount: 0, total: 0, promoCode: null });
  });

  it('answers 409 PROMO_CODE_INVALID with the reason, and 400 for a missing or blank code', async () => {
    const t = await token();
    const unknown = await h.request('/api/cart/promo-code', { method: 'POST', token: t, json: { code: 'NOPE' } });
    expect(expectErrorEnvelope(unknown, 409, 'PROMO_CODE_INVALID').details).toEqual({ reason: 'not_found' });
    // Upper-cased with full Unicode rules, "ﬁxssg8" would be FIXSSG8 and "fixßg8" too: neither is that code.
    await h.createPromoCode({ code: 'FIXSSG8', type: 'percent', value: 10 });
    await h.request('/api/cart/items', { method: 'POST', token: t, json: { productId: (await createShoe()).id } });
    for (const code of ['\ufb01xssg8', 'fix\u00dfg8']) {
      const lookalike = await h.request('/api/cart/promo-code', { method: 'POST', token: t, json: { code } });
      expect(expectErrorEnvelope(lookalike, 409, 'PROMO_CODE_INVALID').details).toEqual({ reason: 'not_found' });
      const order = await h.request('/api/checkout', { method: 'POST', token: t, json: { promoCode: code } });
      expect(expectErrorEnvelope(order, 409, 'PROMO_CODE_INVALID').details).toEqual({ reason: 'not_found' });
    }
    for (const json of [{}, { code: '  ' }, { code: 5 }, { code: 'X', more: 1 }]) {
      expectErrorEnvelope(await h.request('/api/cart/promo-code', { method: 'POST', token: t, json }), 400, 'VALIDATION_ERROR');
    }
  });
});

describe('OpenAPI document', () => {
  it('documents every cart route as protected', async () => {
    const doc = (await h.request('/api/openapi.json')).body;
    const operations = [
      doc.paths['/api/cart'].get,
      doc.paths['/api/cart'].delete,
      doc.paths['/api/cart/items'].post,
      doc.paths['/api/cart/items/{itemId}'].patch,
      doc.paths['/api/cart/items/{itemId}'].delete,
      doc.paths['/api/cart/promo-code'].post,
      doc.paths['/api/cart/promo-code'].delete,
    ];
    for (const operation of operations) {
      expect(operation.security).toEqual([{ bearerAuth: [] }]);
      expect(operation.responses['200']).toBeDefined();
    }
  });
});
