import { forEachOpenApiProcedure } from 'trpc-to-openapi';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { appRouter } from '../src/routers/_app.js';
import { productOutput } from '../src/routers/products/schemas.js';
import type { ProcedureMeta } from '../src/trpc.js';
import { createHttpHarness, type HttpHarness } from './support/harness.js';
import { operationOf, operationsOf } from './support/openapi-document.js';

/** Contract §9: the OpenAPI document of every REST route, and the interactive reference at /docs. */

type Access = 'public' | 'user' | 'admin';

/** Every REST route of the contract: method, path, tRPC procedure (§10), success status, who may call it (§3). */
const CONTRACT_ROUTES: [string, string, string, number, Access][] = [
  ['POST', '/api/auth/signup', 'auth.signup', 201, 'public'],
  ['POST', '/api/auth/login', 'auth.login', 200, 'public'],
  ['GET', '/api/auth/me', 'auth.me', 200, 'user'],
  ['GET', '/api/products', 'products.list', 200, 'public'],
  ['GET', '/api/products/search', 'products.search', 200, 'public'],
  ['GET', '/api/products/{id}', 'products.byId', 200, 'public'],
  ['POST', '/api/products', 'products.create', 201, 'admin'],
  ['PUT', '/api/products/{id}', 'products.update', 200, 'admin'],
  ['DELETE', '/api/products/{id}', 'products.delete', 204, 'admin'],
  ['GET', '/api/cart', 'cart.get', 200, 'user'],
  ['POST', '/api/cart/items', 'cart.addItem', 200, 'user'],
  ['PATCH', '/api/cart/items/{itemId}', 'cart.updateItem', 200, 'user'],
  ['DELETE', '/api/cart/items/{itemId}', 'cart.removeItem', 200, 'user'],
  ['DELETE', '/api/cart', 'cart.clear', 200, 'user'],
  ['POST', '/api/cart/promo-code', 'cart.applyPromoCode', 200, 'user'],
  ['DELETE', '/api/cart/promo-code', 'cart.removePromoCode', 200, 'user'],
  ['POST', '/api/checkout', 'checkout.submit', 201, 'user'],
  ['GET', '/api/orders', 'orders.list', 200, 'user'],
  ['GET', '/api/orders/{id}', 'orders.byId', 200, 'user'],
  ['POST', '/api/promo-codes', 'promoCodes.create', 201, 'admin'],
  ['GET', '/api/promo-codes', 'promoCodes.list', 200, 'admin'],
  ['GET', '/api/promo-codes/{id}', 'promoCodes.byId', 200, 'admin'],
  ['PATCH', '/api/promo-codes/{id}', 'promoCodes.update', 200, 'admin'],
  ['DELETE', '/api/promo-codes/{id}', 'promoCodes.delete', 204, 'admin'],
];

interface ServedRoute {
  method: string;
  path: string;
  procedure: string;
  meta: ProcedureMeta;
}

/** The REST routes the router actually serves. */
function servedRoutes(): ServedRoute[] {
  const routes: ServedRoute[] = [];
  forEachOpenApiProcedure<ProcedureMeta>(appRouter._def.procedures, ({ path, meta }) => {
    routes.push({ method: meta.openapi.method, path: meta.openapi.path, procedure: path, meta });
  });
  return routes;
}

let h: HttpHarness;
// eslint-disable-next-line @typescript-eslint/no-explicit-any -- an OpenAPI document is inspected as plain JSON
let doc: any;

beforeAll(async () => {
  h = await createHttpHarness();
  const res = await h.request('/api/openapi.json');
  expect(res.status).toBe(200);
  expect(res.headers.get('content-type')).toBe('application/json; charset=utf-8');
  doc = res.body;
});
afterAll(() => h.close());

const documentedRoutes = () => operationsOf(doc).map(({ method, path }) => `${method} ${path}`);

