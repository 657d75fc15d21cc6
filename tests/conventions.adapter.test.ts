import type { AddressInfo } from 'node:net';
import type { Server } from 'node:http';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { createApp } from '../src/app.js';
import { notFound } from '../src/errors.js';
import { idParam, pagination, queryBoolean } from '../src/routers/shared/schemas.js';
import { adminProcedure, publicProcedure, router } from '../src/trpc.js';
import { createHarness, expectErrorEnvelope, type Harness, type TestResponse } from './support/harness.js';

/**
 * The REST layer's conventions, independent of any feature: a small router of
 * probe procedures (numbers and booleans in bodies, an admin route with a path id,
 * 201/204 successes, a paginated query) served through the real app.
 */

const numbersInput = z.strictObject({
  quantity: z.number().int().min(1).max(99),
  flag: z.boolean(),
  nested: z.strictObject({ amount: z.number() }).optional(),
});

const thingInput = z.strictObject({ id: idParam, name: z.string().trim().min(1).max(20) });

const probeRouter = router({
  probe: router({
    numbers: publicProcedure
      .meta({ openapi: { method: 'POST', path: '/api/probe/numbers', protect: false } })
      .input(numbersInput)
      .output(numbersInput)
      .mutation(({ input }) => input),
    list: publicProcedure
      .meta({ openapi: { method: 'GET', path: '/api/probe/items', protect: false } })
      .input(z.object({ ...pagination, inStock: queryBoolean().optional() }))
      .output(z.object({ page: z.number(), limit: z.number(), inStock: z.boolean().nullable() }))
      .query(({ input }) => ({ page: input.page, limit: input.limit, inStock: input.inStock ?? null })),
    create: adminProcedure
      .meta({ openapi: { method: 'POST', path: '/api/probe/things' }, successStatus: 201 })
      .input(z.strictObject({ name: z.string().trim().min(1).max(20) }))
      .output(z.object({ id: z.string(), name: z.string() }))
      .mutation(({ ctx, input }) => {
        const id = '0b7f3a52-9a3c-4f5e-8d2b-1c2d3e4f5a6b';
        ctx.responseHeaders['Location'] = `/api/probe/things/${id}`;
        return { id, name: input.name };
      }),
    replace: adminProcedure
      .meta({ openapi: { method: 'PUT', path: '/api/probe/things/{id}' } })
      .input(thingInput)
      .output(z.object({ id: z.string(), name: z.string() }))
      .mutation(() => {
        throw notFound('Thing');
      }),
    remove: adminProcedure
      .meta({ openapi: { method: 'DELETE', path: '/api/probe/things/{id}' }, successStatus: 204 })
      .input(z.object({ id: idParam }))
      .output(z.void())
      .mutation(() => undefined),
  }),
});

let h: Harness;
let server: Server;
let baseUrl: string;
let customerToken: string;
let adminToken: string;

beforeAll(async () => {
  h = await createHarness();
  const app = createApp({ orm: h.db.orm, config: h.config, logger: pino({ level: 'silent' }), router: probeRouter });
  server = await new Promise((resolve) => {
    const s = app.listen(0, '127.0.0.1', () => resolve(s));
  });
  baseUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  customerToken = (await h.createUser()).token;
  adminToken = (await h.createUser({ role: 'admin' })).token;
});
afterAll(async () => {
  server.closeAllConnections();
  await new Promise((resolve) => server.close(resolve));
  await h.close();
});

async function call(path: string, init: { method?: string; token?: string; json?: unknown; headers?: Record<string, string> } = {}): Promise<TestResponse> {
  const headers = new Headers(init.headers);
  if (init.token) headers.set('Authorization', `Bearer ${init.token}`);
  if (init.json !== undefined) headers.set('Content-Type', 'application/json');
  const res = await fetch(`${baseUrl}${path}`, {
    method: init.method ?? 'GET',
    headers,
    body: init.json === undefined ? undefined : JSON.stringify(init.json),
  });
  const text = await res.text();
  return { status: res.status, headers: res.headers, body: text ? JSON.parse(text) : undefined, text };
}

const fieldsOf = (res: TestResponse) => (expectErrorEnvelope(res, 400, 'VALIDATION_ERROR').details as { field: string }[]).map((d) => d.field).sort();

describe('bodies keep their JSON types', () => {
  it('accepts the right types', async () => {
    const res = await call('/api/probe/numbers', { method: 'POST', json: { quantity: 2, flag: false, nested: { amount: 1.5 } } });
    expect(res.status).toBe(200);
    expect(res.body).toEqual({ quantity: 2, flag: false, nested: { amount: 1.5 } });
  });

  it.each([
    [{ quantity: '2', flag: false }, ['quantity']],
    [{ quantity: null, flag: false }, ['quantity']],
    [{ quantity: true, flag: false }, ['quantity']],
    [{ quantity: 2, flag: 'false' }, ['flag']],
    [{ quantity: 2, flag: 0 }, ['flag']],
    [{ quantity: 2, flag: true, nested: { amount: '3' } }, ['nested.amount']],
    [{ quantity: 2, flag: true, nested: { amount: 3, extra: 1 } }, ['nested.extra']],
  ])('rejects %j naming %j', async (json, fields) => {
    expect(fieldsOf(await call('/api/probe/numbers', { method: 'POST', json }))).toEqual(fields);
  });

  it('stays strict over /trpc after the REST adapter has served the same procedure', async () => {
    await call('/api/probe/numbers', { method: 'POST', json: { quantity: 2, flag: true } });
    const res = await fetch(`${baseUrl}/trpc/probe.numbers`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({ quantity: '2', flag: 'false' }),
    });
    expect(res.status).toBe(400);
    const body = (await res.json()) as { error: { data: { appCode: string; details: { field: string }[] } } };
    expect(body.error.data.appCode).toBe('VALIDATION_ERROR');
    expect(body.error.data.details.map((d) => d.field).sort()).toEqual(['flag', 'quantity']);
  });
});

