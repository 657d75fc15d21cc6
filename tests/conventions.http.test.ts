import { request as httpRequest } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createHttpHarness, expectErrorEnvelope, type HttpHarness, type TestResponse } from './support/harness.js';

/** Contract §1 and §2: the conventions every REST response follows, checked over real HTTP. */

let h: HttpHarness;
let customerToken: string;
let adminToken: string;

beforeAll(async () => {
  h = await createHttpHarness();
  customerToken = (await h.createUser()).token;
  adminToken = (await h.createUser({ role: 'admin' })).token;
});
afterAll(() => h.close());

const signupBody = (username: string) => JSON.stringify({ username, password: 'password123' });

/** Sends raw bytes with exactly the headers given (fetch would add a Content-Type of its own). */
function rawRequest(opts: { method: string; path: string; headers?: Record<string, string>; body?: string | Buffer }): Promise<TestResponse> {
  const url = new URL(opts.path, h.baseUrl);
  return new Promise((resolve, reject) => {
    const headers = { ...opts.headers };
    if (opts.body !== undefined) headers['Content-Length'] = String(Buffer.byteLength(opts.body));
    const req = httpRequest(url, { method: opts.method, headers }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (chunk: Buffer) => chunks.push(chunk));
      res.on('end', () => {
        const text = Buffer.concat(chunks).toString('utf8');
        const headers = new Headers();
        for (const [name, value] of Object.entries(res.headers)) {
          if (value !== undefined) headers.set(name, Array.isArray(value) ? value.join(', ') : value);
        }
        let body: unknown;
        try {
          body = text ? JSON.parse(text) : undefined;
        } catch {
          body = undefined;
        }
        resolve({ status: res.statusCode ?? 0, headers, body, text });
      });
    });
    req.on('error', reject);
    req.end(opts.body);
  });
}

describe('X-Request-Id', () => {
  it('echoes a client id of 1 to 128 allowed characters', async () => {
    for (const id of ['a', 'abc.DEF_123-x', 'x'.repeat(128)]) {
      const res = await h.request('/health', { headers: { 'X-Request-Id': id } });
      expect(res.headers.get('x-request-id')).toBe(id);
    }
  });

  it('replaces a missing, too long or malformed id with a generated one', async () => {
    const seen = new Set<string>();
    for (const id of [undefined, 'x'.repeat(129), 'bad id', 'ümlaut', 'a/b', 'semi;colon']) {
      const res = await h.request('/health', { headers: id === undefined ? {} : { 'X-Request-Id': id } });
      const generated = res.headers.get('x-request-id');
      expect(generated).toMatch(/^[A-Za-z0-9._-]{1,128}$/);
      expect(generated).not.toBe(id);
      seen.add(generated!);
    }
    expect(seen.size).toBe(6);
  });

  it('puts the same id in the error envelope', async () => {
    const res = await h.request('/api/auth/me', { headers: { 'X-Request-Id': 'trace-me-42' } });
    expect(expectErrorEnvelope(res, 401, 'UNAUTHORIZED').requestId).toBe('trace-me-42');
  });
});

