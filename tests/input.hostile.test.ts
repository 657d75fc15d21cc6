import { connect } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createContextInner } from '../src/context/context.js';
import type { User } from '../src/entities/User.js';
import { createCaller } from '../src/routers/_app.js';
import { passwordSchema } from '../src/routers/auth/schemas.js';
import { expectAppError } from './support/errors.js';
import { createHttpHarness, expectErrorEnvelope, type HttpHarness, type TestResponse } from './support/harness.js';

/**
 * Issue 8 §1: every string that reaches the server is stored and read back as sent,
 * or refused with 400 VALIDATION_ERROR naming the field — never a 500, never altered.
 * Every route and procedure that takes text is listed here, over REST, over /trpc
 * and through createCaller.
 */

let h: HttpHarness;
let admin: { user: User; token: string };
let customer: { user: User; token: string };
let productId: string;
let promoId: string;
let itemId: string;
let orderId: string;

const UNKNOWN_ID = '00000000-0000-4000-8000-000000000000';

/** U+0000 (PostgreSQL text cannot hold it) and lone surrogates (no UTF-8 form; they would come back as U+FFFD). */
const HOSTILE = {
  nul: 'ab\u0000cd',
  loneHigh: 'abc\ud800',
  loneLow: '\udc00abc',
  reversedPair: 'ab\udc00\ud800',
} as const;
const hostileCases = Object.entries(HOSTILE);

beforeAll(async () => {
  h = await createHttpHarness();
  admin = await h.createUser({ role: 'admin' });
  customer = await h.createUser();
  const product = await h.caller(admin.user).products.create({ name: 'Plain product', price: 10, stock: 50 });
  productId = product.id;
  promoId = (await h.caller(admin.user).promoCodes.create({ code: 'PLAIN10', type: 'percent', value: 10 })).id;
  const cart = await h.caller(customer.user).cart.addItem({ productId, quantity: 1 });
  itemId = cart.items[0]!.id;
  // An order to look up; the cart gets a line again afterwards.
  orderId = (await h.caller(customer.user).checkout.submit({})).id;
  itemId = (await h.caller(customer.user).cart.addItem({ productId, quantity: 1 })).items[0]!.id;
});
afterAll(() => h.close());

function expectFieldError(res: TestResponse, field: string) {
  const error = expectErrorEnvelope(res, 400, 'VALIDATION_ERROR');
  expect(error.details).toEqual(expect.arrayContaining([expect.objectContaining({ field })]));
  return error;
}

const productBody = (overrides: Record<string, unknown> = {}) => ({ name: 'Widget', price: 5, stock: 1, ...overrides });

interface RestCase {
  route: string;
  field: string;
  /** The request carrying `text` in `field`. */
  send(text: string): Promise<TestResponse>;
}

const post = (path: string, json: unknown, token?: string) => h.request(path, { method: 'POST', json, token });
const put = (path: string, json: unknown, token?: string) => h.request(path, { method: 'PUT', json, token });
const patch = (path: string, json: unknown, token?: string) => h.request(path, { method: 'PATCH', json, token });

