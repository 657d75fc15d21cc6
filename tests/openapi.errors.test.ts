import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { APP_ERROR_STATUS, type AppErrorCode } from '../src/errors.js';
import { expectErrorEnvelope, type HttpHarness, type TestResponse } from './support/harness.js';
import { documentedCodes, operationOf, operationsOf, serveOpenApiDocument, type OpenApiDocument, type ResponseObject, type SchemaValidator } from './support/openapi-document.js';

/**
 * The error responses of the OpenAPI document: each status lists exactly the codes
 * the operation answers with (contract §2–§8), `details` typed per code, examples
 * that are what the server sends, and real error bodies that match the document.
 */

let h: HttpHarness;
let doc: OpenApiDocument;
let validate: SchemaValidator;

beforeAll(async () => ({ h, doc, validate } = await serveOpenApiDocument()));
afterAll(() => h.close());

const errorResponsesOf = (method: string, path: string): [number, ResponseObject][] =>
  Object.entries(operationOf(doc, method, path).responses)
    .filter(([status]) => Number(status) >= 400)
    .map(([status, response]) => [Number(status), response]);

const codesOf = (method: string, path: string): Set<string> =>
  new Set(errorResponsesOf(method, path).flatMap(([, response]) => documentedCodes(doc, response)));

/** The codes a route answers with beyond auth, validation, 413/415 and 500/503 (contract §3–§8). */
const ROUTE_SPECIFIC: [string, string, AppErrorCode[]][] = [
  ['POST', '/api/auth/signup', ['USERNAME_TAKEN', 'RATE_LIMITED']],
  ['POST', '/api/auth/login', ['INVALID_CREDENTIALS', 'RATE_LIMITED']],
  ['POST', '/api/cart/items', ['NOT_FOUND', 'INSUFFICIENT_STOCK']],
  ['PATCH', '/api/cart/items/{itemId}', ['NOT_FOUND', 'INSUFFICIENT_STOCK']],
  ['POST', '/api/cart/promo-code', ['PROMO_CODE_INVALID']],
  ['POST', '/api/checkout', ['CART_EMPTY', 'INSUFFICIENT_STOCK', 'PROMO_CODE_INVALID', 'IDEMPOTENCY_KEY_REUSED']],
  ['POST', '/api/promo-codes', ['PROMO_CODE_TAKEN']],
];
const CONFLICTS_AND_LIMITS = new Set<string>(['INVALID_CREDENTIALS', 'USERNAME_TAKEN', 'INSUFFICIENT_STOCK', 'CART_EMPTY', 'PROMO_CODE_INVALID', 'PROMO_CODE_TAKEN', 'IDEMPOTENCY_KEY_REUSED', 'RATE_LIMITED']);

describe('documented error responses', () => {
  it('each status lists only codes of that status, each with its own example of what the server sends', () => {
    for (const { method, path } of operationsOf(doc)) {
      for (const [status, response] of errorResponsesOf(method, path)) {
        const codes = documentedCodes(doc, response);
        const where = `${method} ${path} ${status}`;
        expect(codes.length, where).toBeGreaterThan(0);
        for (const code of codes) expect(APP_ERROR_STATUS[code as AppErrorCode], `${where} ${code}`).toBe(status);
        const media = response.content!['application/json']!;
        expect(Object.keys(media.examples!).sort(), where).toEqual([...codes].sort());
        for (const [code, example] of Object.entries(media.examples!)) {
          expect((example.value as { error: { code: string } }).error.code, where).toBe(code);
          expect(validate(media.schema!, example.value), `${where} ${code}`).toEqual([]);
        }
        expect(response.description, where).toBe(codes.join(' or '));
      }
    }
  });

  it.each(ROUTE_SPECIFIC)('%s %s lists its own conflicts and limits', (method, path, expected) => {
    const codes = codesOf(method, path);
    for (const code of expected) expect(codes, code).toContain(code);
  });

  it('no route lists a conflict or limit the contract does not give it', () => {
    const specific = new Map(ROUTE_SPECIFIC.map(([method, path, codes]) => [`${method} ${path}`, new Set<string>(codes)]));
    for (const { method, path } of operationsOf(doc)) {
      const allowed = specific.get(`${method} ${path}`) ?? new Set();
      for (const code of codesOf(method, path)) if (CONFLICTS_AND_LIMITS.has(code)) expect(allowed, `${method} ${path} ${code}`).toContain(code);
    }
  });

  it('details are typed per code: field issues, stock lines, the promo reason, the taken code', () => {
    const { schemas } = doc.components;
    const errorOf = (name: string) => (schemas[name] as { properties: { error: { required: string[]; properties: Record<string, Record<string, unknown>> } } }).properties.error;
    expect(errorOf('ValidationError').properties.details).toMatchObject({ type: 'array', items: { $ref: '#/components/schemas/FieldIssue' } });
    expect(schemas.FieldIssue).toMatchObject({ required: ['field', 'message'] });
    expect(errorOf('InsufficientStockError').properties.details).toMatchObject({ type: 'array', items: { $ref: '#/components/schemas/StockShortfall' } });
    expect(schemas.StockShortfall).toMatchObject({ required: ['productId', 'requested', 'available'] });
    expect(errorOf('PromoCodeInvalidError').properties.details).toMatchObject({
      required: ['reason'],
      properties: { reason: { enum: ['not_found', 'inactive', 'expired', 'not_started', 'exhausted', 'already_used', 'min_subtotal_not_met'] } },
    });
    expect(errorOf('PromoCodeTakenError').properties.details).toMatchObject({ required: ['code'] });
    for (const name of ['InsufficientStockError', 'PromoCodeInvalidError', 'PromoCodeTakenError']) expect(errorOf(name).required, name).toContain('details');
    for (const name of ['CartEmptyError', 'NotFoundError', 'UnauthorizedError', 'UsernameTakenError', 'InternalError']) {
      expect(errorOf(name).properties, name).not.toHaveProperty('details');
    }

    const checkoutConflict = operationOf(doc, 'POST', '/api/checkout').responses['409']!.content!['application/json']!.schema!;
    const envelope = (code: string, details?: unknown) => ({ error: { code, message: 'm', requestId: 'r', ...(details === undefined ? {} : { details }) } });
    expect(validate(checkoutConflict, envelope('INSUFFICIENT_STOCK', [{ productId: 'p', requested: 2, available: 1 }]))).toEqual([]);
    expect(validate(checkoutConflict, envelope('CART_EMPTY'))).toEqual([]);
    for (const wrong of [envelope('INSUFFICIENT_STOCK', { reason: 'expired' }), envelope('PROMO_CODE_INVALID', { reason: 'typo' }), envelope('USERNAME_TAKEN'), envelope('INSUFFICIENT_STOCK')]) {
      expect(validate(checkoutConflict, wrong), JSON.stringify(wrong)).not.toEqual([]);
    }
  });

  it('every 401 carries WWW-Authenticate and every 429 Retry-After', () => {
    for (const { method, path } of operationsOf(doc)) {
      const responses = new Map(errorResponsesOf(method, path));
      if (responses.has(401)) expect(responses.get(401)!.headers?.['WWW-Authenticate']?.required, `${method} ${path}`).toBe(true);
      if (responses.has(429)) expect(responses.get(429)!.headers?.['Retry-After']?.required, `${method} ${path}`).toBe(true);
    }
  });
});