describe('query parameters', () => {
  it('parses known parameters, applies defaults and ignores unknown ones', async () => {
    const res = await call('/api/probe/items?page=2&inStock=false&unknown=1&unknown=2');
    expect(res.body).toEqual({ page: 2, limit: 20, inStock: false });
  });

  it.each([
    ['page=1&page=2', ['page']],
    ['page=1&limit=10&limit=10', ['limit']],
    ['page=1&inStock=true&inStock=true', ['inStock']],
    ['', ['page']],
    ['page=', ['page']],
    ['page=0', ['page']],
    ['page=1.5', ['page']],
    ['page=abc', ['page']],
    ['page=1&limit=101', ['limit']],
    ['page=1&inStock=yes', ['inStock']],
  ])('rejects ?%s naming %j', async (query, fields) => {
    expect(fieldsOf(await call(`/api/probe/items?${query}`))).toEqual(fields);
  });
});

describe('order of checks', () => {
  it('answers a customer’s invalid admin request with 403, not 400 or 404', async () => {
    const res = await call('/api/probe/things/not-a-uuid', { method: 'PUT', token: customerToken, json: { name: '', bogus: 1 } });
    expectErrorEnvelope(res, 403, 'FORBIDDEN');
  });

  it('answers a missing token before a wrong media type or an oversized body', async () => {
    const wrongType = await fetch(`${baseUrl}/api/probe/things`, { method: 'POST', headers: { 'Content-Type': 'text/plain' }, body: 'x' });
    expect(wrongType.status).toBe(401);
    const huge = await call('/api/probe/things', { method: 'POST', json: { name: 'x'.repeat(200_000) } });
    expectErrorEnvelope(huge, 401, 'UNAUTHORIZED');
  });

  it('answers a customer’s wrong media type with 403, and an admin’s with 415', async () => {
    const init = (token: string) => ({ method: 'POST', headers: { 'Content-Type': 'text/plain', Authorization: `Bearer ${token}` }, body: 'x' });
    expect((await fetch(`${baseUrl}/api/probe/things`, init(customerToken))).status).toBe(403);
    expect((await fetch(`${baseUrl}/api/probe/things`, init(adminToken))).status).toBe(415);
  });

  it('answers an invalid body on a missing resource with 400, a valid one with 404', async () => {
    const invalid = await call('/api/probe/things/00000000-0000-4000-8000-000000000000', { method: 'PUT', token: adminToken, json: { name: '' } });
    expect(fieldsOf(invalid)).toEqual(['name']);
    const valid = await call('/api/probe/things/00000000-0000-4000-8000-000000000000', { method: 'PUT', token: adminToken, json: { name: 'ok' } });
    expectErrorEnvelope(valid, 404, 'NOT_FOUND');
    const malformedId = await call('/api/probe/things/nope', { method: 'PUT', token: adminToken, json: { name: 'ok' } });
    expectErrorEnvelope(malformedId, 404, 'NOT_FOUND');
  });

  it('refuses an unknown body field even with a valid admin token', async () => {
    const res = await call('/api/probe/things', { method: 'POST', token: adminToken, json: { name: 'ok', colour: 'red' } });
    expect(fieldsOf(res)).toEqual(['colour']);
  });
});

describe('success statuses and headers', () => {
  it('answers a creation with 201 and its Location header', async () => {
    const res = await call('/api/probe/things', { method: 'POST', token: adminToken, json: { name: '  widget ' } });
    expect(res.status).toBe(201);
    expect(res.headers.get('location')).toBe(`/api/probe/things/${res.body.id}`);
    expect(res.body).toEqual({ id: res.body.id, name: 'widget' });
  });

  it('answers a deletion with 204, no body and no Content-Type, with or without an empty JSON body', async () => {
    const res = await fetch(`${baseUrl}/api/probe/things/0b7f3a52-9a3c-4f5e-8d2b-1c2d3e4f5a6b`, { method: 'DELETE', headers: { Authorization: `Bearer ${adminToken}` } });
    expect(res.status).toBe(204);
    expect(await res.text()).toBe('');
    expect(res.headers.get('content-type')).toBeNull();
    expect(res.headers.get('x-request-id')).toBeTruthy();
  });

  it('lists every method of a path in the Allow header of a 405', async () => {
    const res = await call('/api/probe/things/anything', { method: 'PATCH', token: adminToken, json: {} });
    expectErrorEnvelope(res, 405, 'METHOD_NOT_ALLOWED');
    expect(res.headers.get('allow')).toBe('PUT, DELETE');
    const collection = await call('/api/probe/things', { method: 'GET' });
    expect(collection.headers.get('allow')).toBe('POST');
  });
});