/** Every REST body field that is text. JSON escapes lone surrogates (`"\ud800"`), so all of them can be sent. */
const restBodyCases: RestCase[] = [
  { route: 'POST /api/auth/signup', field: 'username', send: (t) => post('/api/auth/signup', { username: t, password: 'password123' }) },
  { route: 'POST /api/auth/signup', field: 'password', send: (t) => post('/api/auth/signup', { username: 'newuser', password: `password${t}` }) },
  { route: 'POST /api/auth/login', field: 'username', send: (t) => post('/api/auth/login', { username: t, password: 'password123' }) },
  { route: 'POST /api/auth/login', field: 'password', send: (t) => post('/api/auth/login', { username: 'someone', password: `abcdefgh${t}` }) },
  ...(['name', 'description', 'category', 'imageUrl'] as const).flatMap((field): RestCase[] => [
    { route: 'POST /api/products', field, send: (t) => post('/api/products', productBody({ [field]: field === 'imageUrl' ? `https://x.example/${t}` : t }), admin.token) },
    { route: 'PUT /api/products/{id}', field, send: (t) => put(`/api/products/${productId}`, productBody({ [field]: field === 'imageUrl' ? `https://x.example/${t}` : t }), admin.token) },
  ]),
  { route: 'POST /api/products', field: 'attributes.color', send: (t) => post('/api/products', productBody({ attributes: { color: t } }), admin.token) },
  { route: 'PUT /api/products/{id}', field: 'attributes.color', send: (t) => put(`/api/products/${productId}`, productBody({ attributes: { color: t } }), admin.token) },
  { route: 'POST /api/cart/items', field: 'productId', send: (t) => post('/api/cart/items', { productId: t }, customer.token) },
  { route: 'POST /api/cart/promo-code', field: 'code', send: (t) => post('/api/cart/promo-code', { code: t }, customer.token) },
  { route: 'POST /api/checkout', field: 'promoCode', send: (t) => post('/api/checkout', { promoCode: t }, customer.token) },
  { route: 'POST /api/promo-codes', field: 'code', send: (t) => post('/api/promo-codes', { code: t, type: 'percent', value: 5 }, admin.token) },
  { route: 'POST /api/promo-codes', field: 'startsAt', send: (t) => post('/api/promo-codes', { code: 'HOSTILE1', type: 'percent', value: 5, startsAt: `2030-01-01T00:00:00Z${t}` }, admin.token) },
  { route: 'PATCH /api/promo-codes/{id}', field: 'expiresAt', send: (t) => patch(`/api/promo-codes/${promoId}`, { expiresAt: t }, admin.token) },
];

/** Query values: a URL carries U+0000 as %00; a lone surrogate has no UTF-8 form, so no URL can carry one (tRPC cases below). */
const restQueryCases: RestCase[] = [
  { route: 'GET /api/products', field: 'category', send: (t) => h.request(`/api/products?page=1&category=${encodeURIComponent(t)}`) },
  { route: 'GET /api/products/search', field: 'category', send: (t) => h.request(`/api/products/search?page=1&q=shoe&category=${encodeURIComponent(t)}`) },
  { route: 'GET /api/products/search', field: 'q', send: (t) => h.request(`/api/products/search?page=1&q=${encodeURIComponent(t)}`) },
  { route: 'GET /api/products', field: 'page', send: (t) => h.request(`/api/products?page=${encodeURIComponent(t)}`) },
  { route: 'GET /api/orders', field: 'limit', send: (t) => h.request(`/api/orders?page=1&limit=${encodeURIComponent(t)}`, { token: customer.token }) },
  { route: 'GET /api/promo-codes', field: 'page', send: (t) => h.request(`/api/promo-codes?page=${encodeURIComponent(t)}`, { token: admin.token }) },
];

describe('REST: ill-formed text in a body field → 400 naming the field', () => {
  for (const c of restBodyCases) {
    for (const [kind, text] of hostileCases) {
      it(`${c.route} ${c.field} with ${kind}`, async () => {
        const error = expectFieldError(await c.send(text), c.field);
        expect(error.message).toBe('Request validation failed');
      });
    }
  }

  it('names every ill-formed field of one body, keys included', async () => {
    const res = await post('/api/products', productBody({ name: HOSTILE.nul, description: HOSTILE.loneHigh, attributes: { ok: 'fine', ['k\u0000']: 'x' } }), admin.token);
    const error = expectFieldError(res, 'name');
    expect(error.details).toEqual([
      { field: 'name', message: 'Must not contain the character U+0000' },
      { field: 'description', message: 'Must be well-formed Unicode (no lone surrogate code units)' },
      { field: 'attributes.k\u0000', message: 'Field name: Must not contain the character U+0000' },
    ]);
  });

  it('an unknown key that is ill-formed is refused too (400, never a 500)', async () => {
    expectFieldError(await post('/api/cart/items', { productId, ['\ud800']: 1 }, customer.token), '\ud800');
  });

  it('keeps the order of checks: authentication and role come first', async () => {
    expectErrorEnvelope(await post('/api/products', productBody({ name: HOSTILE.nul })), 401, 'UNAUTHORIZED');
    expectErrorEnvelope(await post('/api/products', productBody({ name: HOSTILE.nul }), customer.token), 403, 'FORBIDDEN');
    expectErrorEnvelope(await post('/api/cart/items', { productId: HOSTILE.nul }), 401, 'UNAUTHORIZED');
  });
});

