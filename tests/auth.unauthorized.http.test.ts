import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { User } from '../src/entities/User.js';
import { APP_ERROR_STATUS } from '../src/errors.js';
import { appRouter } from '../src/routers/_app.js';
import { createHttpHarness, expectErrorEnvelope, type HttpHarness, type TestResponse } from './support/harness.js';

/**
 * Contract §2: every 401 carries `WWW-Authenticate: Bearer`. Every way the API has to answer 401
 * (each 401 code, on every protected REST route and tRPC procedure, single and batched) is tried.
 */

let h: HttpHarness;
let admin: User;
// eslint-disable-next-line @typescript-eslint/no-explicit-any -- an OpenAPI document is inspected as plain JSON
let doc: any;
beforeAll(async () => {
  h = await createHttpHarness();
  doc = (await h.request('/api/openapi.json')).body;
  admin = (await h.createUser({ role: 'admin' })).user;
});
afterAll(() => h.close());

const A_UUID = '00000000-0000-4000-8000-000000000000';
const BAD_AUTHORIZATIONS = [undefined, 'Bearer not-a-jwt', 'Basic dXNlcjpwYXNz', 'Bearer'];

function expectBearerChallenge(res: TestResponse, what: string) {
  expect(res.status, what).toBe(401);
  expect(res.headers.get('www-authenticate'), what).toBe('Bearer');
}

interface ProcedureDef {
  type: 'query' | 'mutation';
  meta?: { access?: 'public' | 'user' | 'admin' };
}
const procedures = Object.entries(appRouter._def.procedures as unknown as Record<string, { _def: ProcedureDef }>).map(([path, procedure]) => ({
  path,
  type: procedure._def.type,
  access: procedure._def.meta?.access,
}));