describe('routes and methods', () => {
  it('answers unknown routes anywhere with the 404 envelope', async () => {
    for (const path of ['/api/nope', '/nope', '/api', '/', '/trpcx', '/api/auth/signup/extra']) {
      expectErrorEnvelope(await h.request(path), 404, 'NOT_FOUND');
    }
    expectErrorEnvelope(await h.request('/api/nope', { method: 'POST', json: {} }), 404, 'NOT_FOUND');
    expectErrorEnvelope(await h.request('/api/nope', { method: 'DELETE' }), 404, 'NOT_FOUND');
  });

  it.each([
    ['/api/auth/signup', 'GET', 'POST'],
    ['/api/auth/signup', 'DELETE', 'POST'],
    ['/api/auth/login', 'PUT', 'POST'],
    ['/api/auth/me', 'POST', 'GET, HEAD'],
    ['/api/auth/me', 'PATCH', 'GET, HEAD'],
    ['/health', 'POST', 'GET, HEAD'],
    ['/health', 'DELETE', 'GET, HEAD'],
    ['/ready', 'PUT', 'GET, HEAD'],
    ['/api/openapi.json', 'POST', 'GET, HEAD'],
  ])('%s with %s → 405 with Allow: %s', async (path, method, allow) => {
    const res = await h.request(path, { method });
    expectErrorEnvelope(res, 405, 'METHOD_NOT_ALLOWED');
    expect(res.headers.get('allow')).toBe(allow);
  });

  it('answers 405 before authentication and before the body is looked at', async () => {
    const res = await rawRequest({ method: 'PUT', path: '/api/auth/me', headers: { 'Content-Type': 'text/plain' }, body: 'x' });
    expectErrorEnvelope(res, 405, 'METHOD_NOT_ALLOWED');
  });

  it('serves HEAD like GET without a body, and 405s HEAD where GET is not allowed', async () => {
    const health = await rawRequest({ method: 'HEAD', path: '/health' });
    expect(health.status).toBe(200);
    expect(health.text).toBe('');
    expect(health.headers.get('x-request-id')).toBeTruthy();

    const me = await rawRequest({ method: 'HEAD', path: '/api/auth/me', headers: { Authorization: `Bearer ${customerToken}` } });
    expect(me.status).toBe(200);
    expect(me.text).toBe('');
    expect(me.headers.get('content-type')).toBe('application/json; charset=utf-8');

    const anonymous = await rawRequest({ method: 'HEAD', path: '/api/auth/me' });
    expect(anonymous.status).toBe(401);
    expect(anonymous.text).toBe('');

    const signup = await rawRequest({ method: 'HEAD', path: '/api/auth/signup' });
    expect(signup.status).toBe(405);
    expect(signup.headers.get('allow')).toBe('POST');

    expect((await rawRequest({ method: 'HEAD', path: '/api/nope' })).status).toBe(404);
  });
});