describe('REST: ill-formed text in a query value → 400 naming the parameter', () => {
  for (const c of restQueryCases) {
    it(`${c.route} ${c.field} with U+0000`, async () => {
      expectFieldError(await c.send(HOSTILE.nul), c.field);
    });
  }

  it('a path id with %00 stays the literal text "%00" (the adapter does not decode paths): an unknown id, 404', async () => {
    expectErrorEnvelope(await h.request('/api/products/%00'), 404, 'NOT_FOUND');
    expectErrorEnvelope(await h.request('/api/orders/%00', { token: customer.token }), 404, 'NOT_FOUND');
  });
});

describe('REST: bytes that are not UTF-8 are refused, not turned into U+FFFD', () => {
  it('a body with an invalid UTF-8 sequence → 400 field body', async () => {
    const body = Buffer.concat([Buffer.from('{"name":"caf'), Buffer.from([0xe9]), Buffer.from('","price":5}')]);
    const res = await h.request('/api/products', { method: 'POST', token: admin.token, headers: { 'content-type': 'application/json' }, body });
    expect(expectFieldError(res, 'body').details).toEqual([{ field: 'body', message: 'Must be UTF-8 encoded' }]);
  });

  it('a query value whose escapes are not UTF-8 (%FF, a cut %C3) → 400 naming it; well-formed escapes and a stray % still work', async () => {
    expect(expectFieldError(await h.request('/api/products?page=1&category=%FF'), 'category').details).toEqual([{ field: 'category', message: 'Must be UTF-8 encoded' }]);
    expectFieldError(await h.request('/api/products/search?page=1&q=caf%C3'), 'q');
    expectFieldError(await h.request('/api/orders?page=1&x%FF=1', { token: customer.token }), 'x\ufffd');
    expectErrorEnvelope(await h.request('/api/orders?page=%FF'), 401, 'UNAUTHORIZED');
    expect((await h.request('/api/products/search?page=1&q=caf%C3%A9')).status).toBe(200);
    expect((await h.request('/api/products/search?page=1&q=100%')).status).toBe(200);
  });

  it('/trpc: a body or an ?input= that is not UTF-8 → 400, after authentication', async () => {
    const body = Buffer.concat([Buffer.from('{"name":"caf'), Buffer.from([0xff]), Buffer.from('","price":5}')]);
    const postRes = await h.request('/trpc/products.create', { method: 'POST', token: admin.token, headers: { 'content-type': 'application/json' }, body });
    expectTrpcFieldError(postRes, 'body');
    const anonymous = await h.request('/trpc/products.create', { method: 'POST', headers: { 'content-type': 'application/json' }, body });
    expect(anonymous.status).toBe(401);
    expectTrpcFieldError(await h.request('/trpc/products.list?input=%7B%22page%22%3A1%2C%22category%22%3A%22%FF%22%7D'), 'input');
    const ok = await h.request('/trpc/products.list?input=%7B%22page%22%3A1%2C%22category%22%3A%22caf%C3%A9%22%7D');
    expect(ok.status).toBe(200);
  });

  it('the same text properly encoded is stored as sent', async () => {
    const body = Buffer.from(JSON.stringify({ name: 'café', price: 5 }), 'utf8');
    const res = await h.request('/api/products', { method: 'POST', token: admin.token, headers: { 'content-type': 'application/json' }, body });
    expect(res.status).toBe(201);
    expect(res.body.name).toBe('café');
  });
});

type Caller = ReturnType<typeof createCaller>;

interface ProcedureCase {
  procedure: string;
  field: string;
  call(caller: { admin: Caller; customer: Caller; anonymous: Caller }, text: string): Promise<unknown>;
}