describe('GET /api/openapi.json', () => {
  it('is an OpenAPI 3.1 document with a bearer scheme and the error envelope of each code', () => {
    expect(doc.openapi).toBe('3.1.0');
    expect(doc.info).toMatchObject({ title: expect.any(String), version: expect.any(String) });
    expect(doc.components.securitySchemes.bearerAuth).toEqual({ type: 'http', scheme: 'bearer', bearerFormat: 'JWT' });
    expect(doc.components.schemas.ValidationError).toMatchObject({
      required: ['error'],
      properties: {
        error: {
          required: ['code', 'message', 'requestId'],
          properties: { code: { const: 'VALIDATION_ERROR' }, message: { type: 'string' }, details: { type: 'array' }, requestId: { type: 'string' } },
        },
      },
    });
  });

  it('documents exactly the procedures that have REST metadata', () => {
    expect(documentedRoutes().sort()).toEqual(servedRoutes().map((r) => `${r.method} ${r.path}`).sort());
  });

  it('documents every contract route the router serves with its method', () => {
    const served = new Set(servedRoutes().map((r) => `${r.method} ${r.path}`));
    const documented = new Set(documentedRoutes());
    for (const [method, path] of CONTRACT_ROUTES.filter(([m, p]) => served.has(`${m} ${p}`))) {
      expect(documented.has(`${method} ${path}`), `${method} ${path}`).toBe(true);
    }
  });

  it('covers the whole contract: every route, served by the procedure §10 names, and nothing else', () => {
    const served = servedRoutes().map((r) => [r.method, r.path, r.procedure]);
    expect(served.sort()).toEqual(CONTRACT_ROUTES.map(([method, path, procedure]) => [method, path, procedure]).sort());
  });

  it.each(CONTRACT_ROUTES)('%s %s documents its true success status', (method, path, _procedure, status) => {
    const operation = operationOf(doc, method, path);
    const successes = Object.keys(operation.responses).filter((s) => Number(s) < 400);
    expect(successes).toEqual([String(status)]);
    if (status === 204) expect(operation.responses['204']!.content).toBeUndefined();
    else expect(operation.responses[String(status)]!.content!['application/json']!.schema).toBeDefined();
  });

  it.each(CONTRACT_ROUTES)('%s %s documents its errors in the envelope and bearer security per its access', (method, path, _procedure, _status, access) => {
    const operation = operationOf(doc, method, path);
    const errors = Object.entries(operation.responses).filter(([s]) => Number(s) >= 400);
    for (const [, response] of errors) {
      const schema = response.content!['application/json']!.schema as { $ref?: string; oneOf?: { $ref: string }[] };
      for (const { $ref } of schema.oneOf ?? [schema]) expect($ref).toMatch(/^#\/components\/schemas\/\w+Error$/);
    }
    const statuses = errors.map(([s]) => Number(s));
    expect(statuses).toEqual(expect.arrayContaining([500, 503]));
    if (['POST', 'PUT', 'PATCH'].includes(method)) expect(statuses).toEqual(expect.arrayContaining([400, 413, 415]));
    if (path.includes('{')) expect(statuses).toContain(404);

    if (access === 'public') {
      expect(operation.security).toBeUndefined();
      expect(statuses).not.toContain(403);
    } else {
      expect(operation.security).toEqual([{ bearerAuth: [] }]);
      expect(operation.responses['401']!.description).toContain('UNAUTHORIZED');
      if (access === 'admin') expect(operation.responses['403']!.description).toBe('FORBIDDEN');
      else expect(statuses).not.toContain(403);
    }
  });

  it('documents product attributes as a map of strings, numbers and booleans, and the output check enforces it', () => {
    const product = doc.components.schemas.Product as { properties: Record<string, unknown>; required: string[] };
    expect(product.properties.attributes).toEqual({
      type: 'object',
      additionalProperties: { anyOf: [{ type: 'string' }, { type: 'number' }, { type: 'boolean' }] },
    });
    expect(product.required).toContain('attributes');
    const valid = { id: 'p', name: 'n', description: '', price: 1, currency: 'EUR', imageUrl: null, category: null, stock: 0, createdAt: 't', updatedAt: 't' };
    expect(productOutput.safeParse({ ...valid, attributes: { color: 'red', weight: 1.5, waterproof: false } }).success).toBe(true);
    for (const attributes of [{ nested: { a: 1 } }, { list: [1] }, { missing: null }, { infinite: Infinity }, [], null]) {
      expect(productOutput.safeParse({ ...valid, attributes }).success).toBe(false);
    }
  });

  describe('query parameters are declared as what a REST client sends (Swagger UI refuses type arrays)', () => {
    const parametersOf = (method: string, path: string) => operationOf(doc, method, path).parameters ?? [];
    const queryOf = (method: string, path: string) => new Map(parametersOf(method, path).filter((p) => p.in === 'query').map((p) => [p.name, p]));
    const PAGINATED: [string, string][] = [
      ['GET', '/api/products'],
      ['GET', '/api/products/search'],
      ['GET', '/api/orders'],
      ['GET', '/api/promo-codes'],
    ];

    it('no parameter anywhere has a type array or a union', () => {
      for (const [method, path] of CONTRACT_ROUTES) {
        for (const parameter of parametersOf(method, path)) {
          expect(typeof parameter.schema.type, `${method} ${path} ${parameter.name}`).toBe('string');
          expect(parameter.schema, `${method} ${path} ${parameter.name}`).not.toHaveProperty('anyOf');
        }
      }
    });

    it.each(PAGINATED)('%s %s: page is a required integer from 1, limit an integer 1-100 defaulting to 20', (method, path) => {
      const query = queryOf(method, path);
      expect(query.get('page')).toMatchObject({ required: true, schema: { type: 'integer', minimum: 1 } });
      expect(query.get('page')!.schema).not.toHaveProperty('maximum');
      expect(query.get('limit')!.required).toBeFalsy();
      expect(query.get('limit')!.schema).toMatchObject({ type: 'integer', minimum: 1, maximum: 100, default: 20 });
    });

    it.each([['GET', '/api/products'], ['GET', '/api/products/search']])('%s %s: price bounds are numbers, inStock a boolean', (method, path) => {
      const query = queryOf(method, path);
      for (const name of ['minPrice', 'maxPrice']) expect(query.get(name)!.schema).toMatchObject({ type: 'number', minimum: 0, maximum: 1_000_000 });
      expect(query.get('inStock')!.schema).toEqual({ type: 'boolean', description: expect.any(String) });
      expect(query.get('category')!.schema.type).toBe('string');
    });

    it('sort is an enum of the contract orders, newest by default; search takes q and no sort', () => {
      expect(queryOf('GET', '/api/products').get('sort')!.schema).toMatchObject({
        type: 'string',
        enum: ['newest', 'price_asc', 'price_desc', 'name_asc'],
        default: 'newest',
      });
      const search = queryOf('GET', '/api/products/search');
      expect(search.has('sort')).toBe(false);
      expect(search.get('q')).toMatchObject({ required: true, schema: { type: 'string', minLength: 1, maxLength: 100 } });
    });

    it('every query parameter has a description', () => {
      for (const [method, path] of PAGINATED) {
        for (const parameter of queryOf(method, path).values()) expect(parameter.description, `${method} ${path} ${parameter.name}`).toMatch(/\w/);
      }
    });

    it('the server keeps parsing them strictly: what the document types as integer is not coerced', async () => {
      for (const query of ['page=1.5', 'page=abc', 'page=', 'page=1&limit=0', 'page=1&inStock=yes', 'page=1&minPrice=1.001']) {
        const res = await h.request(`/api/products?${query}`);
        expect(res.status, query).toBe(400);
      }
      expect((await h.request('/api/products?page=1&limit=2&inStock=false&minPrice=0&maxPrice=10.5&sort=price_asc')).status).toBe(200);
    });
  });

  describe('domain objects are named components, referenced instead of copied', () => {
    const DOMAIN_OBJECTS = ['Product', 'ProductPage', 'Cart', 'CartItem', 'Order', 'OrderItem', 'OrderPage', 'PromoCode', 'PromoCodePage', 'User', 'AuthSession'];
    const ref = (name: string) => ({ $ref: `#/components/schemas/${name}` });
    const successSchema = (method: string, path: string) =>
      Object.entries(operationOf(doc, method, path).responses).find(([s]) => Number(s) < 300)![1].content?.['application/json']?.schema;

    /** Every object schema in the document with a JSON pointer-ish location. */
    function objectSchemas(): { at: string; schema: { properties: Record<string, unknown> } }[] {
      const found: { at: string; schema: { properties: Record<string, unknown> } }[] = [];
      const walk = (node: unknown, at: string) => {
        if (Array.isArray(node)) return node.forEach((child, i) => walk(child, `${at}/${i}`));
        if (typeof node !== 'object' || node === null) return;
        if ('properties' in node) found.push({ at, schema: node as { properties: Record<string, unknown> } });
        for (const [key, child] of Object.entries(node)) walk(child, `${at}/${key}`);
      };
      walk(doc, '#');
      return found;
    }

    it('each success body is the named component', () => {
      const expected: [string, string, string][] = [
        ['POST', '/api/auth/signup', 'AuthSession'],
        ['POST', '/api/auth/login', 'AuthSession'],
        ['GET', '/api/auth/me', 'User'],
        ['GET', '/api/products', 'ProductPage'],
        ['GET', '/api/products/search', 'ProductPage'],
        ['GET', '/api/products/{id}', 'Product'],
        ['POST', '/api/products', 'Product'],
        ['PUT', '/api/products/{id}', 'Product'],
        ['POST', '/api/checkout', 'Order'],
        ['GET', '/api/orders', 'OrderPage'],
        ['GET', '/api/orders/{id}', 'Order'],
        ['POST', '/api/promo-codes', 'PromoCode'],
        ['GET', '/api/promo-codes', 'PromoCodePage'],
        ['GET', '/api/promo-codes/{id}', 'PromoCode'],
        ['PATCH', '/api/promo-codes/{id}', 'PromoCode'],
      ];
      for (const [method, path, name] of expected) expect(successSchema(method, path), `${method} ${path}`).toEqual(ref(name));
      const cartRoutes = CONTRACT_ROUTES.filter(([, path]) => path.startsWith('/api/cart'));
      expect(cartRoutes).toHaveLength(7);
      for (const [method, path] of cartRoutes) expect(successSchema(method, path), `${method} ${path}`).toEqual(ref('Cart'));
    });

    it('pages and objects nest by reference', () => {
      const { schemas } = doc.components;
      expect(schemas.ProductPage.properties.items.items).toEqual(ref('Product'));
      expect(schemas.OrderPage.properties.items.items).toEqual(ref('Order'));
      expect(schemas.PromoCodePage.properties.items.items).toEqual(ref('PromoCode'));
      expect(schemas.Cart.properties.items.items).toEqual(ref('CartItem'));
      expect(schemas.Order.properties.items.items).toEqual(ref('OrderItem'));
      expect(schemas.AuthSession.properties.user).toEqual(ref('User'));
      for (const name of ['ProductPage', 'OrderPage', 'PromoCodePage']) expect(schemas[name].required).toEqual(['page', 'limit', 'total', 'items']);
    });

    it('no object schema appears twice, and none outside its component has the shape of a domain object', () => {
      const all = objectSchemas();
      const byJson = new Map<string, string[]>();
      for (const { at, schema } of all) byJson.set(JSON.stringify(schema), [...(byJson.get(JSON.stringify(schema)) ?? []), at]);
      expect([...byJson.values()].filter((places) => places.length > 1)).toEqual([]);

      const keysOf = (schema: { properties: object }) => Object.keys(schema.properties).sort().join(',');
      // Pages share their keys by design (they differ in what `items` references).
      const objects = DOMAIN_OBJECTS.filter((name) => !name.endsWith('Page'));
      const domainShapes = new Map(objects.map((name) => [keysOf(doc.components.schemas[name]), name]));
      for (const { at, schema } of all) {
        const copied = domainShapes.get(keysOf(schema));
        if (copied) expect(at, `${at} copies ${copied}`).toBe(`#/components/schemas/${copied}`);
      }
    });

    it('every component is referenced, and the generator\'s own error schemas are gone', () => {
      const text = JSON.stringify(doc.paths) + JSON.stringify(doc.components.schemas);
      for (const name of Object.keys(doc.components.schemas)) {
        expect(name, name).not.toMatch(/^error\./);
        expect(text, name).toContain(`"#/components/schemas/${name}"`);
      }
    });

    it('shows no ±2^53 integer bound anywhere (Swagger UI would use it as the example)', () => {
      expect(JSON.stringify(doc)).not.toContain(String(Number.MAX_SAFE_INTEGER));
    });
  });

  it('marks each procedure with the access its middleware enforces', () => {
    const expected = new Map(CONTRACT_ROUTES.map(([method, path, , , access]) => [`${method} ${path}`, access]));
    for (const route of servedRoutes()) expect(route.meta.access, `${route.method} ${route.path}`).toBe(expected.get(`${route.method} ${route.path}`));
  });
});

describe('GET /docs', () => {
  it('serves the swagger-ui page with every asset from this server, none from a CDN', async () => {
    const redirect = await fetch(`${h.baseUrl}/docs`, { redirect: 'manual' });
    expect([200, 301, 302]).toContain(redirect.status);
    const page = await fetch(`${h.baseUrl}/docs`);
    expect(page.status).toBe(200);
    expect(page.headers.get('content-type')).toMatch(/^text\/html/);
    const html = await page.text();
    expect(html).toContain('swagger-ui');

    const assets = [...html.matchAll(/<(?:script|link)\b[^>]*?(?:src|href)="([^"]+)"/g)].map((m) => m[1]!);
    expect(assets.length).toBeGreaterThanOrEqual(3);
    for (const asset of assets) {
      expect(asset, asset).not.toMatch(/^(https?:)?\/\//);
      const res = await fetch(new URL(asset, page.url));
      expect(res.status, asset).toBe(200);
    }
    const init = await (await fetch(new URL('./swagger-ui-init.js', page.url))).text();
    expect(init).toContain('/api/products/search');
  });
});