describe('request bodies', () => {
  it('accepts application/json with and without a charset, in any case', async () => {
    for (const [i, contentType] of ['application/json', 'application/json; charset=utf-8', 'Application/JSON;charset=UTF-8'].entries()) {
      const res = await rawRequest({ method: 'POST', path: '/api/auth/signup', headers: { 'Content-Type': contentType }, body: signupBody(`charset${i}`) });
      expect(res.status, contentType).toBe(201);
    }
  });

  it.each([
    ['text/plain', signupBody('plain')],
    ['application/x-www-form-urlencoded', 'username=form&password=password123'],
    ['multipart/form-data; boundary=x', '--x--'],
    ['application/jsonp', signupBody('jsonp')],
  ])('answers Content-Type %s with 415', async (contentType, body) => {
    const res = await rawRequest({ method: 'POST', path: '/api/auth/signup', headers: { 'Content-Type': contentType }, body });
    expectErrorEnvelope(res, 415, 'UNSUPPORTED_MEDIA_TYPE');
  });

  it('answers a body without a Content-Type with 415', async () => {
    const res = await rawRequest({ method: 'POST', path: '/api/auth/signup', body: signupBody('nocontenttype') });
    expectErrorEnvelope(res, 415, 'UNSUPPORTED_MEDIA_TYPE');
  });

  it('treats a POST with no body and no Content-Type as {}', async () => {
    const res = await rawRequest({ method: 'POST', path: '/api/auth/signup' });
    const error = expectErrorEnvelope(res, 400, 'VALIDATION_ERROR');
    expect(error.details).toEqual(
      expect.arrayContaining([
        { field: 'username', message: 'Required' },
        { field: 'password', message: 'Required' },
      ]),
    );
  });

  it.each([
    ['{"username":', 'malformed'],
    ['[1,2]', 'an array'],
    ['"text"', 'a string'],
    ['42', 'a number'],
    ['null', 'null'],
    ['{"username":"a"} trailing', 'trailing garbage'],
  ])('answers %s (%s) with 400 on field body', async (body) => {
    const res = await rawRequest({ method: 'POST', path: '/api/auth/signup', headers: { 'Content-Type': 'application/json' }, body });
    expect(expectErrorEnvelope(res, 400, 'VALIDATION_ERROR').details).toEqual([{ field: 'body', message: expect.any(String) }]);
  });

  it('accepts a body of exactly 100 KiB and rejects one byte more with 413', async () => {
    const LIMIT = 102_400;
    const padded = (size: number) => {
      const skeleton = JSON.stringify({ username: 'sized', password: '' });
      return JSON.stringify({ username: 'sized', password: 'x'.repeat(size - skeleton.length) });
    };
    const atLimit = padded(LIMIT);
    expect(Buffer.byteLength(atLimit)).toBe(LIMIT);
    // Read and validated (the password is too long), not refused for its size.
    const accepted = await rawRequest({ method: 'POST', path: '/api/auth/signup', headers: { 'Content-Type': 'application/json' }, body: atLimit });
    expect(expectErrorEnvelope(accepted, 400, 'VALIDATION_ERROR').details).toEqual([{ field: 'password', message: expect.any(String) }]);

    const over = padded(LIMIT + 1);
    const refused = await rawRequest({ method: 'POST', path: '/api/auth/signup', headers: { 'Content-Type': 'application/json' }, body: over });
    expectErrorEnvelope(refused, 413, 'PAYLOAD_TOO_LARGE');
  });

  it('rejects an oversized chunked body without a Content-Length', async () => {
    const res = await h.request('/api/auth/signup', {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: new Blob([JSON.stringify({ username: 'chunked', password: 'y'.repeat(200_000) })]).stream(),
      duplex: 'half',
    } as RequestInit);
    expectErrorEnvelope(res, 413, 'PAYLOAD_TOO_LARGE');
  });

  it('names every unknown body field, also nested in the error details', async () => {
    const res = await h.request('/api/auth/signup', { method: 'POST', json: { username: 'typo_user', password: 'password123', pasword: 'x', role: 'admin' } });
    const error = expectErrorEnvelope(res, 400, 'VALIDATION_ERROR');
    expect(error.details).toEqual(
      expect.arrayContaining([
        { field: 'pasword', message: expect.any(String) },
        { field: 'role', message: expect.any(String) },
      ]),
    );
  });

  it('never coerces body values to the expected type', async () => {
    const res = await h.request('/api/auth/login', { method: 'POST', json: { username: 12345678, password: true } });
    const error = expectErrorEnvelope(res, 400, 'VALIDATION_ERROR');
    expect(error.details).toEqual(expect.arrayContaining([expect.objectContaining({ field: 'username' }), expect.objectContaining({ field: 'password' })]));
  });
});

describe('order of checks', () => {
  it('answers a protected route without a token and with a wrong media type with 401, not 415', async () => {
    const res = await rawRequest({ method: 'GET', path: '/api/auth/me', headers: { 'Content-Type': 'text/plain' }, body: 'x' });
    expectErrorEnvelope(res, 401, 'UNAUTHORIZED');
    expect(res.headers.get('www-authenticate')).toBe('Bearer');
  });

  it('answers a wrong media type on a public route with 415 before validating', async () => {
    const res = await rawRequest({ method: 'POST', path: '/api/auth/login', headers: { 'Content-Type': 'text/plain' }, body: 'not even json' });
    expectErrorEnvelope(res, 415, 'UNSUPPORTED_MEDIA_TYPE');
  });

  it('answers an oversized body on a public route with 413 before validating', async () => {
    const res = await h.request('/api/auth/login', { method: 'POST', json: { username: '', password: 'z'.repeat(200_000), extra: 1 } });
    expectErrorEnvelope(res, 413, 'PAYLOAD_TOO_LARGE');
  });

  it('lets a public route ignore a garbage Authorization header', async () => {
    for (const authorization of ['Bearer garbage', 'Basic dXNlcjpwYXNz', 'nonsense', 'Bearer ']) {
      const health = await h.request('/health', { headers: { Authorization: authorization } });
      expect(health.status).toBe(200);
      const signup = await h.request('/api/auth/signup', {
        method: 'POST',
        headers: { Authorization: authorization },
        json: { username: `garbage_${authorization.length}_${authorization.charCodeAt(0)}`, password: 'password123' },
      });
      expect(signup.status, authorization).toBe(201);
    }
  });
});

