import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createHttpHarness, expectErrorEnvelope, type HttpHarness, type TestResponse } from './support/harness.js';
import { rawExchange, requestVerbatim } from './support/raw-http.js';

/**
 * The HTTP edge: whatever method, path or malformed request reaches the server,
 * the answer is the contract's envelope (§1, §2) with an honest status — never
 * a 500, an HTML page, plain text or an empty body.
 */

let h: HttpHarness;
let customer: string;
let admin: string;
beforeAll(async () => {
  h = await createHttpHarness();
  customer = (await h.createUser()).token;
  admin = (await h.createUser({ role: 'admin' })).token;
});
afterAll(() => h.close());

const bearer = (token: string) => ({ Authorization: `Bearer ${token}` });

function expect405(res: TestResponse, allow: string) {
  expectErrorEnvelope(res, 405, 'METHOD_NOT_ALLOWED');
  expect(res.headers.get('allow')).toBe(allow);
}

describe('methods tRPC does not serve', () => {
  // Everything Node's parser accepts that is neither GET nor POST (HEAD is GET without a body; OPTIONS is CORS).
  const methods = ['TRACE', 'PUT', 'PATCH', 'DELETE', 'PROPFIND', 'MKCOL', 'SEARCH', 'LOCK', 'PURGE', 'QUERY'];

  it.each(methods)('answers %s on a procedure with 405 and the methods it accepts', async (method) => {
    expect405(await requestVerbatim(h.baseUrl, method, '/trpc/auth.me', bearer(customer)), 'GET, HEAD');
    expect405(await requestVerbatim(h.baseUrl, method, '/trpc/auth.signup'), 'POST');
    expect405(await requestVerbatim(h.baseUrl, method, '/trpc/auth.me,auth.signup?batch=1'), 'GET, POST, HEAD');
  });

  it.each(methods)('answers %s on paths that name no procedure with 404', async (method) => {
    for (const path of ['/trpc', '/trpc/', '/trpc/nope.nothing', '/trpc/auth.me,nope?batch=1', '/trpc/%ff', '/trpc/constructor', '/trpc/__proto__']) {
      expectErrorEnvelope(await requestVerbatim(h.baseUrl, method, path, { 'X-Request-Id': 'odd-method' }), 404, 'NOT_FOUND');
    }
  });

  it('serves HEAD on a query as GET without the body, and 404s it on an unknown procedure', async () => {
    const head = await requestVerbatim(h.baseUrl, 'HEAD', '/trpc/auth.me', bearer(customer));
    expect(head.status).toBe(200);
    expect(head.text).toBe('');
    expect((await requestVerbatim(h.baseUrl, 'HEAD', '/trpc/nope.nothing')).status).toBe(404);
  });

  it('still answers GET and POST itself, in tRPC error shape', async () => {
    const res = await requestVerbatim(h.baseUrl, 'GET', '/trpc/auth.signup');
    expect(res.status).toBe(405);
    expect(res.body.error.data).toMatchObject({ appCode: 'METHOD_NOT_ALLOWED', httpStatus: 405 });
  });
});

describe('unexpected methods elsewhere', () => {
  it.each(['TRACE', 'PROPFIND'])('answers %s with 405 on known paths and 404 on unknown ones', async (method) => {
    expect405(await requestVerbatim(h.baseUrl, method, '/api/products'), 'GET, POST, HEAD');
    expect405(await requestVerbatim(h.baseUrl, method, '/api/cart', bearer(customer)), 'GET, DELETE, HEAD');
    expect405(await requestVerbatim(h.baseUrl, method, '/api/openapi.json'), 'GET, HEAD');
    expect405(await requestVerbatim(h.baseUrl, method, '/health'), 'GET, HEAD');
    expect405(await requestVerbatim(h.baseUrl, method, '/ready'), 'GET, HEAD');
    expect405(await requestVerbatim(h.baseUrl, method, '/docs'), 'GET, HEAD');
    expect405(await requestVerbatim(h.baseUrl, method, '/docs/'), 'GET, HEAD');
    for (const path of ['/', '/api', '/api/nope', '/docs/swagger-ui-init.js', '/docs/swagger-ui.css', '/nope']) {
      expectErrorEnvelope(await requestVerbatim(h.baseUrl, method, path), 404, 'NOT_FOUND');
    }
  });

  it('serves the docs assets only to GET and HEAD', async () => {
    expectErrorEnvelope(await requestVerbatim(h.baseUrl, 'POST', '/docs/swagger-ui-init.js'), 404, 'NOT_FOUND');
    expect405(await requestVerbatim(h.baseUrl, 'DELETE', '/docs/'), 'GET, HEAD');
    const redirect = await requestVerbatim(h.baseUrl, 'GET', '/docs');
    expect(redirect.status).toBe(301);
    expect(redirect.headers.get('location')).toBe('/docs/');
    const page = await requestVerbatim(h.baseUrl, 'GET', '/docs/');
    expect(page.status).toBe(200);
    expect(page.headers.get('content-type')).toMatch(/^text\/html/);
    for (const asset of ['/docs/swagger-ui-init.js', '/docs/swagger-ui.css', '/docs/swagger-ui-bundle.js']) {
      expect((await requestVerbatim(h.baseUrl, 'GET', asset)).status).toBe(200);
    }
  });
});