/** Every procedure input that is text, path ids included (over /trpc they are plain input fields). */
const procedureCases: ProcedureCase[] = [
  { procedure: 'auth.signup', field: 'username', call: (c, t) => c.anonymous.auth.signup({ username: t, password: 'password123' }) },
  { procedure: 'auth.signup', field: 'password', call: (c, t) => c.anonymous.auth.signup({ username: 'newuser2', password: `password${t}` }) },
  { procedure: 'auth.login', field: 'username', call: (c, t) => c.anonymous.auth.login({ username: t, password: 'password123' }) },
  { procedure: 'auth.login', field: 'password', call: (c, t) => c.anonymous.auth.login({ username: 'someone', password: `abcdefgh${t}` }) },
  { procedure: 'products.list', field: 'category', call: (c, t) => c.anonymous.products.list({ page: 1, category: t } as never) },
  { procedure: 'products.list', field: 'sort', call: (c, t) => c.anonymous.products.list({ page: 1, sort: t } as never) },
  { procedure: 'products.search', field: 'q', call: (c, t) => c.anonymous.products.search({ page: 1, q: t } as never) },
  { procedure: 'products.search', field: 'category', call: (c, t) => c.anonymous.products.search({ page: 1, q: 'shoe', category: t } as never) },
  { procedure: 'products.byId', field: 'id', call: (c, t) => c.anonymous.products.byId({ id: t }) },
  { procedure: 'products.create', field: 'name', call: (c, t) => c.admin.products.create(productBody({ name: t }) as never) },
  { procedure: 'products.create', field: 'attributes.size', call: (c, t) => c.admin.products.create(productBody({ attributes: { size: t } }) as never) },
  { procedure: 'products.update', field: 'id', call: (c, t) => c.admin.products.update({ ...productBody(), id: t } as never) },
  { procedure: 'products.update', field: 'description', call: (c, t) => c.admin.products.update({ ...productBody({ description: t }), id: productId } as never) },
  { procedure: 'products.delete', field: 'id', call: (c, t) => c.admin.products.delete({ id: t }) },
  { procedure: 'cart.addItem', field: 'productId', call: (c, t) => c.customer.cart.addItem({ productId: t }) },
  { procedure: 'cart.updateItem', field: 'itemId', call: (c, t) => c.customer.cart.updateItem({ itemId: t, quantity: 1 }) },
  { procedure: 'cart.removeItem', field: 'itemId', call: (c, t) => c.customer.cart.removeItem({ itemId: t }) },
  { procedure: 'cart.applyPromoCode', field: 'code', call: (c, t) => c.customer.cart.applyPromoCode({ code: t }) },
  { procedure: 'checkout.submit', field: 'promoCode', call: (c, t) => c.customer.checkout.submit({ promoCode: t }) },
  { procedure: 'orders.list', field: 'page', call: (c, t) => c.customer.orders.list({ page: t } as never) },
  { procedure: 'orders.byId', field: 'id', call: (c, t) => c.customer.orders.byId({ id: t }) },
  { procedure: 'promoCodes.list', field: 'limit', call: (c, t) => c.admin.promoCodes.list({ page: 1, limit: t } as never) },
  { procedure: 'promoCodes.byId', field: 'id', call: (c, t) => c.admin.promoCodes.byId({ id: t }) },
  { procedure: 'promoCodes.create', field: 'code', call: (c, t) => c.admin.promoCodes.create({ code: t, type: 'percent', value: 5 }) },
  { procedure: 'promoCodes.create', field: 'expiresAt', call: (c, t) => c.admin.promoCodes.create({ code: 'HOSTILE2', type: 'percent', value: 5, expiresAt: t }) },
  { procedure: 'promoCodes.update', field: 'id', call: (c, t) => c.admin.promoCodes.update({ id: t, active: false }) },
  { procedure: 'promoCodes.update', field: 'startsAt', call: (c, t) => c.admin.promoCodes.update({ id: promoId, startsAt: t }) },
  { procedure: 'promoCodes.delete', field: 'id', call: (c, t) => c.admin.promoCodes.delete({ id: t }) },
];