describe('order of checks on the catalog routes', () => {
  const MISSING = '00000000-0000-4000-8000-000000000000';
  const product = { name: 'Check Order Shoe', price: 10, stock: 1 };

  it('answers a customer’s invalid admin request with 403', async () => {
    const routes: [string, string][] = [['POST', '/api/products'], ['PUT', `/api/products/${MISSING}`], ['PUT', '/api/products/not-an-id']];
    for (const [method, path] of routes) {
      const res = await h.request(path, { method, token: customerToken, json: { name: '', price: -1, bogus: true } });
      expectErrorEnvelope(res, 403, 'FORBIDDEN');
    }
    const wrongType = await rawRequest({ method: 'POST', path: '/api/products', headers: { Authorization: `Bearer ${customerToken}`, 'Content-Type': 'text/plain' }, body: 'x' });
    expectErrorEnvelope(wrongType, 403, 'FORBIDDEN');
  });

  it('answers no token with 401 before a wrong media type, an oversized body or a missing product', async () => {
    const wrongType = await rawRequest({ method: 'PUT', path: `/api/products/${MISSING}`, headers: { 'Content-Type': 'text/plain' }, body: 'x' });
    expectErrorEnvelope(wrongType, 401, 'UNAUTHORIZED');
    const huge = await h.request('/api/products', { method: 'POST', json: { ...product, description: 'd'.repeat(150_000) } });
    expectErrorEnvelope(huge, 401, 'UNAUTHORIZED');
    expectErrorEnvelope(await h.request(`/api/products/${MISSING}`, { method: 'DELETE' }), 401, 'UNAUTHORIZED');
  });

  it('answers an admin: media type, then validation, then existence', async () => {
    const wrongType = await rawRequest({ method: 'PUT', path: `/api/products/${MISSING}`, headers: { Authorization: `Bearer ${adminToken}`, 'Content-Type': 'text/plain' }, body: '{}' });
    expectErrorEnvelope(wrongType, 415, 'UNSUPPORTED_MEDIA_TYPE');
    const invalid = await h.request(`/api/products/${MISSING}`, { method: 'PUT', token: adminToken, json: { ...product, price: 0 } });
    expect(expectErrorEnvelope(invalid, 400, 'VALIDATION_ERROR').details).toEqual([{ field: 'price', message: expect.any(String) }]);
    expectErrorEnvelope(await h.request(`/api/products/${MISSING}`, { method: 'PUT', token: adminToken, json: product }), 404, 'NOT_FOUND');
    expectErrorEnvelope(await h.request('/api/products/not-an-id', { method: 'PUT', token: adminToken, json: product }), 404, 'NOT_FOUND');
  });

  it('serves a DELETE without a body or Content-Type, and answers it 204 with no body', async () => {
    const created = await h.request('/api/products', { method: 'POST', token: adminToken, json: product });
    expect(created.status).toBe(201);
    expect(created.headers.get('location')).toBe(`/api/products/${created.body.id}`);
    const deleted = await rawRequest({ method: 'DELETE', path: `/api/products/${created.body.id}`, headers: { Authorization: `Bearer ${adminToken}` } });
    expect(deleted.status).toBe(204);
    expect(deleted.text).toBe('');
    expectErrorEnvelope(await h.request(`/api/products/${created.body.id}`), 404, 'NOT_FOUND');
  });

  it('treats a checkout with no body and no Content-Type as {}', async () => {
    const res = await rawRequest({ method: 'POST', path: '/api/checkout', headers: { Authorization: `Bearer ${customerToken}` } });
    expectErrorEnvelope(res, 409, 'CART_EMPTY');
  });
});

