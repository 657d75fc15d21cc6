import { createTRPCClient, httpLink, TRPCClientError } from '@trpc/client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AppRouter } from '../src/routers/_app.js';
import { ISO_TIMESTAMP } from './support/contract-shapes.js';
import { createHttpHarness, type HttpHarness } from './support/harness.js';

/** Contract §10: the same procedures at /trpc, plain JSON, errors in tRPC's shape carrying the contract's data. */

let h: HttpHarness;
beforeAll(async () => {
  h = await createHttpHarness({ LOGIN_RATE_LIMIT: '2' });
});
afterAll(() => h.close());

interface TrpcErrorBody {
  error: {
    message: string;
    code: number;
    data: { code: string; httpStatus: number; appCode: string; details?: unknown; requestId: string; path?: string; stack?: string };
  };
}

async function trpc(path: string, init: { method?: string; json?: unknown; token?: string; headers?: Record<string, string>; body?: string } = {}) {
  const method = init.method ?? (init.json === undefined && init.body === undefined ? 'GET' : 'POST');
  const res = await h.request(`/trpc/${path}`, { ...init, method });
  return { ...res, body: res.body as { result?: { data: unknown } } & Partial<TrpcErrorBody> };
}

/** Asserts tRPC's error shape with the contract's data, and returns that data. */
function expectTrpcError(res: Awaited<ReturnType<typeof trpc>>, status: number, appCode: string) {
  expect(res.status, res.text).toBe(status);
  const error = res.body.error!;
  expect(error.data.appCode).toBe(appCode);
  expect(error.data.httpStatus).toBe(status);
  expect(error.data.requestId).toBe(res.headers.get('x-request-id'));
  expect(error.data.stack).toBeUndefined();
  expect(typeof error.code).toBe('number');
  expect(res.text).not.toMatch(/node_modules|\.ts:\d+|at .+\(.+:\d+:\d+\)/);
  expect(res.headers.get('content-type')).toBe('application/json; charset=utf-8');
  return error.data;
}

describe('plain JSON over /trpc', () => {
  it('signs up with a POST of the bare input and answers with the same body as REST', async () => {
    const res = await trpc('auth.signup', { json: { username: 'trpc_ada', password: 'password123' } });
    expect(res.status).toBe(200);
    expect(res.body.result!.data).toEqual({
      accessToken: expect.any(String),
      tokenType: 'Bearer',
      expiresIn: 3600,
      user: { id: expect.any(String), username: 'trpc_ada', role: 'customer', createdAt: expect.stringMatching(ISO_TIMESTAMP) },
    });
  });

  it('serves queries over GET with the token in the Authorization header', async () => {
    const { user, token } = await h.createUser();
    const res = await trpc('auth.me', { token });
    expect(res.status).toBe(200);
    expect(res.body.result!.data).toEqual({ id: user.id, username: user.username, role: 'customer', createdAt: user.createdAt.toISOString() });
  });

  it('accepts application/json with a charset', async () => {
    const res = await trpc('auth.login', {
      headers: { 'Content-Type': 'application/json; charset=utf-8' },
      body: JSON.stringify({ username: 'trpc_ada', password: 'password123' }),
    });
    expect(res.status).toBe(200);
  });

  it('gives a typed client end-to-end types without a transformer', async () => {
    const auth: { token?: string } = {};
    const client = createTRPCClient<AppRouter>({
      links: [httpLink({ url: `${h.baseUrl}/trpc`, headers: () => (auth.token ? { Authorization: `Bearer ${auth.token}` } : {}) })],
    });
    const session = await client.auth.signup.mutate({ username: 'typed_grace', password: 'password123' });
    auth.token = session.accessToken;
    const me = await client.auth.me.query();
    expect(me.username).toBe('typed_grace');
    expect(me.createdAt).toMatch(ISO_TIMESTAMP);

    const failure = await client.auth.signup.mutate({ username: 'TYPED_GRACE', password: 'password123' }).catch((error: unknown) => error);
    expect(failure).toBeInstanceOf(TRPCClientError);
    const data = (failure as TRPCClientError<AppRouter>).data as unknown as TrpcErrorBody['error']['data'];
    expect(data).toMatchObject({ appCode: 'USERNAME_TAKEN', httpStatus: 409 });
    expect(data.requestId).toEqual(expect.any(String));
  });
});

