import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { HttpHarness } from './support/harness.js';
import { operationOf, operationsOf, serveOpenApiDocument, type JsonSchema, type OpenApiDocument } from './support/openapi-document.js';

/**
 * Request bodies and success headers of the OpenAPI document, held against what
 * the server does: strictness, Location on 201, the idempotency headers, formats.
 */

let h: HttpHarness;
let doc: OpenApiDocument;
let adminToken: string;

beforeAll(async () => {
  ({ h, doc } = await serveOpenApiDocument());
  adminToken = (await h.createUser({ role: 'admin' })).token;
});
afterAll(() => h.close());

const bodySchemaOf = (method: string, path: string) => operationOf(doc, method, path).requestBody?.content['application/json']?.schema;

/** A body each operation accepts (validation runs before existence, so path ids need not exist). */
const VALID_BODIES: Record<string, Record<string, unknown>> = {
  'POST /api/auth/signup': { username: 'strict_probe', password: 'long enough password' },
  'POST /api/auth/login': { username: 'strict_probe', password: 'long enough password' },
  'POST /api/products': { name: 'Lamp', price: 19.99 },
  'PUT /api/products/{id}': { name: 'Lamp', price: 19.99, stock: 3 },
  'POST /api/cart/items': { productId: randomUUID() },
  'PATCH /api/cart/items/{itemId}': { quantity: 2 },
  'POST /api/cart/promo-code': { code: 'SAVE10' },
  'POST /api/checkout': {},
  'POST /api/promo-codes': { code: 'STRICT10', type: 'percent', value: 10 },
  'PATCH /api/promo-codes/{id}': { active: false },
};

const concretePath = (path: string) => path.replace(/\{\w+\}/g, () => randomUUID());

describe('request bodies', () => {
  const withBodies = () => operationsOf(doc).filter(({ operation }) => operation.requestBody);

  it('the table above covers every operation with a body', () => {
    expect(withBodies().map(({ method, path }) => `${method} ${path}`).sort()).toEqual(Object.keys(VALID_BODIES).sort());
  });

  it('say additionalProperties: false exactly where the server answers 400 to an unknown field', async () => {
    for (const { method, path } of withBodies()) {
      const where = `${method} ${path}`;
      const res = await h.request(concretePath(path), { method, token: adminToken, json: { ...VALID_BODIES[where], unknownProbe: 1 } });
      const refused = res.status === 400 && (res.body.error.details as { field: string }[]).some((issue) => issue.field === 'unknownProbe');
      expect(bodySchemaOf(method, path)!.additionalProperties === false, `${where} answered ${res.status} ${res.text}`).toBe(refused);
    }
  });

  it('the contract rejects unknown fields in every body, so every body says so', () => {
    for (const { method, path } of withBodies()) expect(bodySchemaOf(method, path)!.additionalProperties, `${method} ${path}`).toBe(false);
  });

  it('checkout documents its optional body and the Idempotency-Key request header', () => {
    const checkout = operationOf(doc, 'POST', '/api/checkout');
    expect(checkout.requestBody!.required).toBe(false);
    expect(checkout.parameters).toContainEqual(
      expect.objectContaining({ in: 'header', name: 'Idempotency-Key', description: expect.any(String), schema: expect.objectContaining({ type: 'string' }) }),
    );
  });
});