describe('query parameters', () => {
  it('names a missing required parameter "Required", as the contract\'s example does, and a malformed one otherwise', async () => {
    const missing = await h.request('/api/products?limit=1');
    expect(expectErrorEnvelope(missing, 400, 'VALIDATION_ERROR').details).toEqual([{ field: 'page', message: 'Required' }]);
    const repeated = await h.request('/api/products?page=1&page=2');
    expect(expectErrorEnvelope(repeated, 400, 'VALIDATION_ERROR').details).toEqual([{ field: 'page', message: 'Must be a single integer' }]);
    const repeatedPrice = await h.request('/api/products?page=1&minPrice=1&minPrice=2');
    expect(expectErrorEnvelope(repeatedPrice, 400, 'VALIDATION_ERROR').details).toEqual([{ field: 'minPrice', message: 'Must be a single amount' }]);
  });

  it('rejects a repeated known parameter and ignores unknown ones on a real collection', async () => {
    const repeated = await h.request('/api/products?page=1&page=2');
    expect(expectErrorEnvelope(repeated, 400, 'VALIDATION_ERROR').details).toEqual([{ field: 'page', message: expect.any(String) }]);
    const repeatedFilter = await h.request('/api/products?page=1&category=a&category=b');
    expect(expectErrorEnvelope(repeatedFilter, 400, 'VALIDATION_ERROR').details).toEqual([{ field: 'category', message: expect.any(String) }]);
    const unknown = await h.request('/api/products?page=1&utm_source=mail&utm_source=again&x=');
    expect(unknown.status).toBe(200);
    expect(unknown.body).toMatchObject({ page: 1, limit: 20 });
  });

  it('answers HEAD on a collection like GET, without a body', async () => {
    const res = await rawRequest({ method: 'HEAD', path: '/api/products?page=1' });
    expect(res.status).toBe(200);
    expect(res.text).toBe('');
    expect((await rawRequest({ method: 'HEAD', path: '/api/products' })).status).toBe(400);
  });

  it('ignores unknown query parameters, repeated or not', async () => {
    const res = await h.request('/api/auth/me?foo=1&foo=2&bar=', { token: customerToken });
    expect(res.status).toBe(200);
    const health = await h.request('/health?verbose=true&verbose=false');
    expect(health.status).toBe(200);
  });
});

describe('CORS', () => {
  it('answers a preflight with 204 and the contract headers, without credentials', async () => {
    const res = await rawRequest({
      method: 'OPTIONS',
      path: '/api/cart/items',
      headers: {
        Origin: 'https://shop.example.com',
        'Access-Control-Request-Method': 'POST',
        'Access-Control-Request-Headers': 'authorization,content-type,idempotency-key,x-request-id',
      },
    });
    expect(res.status).toBe(204);
    expect(res.headers.get('access-control-allow-origin')).toBe('*');
    const allowed = (res.headers.get('access-control-allow-headers') ?? '').toLowerCase().split(/\s*,\s*/);
    expect(allowed).toEqual(expect.arrayContaining(['authorization', 'content-type', 'idempotency-key', 'x-request-id']));
    const methods = (res.headers.get('access-control-allow-methods') ?? '').split(/\s*,\s*/);
    expect(methods).toEqual(expect.arrayContaining(['GET', 'POST', 'PUT', 'PATCH', 'DELETE']));
    expect(res.headers.get('access-control-allow-credentials')).toBeNull();
    expect(res.headers.get('x-request-id')).toBeTruthy();
  });

  it('exposes the contract headers on ordinary and error responses', async () => {
    for (const res of [
      await h.request('/health', { headers: { Origin: 'https://shop.example.com' } }),
      await h.request('/api/auth/me', { headers: { Origin: 'https://shop.example.com' } }),
    ]) {
      expect(res.headers.get('access-control-allow-origin')).toBe('*');
      const exposed = (res.headers.get('access-control-expose-headers') ?? '').toLowerCase().split(/\s*,\s*/);
      expect(exposed).toEqual(expect.arrayContaining(['x-request-id', 'location', 'retry-after', 'idempotent-replayed']));
      expect(res.headers.get('access-control-allow-credentials')).toBeNull();
    }
  });

  it('reflects only the origins listed in CORS_ORIGINS', async () => {
    const listed = await createHttpHarness({ CORS_ORIGINS: 'https://shop.example.com, http://localhost:5173' });
    try {
      for (const origin of ['https://shop.example.com', 'http://localhost:5173']) {
        const preflight = await listed.request('/api/auth/login', {
          method: 'OPTIONS',
          headers: { Origin: origin, 'Access-Control-Request-Method': 'POST' },
        });
        expect(preflight.status).toBe(204);
        expect(preflight.headers.get('access-control-allow-origin')).toBe(origin);
        expect(preflight.headers.get('vary')).toMatch(/origin/i);
        const simple = await listed.request('/health', { headers: { Origin: origin } });
        expect(simple.headers.get('access-control-allow-origin')).toBe(origin);
      }
      const foreign = await listed.request('/health', { headers: { Origin: 'https://evil.example.com' } });
      expect(foreign.status).toBe(200);
      expect(foreign.headers.get('access-control-allow-origin')).toBeNull();
      const foreignPreflight = await listed.request('/api/auth/login', {
        method: 'OPTIONS',
        headers: { Origin: 'https://evil.example.com', 'Access-Control-Request-Method': 'POST' },
      });
      expect(foreignPreflight.headers.get('access-control-allow-origin')).toBeNull();
    } finally {
      await listed.close();
    }
  });
});