describe('odd paths', () => {
  const oddDocsPaths = [
    '/docs/..%2f',
    '/docs/..%2f..%2fpackage.json',
    '/docs/%2e%2e/package.json',
    '/docs/%2e%2e/%2e%2e/src/app.ts',
    '/docs/%2e%2e%2f%2e%2e%2fetc%2fpasswd',
    '/docs/..%5c..%5cpackage.json',
    '/docs/package.json',
    '/docs/package%2ejson',
    '/docs/swagger-ui-dist/package.json',
    '/docs/swagger-ui.css/..',
    '/docs/swagger-ui.css/%2e%2e',
    '/docs/%00',
    '/docs/swagger-ui.css%00',
    '/docs/%ff',
    '/docs/%E0%A4%A',
    '/docs/%',
    '/docs//',
  ];
  it.each(oddDocsPaths)('answers GET %s with the envelope 404', async (path) => {
    expectErrorEnvelope(await requestVerbatim(h.baseUrl, 'GET', path), 404, 'NOT_FOUND');
    const head = await requestVerbatim(h.baseUrl, 'HEAD', path);
    expect(head.status).toBe(404);
    expect(head.headers.get('content-type')).toBe('application/json; charset=utf-8');
  });

  // And what a URL parser reads as another path: dot segments, `#` (a fragment), `\`; `/api/cart/items/..` or
  // `/api/cart/items#` would be `/api/cart` (for DELETE: the whole cart).
  const malformedEncodings = ['%E0%A4%A', '%ff', '%', '%zz', '%00', '..%2f', '%c0%ae%c0%ae', '..', '.', '%2e%2e', '%2E.', '.%2e', '%2e', '..\\x', '#', '#/x', 'x\\y'];
  it.each(malformedEncodings)('answers a path id or segment of %s with the envelope 404 on every kind of route', async (segment) => {
    const product = await h.createProduct({ stock: 5 });
    expect((await h.request('/api/cart/items', { method: 'POST', token: customer, json: { productId: product.id, quantity: 1 } })).status).toBe(200);
    const cases: Array<[string, string, string?]> = [
      ['GET', `/api/products/${segment}`],
      ['GET', `/api/${segment}`],
      ['GET', `/${segment}`],
      ['GET', `/health/${segment}`],
      ['GET', `/api/orders/${segment}`, customer],
      ['GET', `/api/promo-codes/${segment}`, admin],
      ['DELETE', `/api/products/${segment}`, admin],
      ['DELETE', `/api/promo-codes/${segment}`, admin],
      ['DELETE', `/api/cart/items/${segment}`, customer],
    ];
    for (const [method, path, token] of cases) {
      const res = await requestVerbatim(h.baseUrl, method, path, token ? bearer(token) : {});
      expect(res.status, `${method} ${path}`).toBe(404);
      expectErrorEnvelope(res, 404, 'NOT_FOUND');
    }
    // Verbatim: fetch would resolve a dot segment itself before sending.
    const patch = await requestVerbatim(h.baseUrl, 'PATCH', `/api/cart/items/${segment}`, { ...bearer(customer), 'Content-Type': 'application/json' }, '{"quantity":1}');
    expectErrorEnvelope(patch, 404, 'NOT_FOUND');
    // Nothing above reached another route: the line is still in the cart.
    const cart = await h.request('/api/cart', { token: customer });
    expect(cart.body.items.map((item: { productId: string }) => item.productId)).toContain(product.id);
  });

  it('answers a malformed query-string encoding as the query it is, never a 500', async () => {
    const res = await requestVerbatim(h.baseUrl, 'GET', '/api/products?page=%ff&limit=%E0%A4%A');
    expectErrorEnvelope(res, 400, 'VALIDATION_ERROR');
    expect((await requestVerbatim(h.baseUrl, 'GET', '/health?%ff=%')).status).toBe(200);
  });
});