describe('201 responses', () => {
  const created = () => operationsOf(doc).filter(({ operation }) => operation.responses['201']);
  const LOCATIONS: Record<string, RegExp> = {
    'POST /api/products': /^\/api\/products\/[0-9a-f-]{36}$/,
    'POST /api/promo-codes': /^\/api\/promo-codes\/[0-9a-f-]{36}$/,
    'POST /api/checkout': /^\/api\/orders\/[0-9a-f-]{36}$/,
  };

  it('every 201 documents a required Location header, except signup, for which the contract names none', () => {
    expect(created().map(({ method, path }) => `${method} ${path}`).sort()).toEqual([...Object.keys(LOCATIONS), 'POST /api/auth/signup'].sort());
    for (const { method, path, operation } of created()) {
      const location = operation.responses['201']!.headers?.Location;
      if (path === '/api/auth/signup') expect(location).toBeUndefined();
      else expect(location, `${method} ${path}`).toMatchObject({ required: true, schema: { type: 'string' } });
    }
  });

  it('the server sends exactly those Location headers, and the checkout replay header', async () => {
    const product = await h.request('/api/products', { method: 'POST', token: adminToken, json: { name: 'Mug', price: 5, stock: 5 } });
    expect(product.headers.get('location')).toMatch(LOCATIONS['POST /api/products']!);
    const promo = await h.request('/api/promo-codes', { method: 'POST', token: adminToken, json: { code: 'LOC10', type: 'fixed', value: 1 } });
    expect(promo.headers.get('location')).toMatch(LOCATIONS['POST /api/promo-codes']!);

    const signup = await h.request('/api/auth/signup', { method: 'POST', json: { username: 'located', password: 'long enough password' } });
    expect(signup.status).toBe(201);
    expect(signup.headers.get('location')).toBeNull();

    const { token } = await h.createUser();
    await h.request('/api/cart/items', { method: 'POST', token, json: { productId: product.body.id } });
    const headers = { 'Idempotency-Key': 'doc-probe-1' };
    const first = await h.request('/api/checkout', { method: 'POST', token, headers });
    expect(first.status).toBe(201);
    expect(first.headers.get('location')).toMatch(LOCATIONS['POST /api/checkout']!);
    expect(first.headers.get('idempotent-replayed')).toBeNull();
    const replay = await h.request('/api/checkout', { method: 'POST', token, headers });
    expect(replay.headers.get('idempotent-replayed')).toBe('true');

    const documented = operationOf(doc, 'POST', '/api/checkout').responses['201']!.headers!['Idempotent-Replayed']!;
    expect(documented.required).toBeFalsy();
    expect(documented.schema).toMatchObject({ type: 'string', const: 'true' });
  });
});

describe('formats', () => {
  const property = (component: string, name: string) => {
    const schema = (doc.components.schemas[component] as { properties: Record<string, JsonSchema> }).properties[name]!;
    return (schema.anyOf as JsonSchema[] | undefined)?.find((branch) => branch.type === 'string') ?? schema;
  };

  it('ids are uuids, times date-times and image URLs uris, in outputs and inputs', () => {
    for (const component of ['Product', 'Cart', 'CartItem', 'Order', 'PromoCode', 'User']) expect(property(component, 'id').format, component).toBe('uuid');
    for (const [component, name] of [['CartItem', 'productId'], ['OrderItem', 'productId'], ['StockShortfall', 'productId']]) expect(property(component!, name!).format).toBe('uuid');
    for (const [component, name] of [['Product', 'createdAt'], ['Product', 'updatedAt'], ['Cart', 'updatedAt'], ['Order', 'createdAt'], ['PromoCode', 'startsAt'], ['PromoCode', 'expiresAt'], ['User', 'createdAt']]) {
      expect(property(component!, name!).format, `${component}.${name}`).toBe('date-time');
    }
    expect(property('Product', 'imageUrl').format).toBe('uri');
    expect(property('CartItem', 'imageUrl').format).toBe('uri');

    const bodyProperty = (method: string, path: string, name: string) => {
      const schema = (bodySchemaOf(method, path)!.properties as Record<string, JsonSchema>)[name]!;
      return (schema.anyOf as JsonSchema[] | undefined)?.find((branch) => branch.type === 'string') ?? schema;
    };
    expect(bodyProperty('POST', '/api/products', 'imageUrl').format).toBe('uri');
    expect(bodyProperty('POST', '/api/cart/items', 'productId').format).toBe('uuid');
    for (const name of ['startsAt', 'expiresAt']) expect(bodyProperty('POST', '/api/promo-codes', name).format).toBe('date-time');
    for (const { method, path, operation } of operationsOf(doc)) {
      for (const parameter of operation.parameters?.filter((p) => p.in === 'path') ?? []) expect(parameter.schema.format, `${method} ${path}`).toBe('uuid');
    }
  });
});