describe('errors over /trpc', () => {
  it('reports validation failures with field details and status 400', async () => {
    const res = await trpc('auth.signup', { json: { username: 'x', password: 'password123', extra: true }, headers: { 'X-Request-Id': 'trpc-validation' } });
    const data = expectTrpcError(res, 400, 'VALIDATION_ERROR');
    expect(data.requestId).toBe('trpc-validation');
    expect(data.details).toEqual(expect.arrayContaining([expect.objectContaining({ field: 'username' }), { field: 'extra', message: 'Unknown field' }]));
  });

  it('reports a missing token as 401 with WWW-Authenticate', async () => {
    const res = await trpc('auth.me');
    expectTrpcError(res, 401, 'UNAUTHORIZED');
    expect(res.headers.get('www-authenticate')).toBe('Bearer');
  });

  it('reports conflicts as 409 with the contract code', async () => {
    const res = await trpc('auth.signup', { json: { username: 'TRPC_ADA', password: 'password123' } });
    expectTrpcError(res, 409, 'USERNAME_TAKEN');
  });

  it('reports wrong credentials as 401 INVALID_CREDENTIALS, then 429 with Retry-After', async () => {
    for (let i = 0; i < 2; i++) {
      expectTrpcError(await trpc('auth.login', { json: { username: 'trpc_ada', password: 'wrong-password' } }), 401, 'INVALID_CREDENTIALS');
    }
    const limited = await trpc('auth.login', { json: { username: 'trpc_ada', password: 'password123' } });
    expectTrpcError(limited, 429, 'RATE_LIMITED');
    expect(Number(limited.headers.get('retry-after'))).toBeGreaterThan(0);
  });

  it('reports an unknown procedure as 404 and a mutation over GET as 405', async () => {
    expectTrpcError(await trpc('nope.nothing', { headers: { 'X-Request-Id': 'trpc-404' } }), 404, 'NOT_FOUND');
    expectTrpcError(await trpc('auth.signup'), 405, 'METHOD_NOT_ALLOWED');
  });

  it('names the input, not the body, when a call sends none or a value that is not an object', async () => {
    const none = await trpc('auth.signup', { method: 'POST' });
    expect(expectTrpcError(none, 400, 'VALIDATION_ERROR').details).toEqual([{ field: 'input', message: expect.any(String) }]);
    const query = await trpc('products.list');
    expect(expectTrpcError(query, 400, 'VALIDATION_ERROR').details).toEqual([{ field: 'input', message: expect.any(String) }]);
    const scalar = await trpc('auth.signup', { json: 'ada' });
    expect(expectTrpcError(scalar, 400, 'VALIDATION_ERROR').details).toEqual([{ field: 'input', message: expect.any(String) }]);
  });

  it('reports unreadable bodies: malformed JSON 400, wrong media type 415, over 100 KiB 413', async () => {
    const malformed = await trpc('auth.signup', { headers: { 'Content-Type': 'application/json' }, body: '{"username":' });
    expect(expectTrpcError(malformed, 400, 'VALIDATION_ERROR').details).toEqual([{ field: 'body', message: expect.any(String) }]);
    const text = await trpc('auth.signup', { headers: { 'Content-Type': 'text/plain', 'X-Request-Id': 'trpc-415' }, body: 'hello' });
    expect(expectTrpcError(text, 415, 'UNSUPPORTED_MEDIA_TYPE').requestId).toBe('trpc-415');
    const huge = await trpc('auth.signup', { json: { username: 'huge_one', password: 'p'.repeat(110 * 1024) } });
    expectTrpcError(huge, 413, 'PAYLOAD_TOO_LARGE');
  });

  it('keeps the order of checks of REST: authentication and role before the media type (§2)', async () => {
    const { token } = await h.createUser();
    expectTrpcError(await trpc('cart.addItem', { headers: { 'Content-Type': 'text/plain' }, body: '{"productId":"x"}' }), 401, 'UNAUTHORIZED');
    expectTrpcError(await trpc('products.create', { token, headers: { 'Content-Type': 'text/plain' }, body: '{}' }), 403, 'FORBIDDEN');
    expectTrpcError(await trpc('cart.addItem', { token, headers: { 'Content-Type': 'text/plain' }, body: '{}' }), 415, 'UNSUPPORTED_MEDIA_TYPE');
  });

  it('takes a mutation without input sent with no body and no Content-Type, as REST does', async () => {
    const { token } = await h.createUser();
    const cleared = await h.request('/trpc/cart.clear', { method: 'POST', token });
    expect(cleared.status, cleared.text).toBe(200);
    expect(cleared.body.result.data).toMatchObject({ items: [], promoCode: null });
    expectTrpcError(await h.request('/trpc/checkout.submit', { method: 'POST', token }), 409, 'CART_EMPTY');
    // A mutation that needs input, sent without any, is the validation error it would be on REST.
    expectTrpcError(await h.request('/trpc/cart.addItem', { method: 'POST', token }), 400, 'VALIDATION_ERROR');
  });

  it('reports a server bug as a generic 500 without internals', async () => {
    const { user, token } = await h.createUser();
    const conn = h.db.orm.em.getConnection();
    await conn.execute('alter table users drop constraint users_role_check');
    await conn.execute(`update users set role = 'superuser' where id = ?`, [user.id]);
    try {
      const res = await trpc('auth.me', { token });
      const data = expectTrpcError(res, 500, 'INTERNAL_ERROR');
      expect(res.body.error!.message).toBe('An unexpected error occurred');
      expect(data.details).toBeUndefined();
      expect(res.text).not.toMatch(/superuser|zod|Output validation/i);
    } finally {
      await conn.execute(`update users set role = 'customer' where id = ?`, [user.id]);
      await conn.execute(`alter table users add constraint users_role_check check (role in ('customer', 'admin'))`);
    }
  });
});