describe('a client that stops sending (bounded request times, src/rest/http-server.ts)', () => {
  // The production bounds are 10 s for headers and 30 s for a whole request; the same server with short ones.
  let slow: HttpHarness;
  beforeAll(async () => {
    slow = await createHttpHarness({}, { headersMs: 400, requestMs: 800, checkEveryMs: 100 });
  });
  afterAll(() => slow?.close());

  const head = (path: string, headers: string) => `POST ${path} HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\n${headers}\r\n`;

  it.each([
    ['a body shorter than its Content-Length (REST)', `${head('/api/auth/login', 'Content-Length: 100\r\n')}{"a":1}`],
    ['a body shorter than its Content-Length (tRPC)', `${head('/trpc/auth.login', 'Content-Length: 100\r\n')}{"a":1}`],
    ['a chunked body cut inside a chunk', `${head('/api/auth/login', 'Transfer-Encoding: chunked\r\n')}10\r\n{"username":"ab`],
    ['headers that never end', 'GET /health HTTP/1.1\r\nHost: localhost\r\nX-Waiting: 1\r\n'],
  ])('answers %s with 400 in the envelope and closes the connection', async (_label, bytes) => {
    const res = await rawExchange(slow.baseUrl, bytes);
    expect(res.statusLine).toMatch(/^HTTP\/1\.1 400 /);
    expect(res.headers.get('connection')).toBe('close');
    expect(expectErrorEnvelope(res, 400, 'VALIDATION_ERROR').message).toBe('The request was not received in time');
    expect((await slow.request('/health')).status).toBe(200);
  });
});

describe('requests Node itself rejects', () => {
  /** The envelope on a raw connection: JSON, a generated request id in header and body, and the connection closed. */
  function expectRawEnvelope(res: TestResponse & { statusLine: string }, status: number, code: string) {
    expect(res.statusLine).toMatch(new RegExp(`^HTTP/1\\.1 ${status} `));
    expect(res.headers.get('content-type')).toBe('application/json; charset=utf-8');
    expect(res.headers.get('connection')).toBe('close');
    expect(Number(res.headers.get('content-length'))).toBe(Buffer.byteLength(res.text));
    return expectErrorEnvelope(res, status, code);
  }

  const GET = (path: string, headers = '') => `GET ${path} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n${headers}\r\n`;

  it('answers oversized headers with 400 VALIDATION_ERROR in the envelope', async () => {
    const error = expectRawEnvelope(await rawExchange(h.baseUrl, GET('/health', `X-Big: ${'a'.repeat(20_000)}\r\n`)), 400, 'VALIDATION_ERROR');
    expect(error.details).toEqual([{ field: 'headers', message: expect.any(String) }]);
  });

  it('answers an over-long request line (a GET batch of 2,000 calls) with 400 VALIDATION_ERROR in the envelope', async () => {
    const paths = Array(2000).fill('cart.get').join(',');
    expectRawEnvelope(await rawExchange(h.baseUrl, GET(`/trpc/${paths}?batch=1`)), 400, 'VALIDATION_ERROR');
  });

  it.each([
    ['a malformed request line', 'GARBAGE\r\n\r\n'],
    ['an unknown method', 'BREW /health HTTP/1.1\r\nHost: localhost\r\n\r\n'],
    ['an HTTP/2 preface', 'PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n'],
    ['an invalid header character', GET('/health', 'X-Bad: a\u0001b\r\n')],
    ['a header without a colon', GET('/health', 'NoColonHere\r\n')],
    ['bad chunked encoding', 'POST /api/auth/signup HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n{}\r\n0\r\n\r\n'],
    ['Content-Length with Transfer-Encoding', 'POST /api/auth/signup HTTP/1.1\r\nHost: localhost\r\nContent-Length: 2\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n'],
    ['two different Content-Lengths', 'POST /api/auth/signup HTTP/1.1\r\nHost: localhost\r\nContent-Length: 2\r\nContent-Length: 3\r\n\r\n{}'],
    ['an HTTP/1.1 request without Host', 'GET /health HTTP/1.1\r\n\r\n'],
  ])('answers %s with 400 in the envelope', async (_name, bytes) => {
    expectRawEnvelope(await rawExchange(h.baseUrl, bytes), 400, 'VALIDATION_ERROR');
  });

  it('answers an Expect it cannot meet with 417 in the envelope, echoing the request id', async () => {
    const res = await rawExchange(h.baseUrl, GET('/health', 'Expect: tea\r\nX-Request-Id: expect-tea\r\n'));
    expect(expectRawEnvelope(res, 417, 'VALIDATION_ERROR').requestId).toBe('expect-tea');
  });

  it('answers CONNECT (it is no proxy) with 405 in the envelope', async () => {
    const res = await rawExchange(h.baseUrl, 'CONNECT example.com:443 HTTP/1.1\r\nHost: example.com:443\r\n\r\n');
    expectRawEnvelope(res, 405, 'METHOD_NOT_ALLOWED');
    expect(res.headers.get('allow')).toEqual(expect.any(String));
  });

  it('keeps serving ordinary requests afterwards', async () => {
    await rawExchange(h.baseUrl, 'GARBAGE\r\n\r\n');
    expect((await h.request('/health')).status).toBe(200);
    // Expect: 100-continue is still met by Node itself.
    const res = await rawExchange(h.baseUrl, 'POST /api/auth/login HTTP/1.1\r\nHost: localhost\r\nExpect: 100-continue\r\nContent-Type: application/json\r\nContent-Length: 2\r\nConnection: close\r\n\r\n{}');
    expect(res.statusLine).toMatch(/^HTTP\/1\.1 100 /);
  });
});