describe('responses', () => {
  it('sends JSON as application/json; charset=utf-8 everywhere', async () => {
    const responses = [
      await h.request('/health'),
      await h.request('/ready'),
      await h.request('/api/openapi.json'),
      await h.request('/api/auth/me', { token: customerToken }),
      await h.request('/api/auth/me'),
      await h.request('/api/nope'),
      await h.request('/health', { method: 'POST' }),
      await h.request('/api/auth/signup', { method: 'POST', json: { username: 'content_type', password: 'password123' } }),
      await h.request('/api/auth/signup', { method: 'POST', json: {} }),
    ];
    for (const res of responses) expect(res.headers.get('content-type')).toBe('application/json; charset=utf-8');
  });

  it('never leaks a stack trace or internal message, even when a response fails its own schema', async () => {
    const { user, token } = await h.createUser();
    // A role the output schema does not allow makes /api/auth/me fail output validation: a server bug.
    const conn = h.db.orm.em.getConnection();
    await conn.execute('alter table users drop constraint users_role_check');
    await conn.execute(`update users set role = 'superuser' where id = ?`, [user.id]);
    const res = await h.request('/api/auth/me', { token, headers: { 'X-Request-Id': 'broken-response' } });
    const error = expectErrorEnvelope(res, 500, 'INTERNAL_ERROR');
    expect(error).toEqual({ code: 'INTERNAL_ERROR', message: 'An unexpected error occurred', requestId: 'broken-response' });
    expect(res.text).not.toMatch(/superuser|stack|output|zod|\.ts|node_modules/i);
    await conn.execute(`update users set role = 'customer' where id = ?`, [user.id]);
    await conn.execute(`alter table users add constraint users_role_check check (role in ('customer', 'admin'))`);
  });

  it('answers a database error with the generic 500, hiding the SQL', async () => {
    const conn = h.db.orm.em.getConnection();
    await conn.execute('alter table users rename to users_gone');
    try {
      const res = await h.request('/api/auth/signup', { method: 'POST', json: { username: 'no_table', password: 'password123' } });
      expectErrorEnvelope(res, 500, 'INTERNAL_ERROR');
      expect(res.text).not.toMatch(/users|insert|relation|select/i);
    } finally {
      await conn.execute('alter table users_gone rename to users');
    }
  });

  it('keeps an admin token working on the public routes', async () => {
    const res = await h.request('/api/auth/me', { token: adminToken });
    expect(res.body.role).toBe('admin');
  });
});