describe('what the server really answers matches the documented envelope of that code', () => {
  /** Validates a real error response against the operation's documented response for its status. */
  function expectDocumented(method: string, path: string, res: TestResponse, code: string) {
    expectErrorEnvelope(res, APP_ERROR_STATUS[code as AppErrorCode], code);
    const response = operationOf(doc, method, path).responses[String(res.status)];
    expect(response, `${method} ${path} ${res.status}`).toBeDefined();
    expect(documentedCodes(doc, response!)).toContain(code);
    expect(validate(response!.content!['application/json']!.schema!, res.body), `${method} ${path} ${res.text}`).toEqual([]);
  }

  it('validation, auth, not found and the cart and checkout conflicts', async () => {
    const { token: adminToken } = await h.createUser({ role: 'admin' });
    const { token } = await h.createUser();
    const created = await h.request('/api/products', { method: 'POST', token: adminToken, json: { name: 'Lamp', price: 20, stock: 1 } });
    expect(created.status).toBe(201);
    const productId = (created.body as { id: string }).id;

    expectDocumented('GET', '/api/products', await h.request('/api/products?page=0'), 'VALIDATION_ERROR');
    expectDocumented('GET', '/api/cart', await h.request('/api/cart'), 'UNAUTHORIZED');
    expectDocumented('POST', '/api/products', await h.request('/api/products', { method: 'POST', token, json: {} }), 'FORBIDDEN');
    expectDocumented('GET', '/api/products/{id}', await h.request('/api/products/nope'), 'NOT_FOUND');
    expectDocumented('POST', '/api/checkout', await h.request('/api/checkout', { method: 'POST', token }), 'CART_EMPTY');
    expectDocumented(
      'POST',
      '/api/cart/items',
      await h.request('/api/cart/items', { method: 'POST', token, json: { productId, quantity: 2 } }),
      'INSUFFICIENT_STOCK',
    );
    expectDocumented('POST', '/api/cart/promo-code', await h.request('/api/cart/promo-code', { method: 'POST', token, json: { code: 'NOPE' } }), 'PROMO_CODE_INVALID');
    expectDocumented('POST', '/api/auth/login', await h.request('/api/auth/login', { method: 'POST', json: { username: 'nobody', password: 'x' } }), 'INVALID_CREDENTIALS');
    expectDocumented(
      'POST',
      '/api/cart/items',
      await h.request('/api/cart/items', { method: 'POST', token, headers: { 'Content-Type': 'text/plain' }, body: 'x' }),
      'UNSUPPORTED_MEDIA_TYPE',
    );

    const promo = { code: 'TAKEN10', type: 'percent', value: 10 };
    expect((await h.request('/api/promo-codes', { method: 'POST', token: adminToken, json: promo })).status).toBe(201);
    expectDocumented('POST', '/api/promo-codes', await h.request('/api/promo-codes', { method: 'POST', token: adminToken, json: promo }), 'PROMO_CODE_TAKEN');
  });
});