const callers = () => ({ admin: h.caller(admin.user), customer: h.caller(customer.user), anonymous: h.caller() });

describe('procedures (createCaller): ill-formed text → VALIDATION_ERROR naming the field', () => {
  for (const c of procedureCases) {
    for (const [kind, text] of hostileCases) {
      it(`${c.procedure} ${c.field} with ${kind}`, async () => {
        await expectAppError(c.call(callers(), text), 'VALIDATION_ERROR', c.field);
      });
    }
  }

  it('path ids are refused with 400, not 404: ill-formed text is not an id of anything, and the rule holds for every string', async () => {
    const error = await expectAppError(h.caller().products.byId({ id: `${UNKNOWN_ID}\u0000` }), 'VALIDATION_ERROR', 'id');
    expect(error.status).toBe(400);
    await expectAppError(h.caller(customer.user).orders.byId({ id: `${orderId}\ud800` }), 'VALIDATION_ERROR', 'id');
    expect((await h.caller(customer.user).orders.byId({ id: orderId })).id).toBe(orderId);
    // A well-formed id that names nothing stays a 404.
    await expectAppError(h.caller().products.byId({ id: 'not-a-uuid' }), 'NOT_FOUND');
  });

  it('the check comes after authentication and role', async () => {
    await expectAppError(h.caller().cart.addItem({ productId: HOSTILE.nul }), 'UNAUTHORIZED');
    await expectAppError(h.caller(customer.user).products.create(productBody({ name: HOSTILE.nul }) as never), 'FORBIDDEN');
  });
});

/**
 * `__proto__` as a name: JSON.parse makes it an own key, but Zod skips it in records, so an
 * attribute of that name was accepted and silently dropped (and escaped the 50-key bound).
 * Sent as raw JSON text: a JavaScript object literal cannot carry such a key reliably.
 */