describe('every 401 carries WWW-Authenticate: Bearer', () => {
  it('the contract has exactly two 401 codes, and both are covered below', () => {
    const codes = Object.entries(APP_ERROR_STATUS).filter(([, status]) => status === 401).map(([code]) => code);
    expect(codes.sort()).toEqual(['INVALID_CREDENTIALS', 'UNAUTHORIZED']);
  });

  it('UNAUTHORIZED on every protected REST route, for a missing, malformed or non-Bearer token', async () => {
    const operations = Object.entries(doc.paths as Record<string, Record<string, { security?: unknown[] }>>).flatMap(([path, ops]) =>
      Object.entries(ops)
        .filter(([, op]) => op.security)
        .map(([method, op]) => ({ method: method.toUpperCase(), path: path.replace(/\{[^}]+\}/g, A_UUID), op })),
    );
    expect(operations.length).toBe(procedures.filter((p) => p.access !== 'public').length);
    for (const { method, path } of operations) {
      for (const authorization of BAD_AUTHORIZATIONS) {
        const headers: Record<string, string> = authorization ? { Authorization: authorization } : {};
        const res = await h.request(path, { method, headers });
        expectErrorEnvelope(res, 401, 'UNAUTHORIZED');
        expectBearerChallenge(res, `${method} ${path} with ${authorization ?? 'no token'}`);
      }
    }
  });

  it('UNAUTHORIZED on every protected tRPC procedure, single and batched', async () => {
    const protectedOnes = procedures.filter((p) => p.access !== 'public');
    expect(protectedOnes.length).toBeGreaterThan(10);
    for (const { path, type } of protectedOnes) {
      for (const authorization of BAD_AUTHORIZATIONS) {
        const headers: Record<string, string> = authorization ? { Authorization: authorization } : {};
        const res =
          type === 'query'
            ? await h.request(`/trpc/${path}`, { headers })
            : await h.request(`/trpc/${path}`, { method: 'POST', headers, json: {} });
        expect(res.body.error.data.appCode, path).toBe('UNAUTHORIZED');
        expectBearerChallenge(res, `tRPC ${path} with ${authorization ?? 'no token'}`);
      }
    }
    const queries = protectedOnes.filter((p) => p.type === 'query').map((p) => p.path);
    const batch = await h.request(`/trpc/${queries.join(',')}?batch=1&input=${encodeURIComponent('{}')}`);
    expectBearerChallenge(batch, 'a batch of protected queries');
  });

  it('UNAUTHORIZED for a valid token of a deleted user on every protected route and procedure, ahead of input errors', async () => {
    const { user, token } = await h.createUser();
    // A cart with a line first: the cart read is where the user row is proven by the read itself (tokenProcedure).
    const product = await h.caller(admin).products.create({ name: 'Gone with the user', price: 1, stock: 5 });
    expect((await h.request('/api/cart/items', { method: 'POST', token, json: { productId: product.id } })).status).toBe(200);
    expect((await h.request('/api/cart', { token })).status).toBe(200);
    await h.db.orm.em.fork().nativeDelete(User, { id: user.id });

    const operations = Object.entries(doc.paths as Record<string, Record<string, { security?: unknown[] }>>).flatMap(([path, ops]) =>
      Object.entries(ops)
        .filter(([, op]) => op.security)
        .map(([method]) => ({ method: method.toUpperCase(), path: path.replace(/\{[^}]+\}/g, A_UUID) })),
    );
    for (const { method, path } of operations) {
      // A body no procedure accepts and a text no column can store: both would be 400 for a user who exists.
      const res = await h.request(`${path}?zz=%00`, { method, token, ...(method === 'GET' || method === 'DELETE' ? {} : { json: { zz: 1 } }) });
      expectErrorEnvelope(res, 401, 'UNAUTHORIZED');
      expectBearerChallenge(res, `${method} ${path} for a deleted user`);
    }
    // Requests that would succeed for a user who exists (the cart's statements are the user check there).
    const valid: Array<[string, string, unknown?]> = [
      ['GET', '/api/cart'],
      ['POST', '/api/cart/items', { productId: product.id }],
      ['PATCH', `/api/cart/items/${A_UUID}`, { quantity: 1 }],
      ['DELETE', `/api/cart/items/${A_UUID}`],
      ['DELETE', '/api/cart'],
      ['POST', '/api/cart/promo-code', { code: 'NOPE' }],
      ['DELETE', '/api/cart/promo-code'],
      ['POST', '/api/checkout', {}],
      ['GET', '/api/orders'],
      ['GET', '/api/auth/me'],
    ];
    for (const [method, path, json] of valid) {
      const res = await h.request(path, { method, token, ...(json === undefined ? {} : { json }) });
      expectErrorEnvelope(res, 401, 'UNAUTHORIZED');
      expectBearerChallenge(res, `${method} ${path} (valid input) for a deleted user`);
    }
    for (const { path, type } of procedures.filter((p) => p.access !== 'public')) {
      const input = encodeURIComponent(JSON.stringify({ zz: 1 }));
      const res =
        type === 'query'
          ? await h.request(`/trpc/${path}?input=${input}`, { token })
          : await h.request(`/trpc/${path}`, { method: 'POST', token, json: { zz: 1 } });
      expect(res.body.error.data.appCode, path).toBe('UNAUTHORIZED');
      expectBearerChallenge(res, `tRPC ${path} for a deleted user`);
    }
  });

  it('INVALID_CREDENTIALS over REST, tRPC and a tRPC batch', async () => {
    const json = { username: 'no_such_user', password: 'wrong-password' };
    const rest = await h.request('/api/auth/login', { method: 'POST', json });
    expectErrorEnvelope(rest, 401, 'INVALID_CREDENTIALS');
    expectBearerChallenge(rest, 'REST login');

    const trpc = await h.request('/trpc/auth.login', { method: 'POST', json });
    expect(trpc.body.error.data.appCode).toBe('INVALID_CREDENTIALS');
    expectBearerChallenge(trpc, 'tRPC login');

    const batch = await h.request('/trpc/auth.login?batch=1', { method: 'POST', json: { 0: json } });
    expect(batch.body[0].error.data.appCode).toBe('INVALID_CREDENTIALS');
    expectBearerChallenge(batch, 'tRPC batch login');
  });
});