describe('CORS on the answers Node writes itself (browser clients must be able to read them)', () => {
  const GET = (path: string, headers = '') => `GET ${path} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n${headers}\r\n`;
  const oversized = GET('/health', `Origin: https://shop.example\r\nX-Big: ${'a'.repeat(20_000)}\r\n`);
  const unmetExpectation = (origin: string) => GET('/health', `Origin: ${origin}\r\nExpect: tea\r\n`);

  it('with CORS_ORIGINS=* allows every origin and exposes the request id, as the app does', async () => {
    for (const bytes of [oversized, unmetExpectation('https://shop.example'), 'CONNECT example.com:443 HTTP/1.1\r\nHost: example.com:443\r\nOrigin: https://shop.example\r\n\r\n']) {
      const res = await rawExchange(h.baseUrl, bytes);
      expect(res.status).toBeGreaterThanOrEqual(400);
      expect(res.headers.get('access-control-allow-origin')).toBe('*');
      expect(res.headers.get('access-control-expose-headers')).toContain('X-Request-Id');
    }
    const appAnswer = await h.request('/api/products?page=0', { headers: { Origin: 'https://shop.example' } });
    expect(appAnswer.headers.get('access-control-expose-headers')).toBe((await rawExchange(h.baseUrl, oversized)).headers.get('access-control-expose-headers'));
  });

  describe('with a list of origins', () => {
    let listed: HttpHarness;
    beforeAll(async () => {
      listed = await createHttpHarness({ CORS_ORIGINS: 'https://shop.example,https://admin.example' });
    });
    afterAll(() => listed.close());

    it('echoes a listed origin where the request could be read, and allows none where it could not', async () => {
      const allowed = await rawExchange(listed.baseUrl, unmetExpectation('https://admin.example'));
      expect(allowed.status).toBe(417);
      expect(allowed.headers.get('access-control-allow-origin')).toBe('https://admin.example');
      expect(allowed.headers.get('vary')).toBe('Origin');

      const other = await rawExchange(listed.baseUrl, unmetExpectation('https://evil.example'));
      expect(other.headers.get('access-control-allow-origin')).toBeNull();

      const unreadable = await rawExchange(listed.baseUrl, oversized);
      expect(unreadable.status).toBe(400);
      expect(unreadable.headers.get('access-control-allow-origin')).toBeNull();
    });
  });
});