describe('a key named __proto__ → 400 naming it, on every surface', () => {
  const withProtoAttribute = (value: string) => {
    const body = JSON.stringify(productBody({ attributes: { color: 'red' } }));
    return body.replace('"attributes":{', `"attributes":{"__proto__":${value},`);
  };
  const raw = (method: string, path: string, body: string, token: string) =>
    h.request(path, { method, token, body, headers: { 'content-type': 'application/json' } });

  it.each(['"v"', '{"x":1}', '[1,2]', 'null'])('attributes.__proto__ = %s on create and replace (REST)', async (value) => {
    expectFieldError(await raw('POST', '/api/products', withProtoAttribute(value), admin.token), 'attributes.__proto__');
    expectFieldError(await raw('PUT', `/api/products/${productId}`, withProtoAttribute(value), admin.token), 'attributes.__proto__');
  });

  it('on products.create and products.update over /trpc, and through createCaller', async () => {
    expectTrpcFieldError(await trpc('products.create', { body: withProtoAttribute('"v"'), token: admin.token, headers: { 'content-type': 'application/json' } }), 'attributes.__proto__');
    const update = withProtoAttribute('"v"').replace(/^\{/, `{"id":"${productId}",`);
    expectTrpcFieldError(await trpc('products.update', { body: update, token: admin.token, headers: { 'content-type': 'application/json' } }), 'attributes.__proto__');
    const input = JSON.parse(withProtoAttribute('"v"')) as never;
    await expectAppError(h.caller(admin.user).products.create(input), 'VALIDATION_ERROR');
  });

  it('at the top level and in any other body', async () => {
    expectFieldError(await raw('POST', '/api/cart/items', `{"productId":"${productId}","__proto__":{"quantity":5}}`, customer.token), '__proto__');
    expectFieldError(await raw('POST', '/api/auth/login', '{"username":"someone","password":"password123","__proto__":{}}', customer.token), '__proto__');
  });

  it('while the same bodies without it are served', async () => {
    const res = await raw('POST', '/api/products', withProtoAttribute('"v"').replace('"__proto__":"v",', ''), admin.token);
    expect(res.status, res.text).toBe(201);
    expect(res.body.attributes).toEqual({ color: 'red' });
  });
});

/** tRPC's own wire format over HTTP: POST bodies and `?input=` on GET. */
async function trpc(path: string, init: { json?: unknown; token?: string; headers?: Record<string, string>; body?: string } = {}) {
  const method = init.json === undefined && init.body === undefined ? 'GET' : 'POST';
  return h.request(`/trpc/${path}`, { ...init, method });
}

function expectTrpcFieldError(res: TestResponse, field: string) {
  expect(res.status, res.text).toBe(400);
  expect(res.body.error.data.appCode).toBe('VALIDATION_ERROR');
  expect(res.body.error.data.details).toEqual(expect.arrayContaining([expect.objectContaining({ field })]));
}

describe('/trpc over HTTP: the same answers', () => {
  for (const [kind, text] of hostileCases) {
    it(`POST /trpc/products.create name with ${kind}`, async () => {
      expectTrpcFieldError(await trpc('products.create', { json: productBody({ name: text }), token: admin.token }), 'name');
    });
    it(`GET /trpc/products.list?input= category with ${kind}`, async () => {
      // JSON escapes make every one of them expressible in the URL (`\u0000`, `\ud800`).
      const input = encodeURIComponent(JSON.stringify({ page: 1, category: text }));
      expectTrpcFieldError(await trpc(`products.list?input=${input}`), 'category');
    });
    it(`POST /trpc/auth.login password with ${kind}`, async () => {
      expectTrpcFieldError(await trpc('auth.login', { json: { username: 'someone', password: `abcdefgh${text}` } }), 'password');
    });
  }

  it('a batch answers each call on its own', async () => {
    const input = encodeURIComponent(JSON.stringify({ 0: { id: HOSTILE.nul }, 1: { id: productId } }));
    const res = await trpc(`products.byId,products.byId?batch=1&input=${input}`);
    expect(res.body[0].error.data.appCode).toBe('VALIDATION_ERROR');
    expect(res.body[0].error.data.details).toEqual([{ field: 'id', message: 'Must not contain the character U+0000' }]);
    expect(res.body[1].result.data.id).toBe(productId);
  });
});

describe('passwords that differ only in lone surrogates never collide', () => {
  it('signup and login refuse them (UTF-8 would turn both into U+FFFD, so bcrypt would see the same bytes)', async () => {
    expectFieldError(await post('/api/auth/signup', { username: 'surrogate_user', password: 'abcdefgh\ud800' }), 'password');
    const signup = await post('/api/auth/signup', { username: 'surrogate_user', password: 'abcdefgh\ud83d\ude00' });
    expect(signup.status).toBe(201);
    expectFieldError(await post('/api/auth/login', { username: 'surrogate_user', password: 'abcdefgh\ud83d' }), 'password');
    expectFieldError(await post('/api/auth/login', { username: 'surrogate_user', password: 'abcdefgh\ude00' }), 'password');
    expect((await post('/api/auth/login', { username: 'surrogate_user', password: 'abcdefgh\ud83d\ude00' })).status).toBe(200);
  });
});

describe('accepted text is stored and read back exactly as sent', () => {
  const name = '👩🏽‍🚀 Café Zebrafish שלום مرحبا 𝄞';
  const description = 'Combining: e\u0301 a\u0308 | RTL: \u202Eabc\u202C עברית | astral: 𝒜𝔅🀄 | ZWJ: 👨‍👩‍👧 | tab\tand\nnewline | U+FFFD itself: \ufffd';
  const category = 'Ñandú 𝒜';
  const attributes = { label: '🎉 party', rtl: 'مرحبا بالعالم', mark: 'n\u0303', astral: '𝕏' };

  it('via detail, list and search, over REST and procedures', async () => {
    const created = await post('/api/products', { name: `  ${name}  `, description, category, attributes, price: 12.34, stock: 3 }, admin.token);
    expect(created.status, created.text).toBe(201);
    expect(created.body).toMatchObject({ name, description, category, attributes });

    const detail = await h.request(`/api/products/${created.body.id}`);
    expect(detail.body).toEqual(created.body);

    const list = await h.request(`/api/products?page=1&category=${encodeURIComponent(category)}`);
    expect(list.body.items).toEqual([created.body]);

    const search = await h.request(`/api/products/search?page=1&q=zebrafish`);
    expect(search.body.items).toEqual([created.body]);

    expect(await h.caller().products.byId({ id: created.body.id })).toEqual(created.body);

    const replaced = await put(`/api/products/${created.body.id}`, { name, description: `${description}!`, category, attributes, price: 12.34, stock: 3 }, admin.token);
    expect(replaced.status).toBe(200);
    expect((await h.request(`/api/products/${created.body.id}`)).body.description).toBe(`${description}!`);
  });
});

describe('a path parameter named in the body is an unknown field', () => {
  it('PUT /api/products/{id} with id in the body → 400 id "Unknown field", even when it equals the path id', async () => {
    for (const id of ['another', productId]) {
      const error = expectFieldError(await put(`/api/products/${productId}`, { ...productBody(), id }, admin.token), 'id');
      expect(error.details).toEqual([{ field: 'id', message: 'Unknown field' }]);
    }
  });

  it('PATCH /api/promo-codes/{id} with id in the body → 400', async () => {
    const error = expectFieldError(await patch(`/api/promo-codes/${promoId}`, { id: promoId, active: true }, admin.token), 'id');
    expect(error.details).toEqual([{ field: 'id', message: 'Unknown field' }]);
  });

  it('PATCH /api/cart/items/{itemId} with itemId in the body → 400', async () => {
    const error = expectFieldError(await patch(`/api/cart/items/${itemId}`, { itemId, quantity: 2 }, customer.token), 'itemId');
    expect(error.details).toEqual([{ field: 'itemId', message: 'Unknown field' }]);
  });

  it('still after authentication and role, and the same requests without the key succeed', async () => {
    expectErrorEnvelope(await put(`/api/products/${productId}`, { ...productBody(), id: productId }), 401, 'UNAUTHORIZED');
    expectErrorEnvelope(await put(`/api/products/${productId}`, { ...productBody(), id: productId }, customer.token), 403, 'FORBIDDEN');
    expect((await patch(`/api/cart/items/${itemId}`, { quantity: 2 }, customer.token)).status).toBe(200);
    expect((await patch(`/api/promo-codes/${promoId}`, { active: true }, admin.token)).status).toBe(200);
  });
});

const nested = (depth: number) => '['.repeat(depth) + ']'.repeat(depth);

describe('deeply nested JSON → 400, never a stack overflow', () => {
  it('REST: 5,000 and 50,000 levels → 400 field body', async () => {
    for (const depth of [5_000, 50_000]) {
      const res = await h.request('/api/products', { method: 'POST', token: admin.token, headers: { 'content-type': 'application/json' }, body: `{"name":${nested(depth)}}` });
      expect(expectFieldError(res, 'body').details).toEqual([{ field: 'body', message: 'Must not be nested more than 64 levels deep' }]);
    }
  });

  it('REST: the bound is 64 levels; below it the schemas answer', async () => {
    const ok = await h.request('/api/products', { method: 'POST', token: admin.token, headers: { 'content-type': 'application/json' }, body: `{"name":${nested(63)}}` });
    expectFieldError(ok, 'name');
    const deep = await h.request('/api/products', { method: 'POST', token: admin.token, headers: { 'content-type': 'application/json' }, body: `{"name":${nested(64)}}` });
    expectFieldError(deep, 'body');
  });

  it('REST: authentication still comes first', async () => {
    const res = await h.request('/api/products', { method: 'POST', headers: { 'content-type': 'application/json' }, body: `{"name":${nested(5_000)}}` });
    expectErrorEnvelope(res, 401, 'UNAUTHORIZED');
  });

  it('/trpc: POST bodies and ?input= on GET → 400', async () => {
    const postRes = await trpc('products.create', { body: `{"name":${nested(40_000)}}`, headers: { 'content-type': 'application/json' }, token: admin.token });
    expectTrpcFieldError(postRes, 'body');
    const getRes = await trpc(`products.list?input={"page":${nested(5_000)}}`);
    expectTrpcFieldError(getRes, 'body');
  });

  it('procedures: deep input → VALIDATION_ERROR field body', async () => {
    let deep: unknown = 'x';
    for (let i = 0; i < 100_000; i++) deep = [deep];
    await expectAppError(h.caller().products.list({ page: 1, category: deep } as never), 'VALIDATION_ERROR', 'body');
  });
});

/** Raw bytes in a header, as a client may send them; Node hands them over as latin1 characters. */
function rawRequest(requestHead: Buffer): Promise<{ status: number; body: string }> {
  const url = new URL(h.baseUrl);
  return new Promise((resolve, reject) => {
    const socket = connect(Number(url.port), url.hostname, () => socket.write(requestHead));
    const chunks: Buffer[] = [];
    socket.on('data', (chunk: Buffer) => chunks.push(chunk));
    socket.on('error', reject);
    socket.on('close', () => {
      const text = Buffer.concat(chunks).toString('utf8');
      const headEnd = text.indexOf('\r\n\r\n');
      let body = text.slice(headEnd + 4);
      if (/^transfer-encoding: chunked$/im.test(text.slice(0, headEnd))) body = dechunk(body);
      resolve({ status: Number(/^HTTP\/1\.1 (\d{3})/.exec(text)?.[1]), body });
    });
  });
}

function dechunk(body: string): string {
  let out = '';
  for (let rest = body; ; ) {
    const lineEnd = rest.indexOf('\r\n');
    const size = parseInt(rest.slice(0, lineEnd), 16);
    if (!size) return out;
    out += rest.slice(lineEnd + 2, lineEnd + 2 + size);
    rest = rest.slice(lineEnd + 2 + size + 2);
  }
}

const checkoutWithKeyBytes = (path: string, key: Buffer) =>
  rawRequest(
    Buffer.concat([
      Buffer.from(`POST ${path} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\nAuthorization: Bearer ${customer.token}\r\nContent-Type: application/json\r\nContent-Length: 2\r\nIdempotency-Key: `),
      key,
      Buffer.from('\r\n\r\n{}'),
    ]),
  );

describe('Idempotency-Key: visible ASCII only, on both surfaces', () => {
  const keys: [string, Buffer][] = [
    ['a latin1 byte', Buffer.from([0x6b, 0x65, 0x79, 0xe9])],
    ['UTF-8 bytes of é', Buffer.from('key-é', 'utf8')],
  ];
  for (const [label, key] of keys) {
    it(`REST with ${label} → 400 field Idempotency-Key`, async () => {
      const res = await checkoutWithKeyBytes('/api/checkout', key);
      expect(res.status).toBe(400);
      expect(JSON.parse(res.body).error.details).toEqual([{ field: 'Idempotency-Key', message: 'Must be 1 to 255 visible ASCII characters' }]);
    });
    it(`/trpc with ${label} → 400 field Idempotency-Key`, async () => {
      const res = await checkoutWithKeyBytes('/trpc/checkout.submit', key);
      expect(res.status).toBe(400);
      expect(JSON.parse(res.body).error.data.details).toEqual([{ field: 'Idempotency-Key', message: 'Must be 1 to 255 visible ASCII characters' }]);
    });
  }

  it('procedures: U+0000, lone surrogates and 256 characters → VALIDATION_ERROR field Idempotency-Key', async () => {
    for (const key of [HOSTILE.nul, HOSTILE.loneHigh, 'k'.repeat(256), '']) {
      const caller = createCaller(createContextInner({ em: h.db.orm.em.fork(), config: h.config, user: customer.user, idempotencyKey: key }));
      await expectAppError(caller.checkout.submit({}), 'VALIDATION_ERROR', 'Idempotency-Key');
    }
  });
});

describe('schemas keep their own checks where a field needs more', () => {
  it('the password schema refuses lone surrogates by itself (also used for ADMIN_PASSWORD)', () => {
    expect(passwordSchema.safeParse('abcdefgh\ud800').success).toBe(false);
    expect(passwordSchema.safeParse('abcdefgh\ud83d\ude00').success).toBe(true);
  });
});
