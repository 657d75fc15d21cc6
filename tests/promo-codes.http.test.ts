import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PromoCode } from '../src/entities/PromoCode.js';
import { ISO_TIMESTAMP } from './support/contract-shapes.js';
import { createHttpHarness, expectErrorEnvelope, type HttpHarness } from './support/harness.js';

let h: HttpHarness;
let adminToken: string;
let customerToken: string;
beforeAll(async () => {
  h = await createHttpHarness();
  adminToken = (await h.createUser({ role: 'admin' })).token;
  customerToken = (await h.createUser()).token;
});
afterAll(() => h.close());

const MISSING_ID = '00000000-0000-4000-8000-000000000000';
let counter = 0;
const uniqueCode = () => `HTTP${++counter}_${Math.random().toString(36).slice(2, 7)}`.toUpperCase();

const create = (json: unknown, token = adminToken) => h.request('/api/promo-codes', { method: 'POST', token, json });
const patch = (id: string, json: unknown, token = adminToken) => h.request(`/api/promo-codes/${id}`, { method: 'PATCH', token, json });
const remove = (id: string, token = adminToken) => h.request(`/api/promo-codes/${id}`, { method: 'DELETE', token });

function expectFields(res: Awaited<ReturnType<typeof create>>, fields: string[]) {
  const error = expectErrorEnvelope(res, 400, 'VALIDATION_ERROR');
  expect((error.details as { field: string }[]).map((d) => d.field).sort()).toEqual([...fields].sort());
}

describe('POST /api/promo-codes', () => {
  it('creates a code: 201, Location, the PromoCode shape', async () => {
    const res = await create({ code: 'welcome-5', type: 'fixed', value: 5.5, expiresAt: '2026-12-31T23:59:59+02:00', maxRedemptions: 100, minSubtotal: 20 });
    expect(res.status).toBe(201);
    expect(res.headers.get('content-type')).toMatch(/^application\/json/);
    expect(res.body).toEqual({
      id: expect.any(String),
      code: 'WELCOME-5',
      type: 'fixed',
      value: 5.5,
      active: true,
      startsAt: null,
      expiresAt: '2026-12-31T21:59:59.000Z',
      maxRedemptions: 100,
      redemptions: 0,
      minSubtotal: 20,
      currency: 'EUR',
      createdAt: expect.stringMatching(ISO_TIMESTAMP),
    });
    expect(res.headers.get('location')).toBe(`/api/promo-codes/${res.body.id}`);
    const fetched = await h.request(res.headers.get('location')!, { token: adminToken });
    expect(fetched.status).toBe(200);
    expect(fetched.body).toEqual(res.body);
  });

  it('names every invalid field', async () => {
    const res = await create({
      code: 'x',
      type: 'percent',
      value: 150,
      active: 'true',
      startsAt: '2026-12-31T00:00:00',
      expiresAt: 'soon',
      maxRedemptions: 0,
      minSubtotal: 1.005,
      extra: 1,
    });
    expectFields(res, ['code', 'value', 'active', 'startsAt', 'expiresAt', 'maxRedemptions', 'minSubtotal', 'extra']);
  });

  it('requires code, type and value', async () => {
    const res = await create({});
    const error = expectErrorEnvelope(res, 400, 'VALIDATION_ERROR');
    expect(error.details).toEqual(
      expect.arrayContaining([
        { field: 'code', message: 'Required' },
        { field: 'type', message: expect.any(String) },
        { field: 'value', message: 'Required' },
      ]),
    );
  });

  it('refuses startsAt ≥ expiresAt naming startsAt', async () => {
    expectFields(await create({ code: uniqueCode(), type: 'percent', value: 10, startsAt: '2027-01-01T00:00:00Z', expiresAt: '2026-12-31T00:00:00Z' }), ['startsAt']);
  });

  it('answers a duplicate with 409 PROMO_CODE_TAKEN, also when created concurrently', async () => {
    const code = uniqueCode();
    expect((await create({ code, type: 'percent', value: 10 })).status).toBe(201);
    expectErrorEnvelope(await create({ code: code.toLowerCase(), type: 'percent', value: 10 }), 409, 'PROMO_CODE_TAKEN');

    const raced = uniqueCode();
    const results = await Promise.all(Array.from({ length: 4 }, () => create({ code: raced, type: 'fixed', value: 1 })));
    expect(results.map((r) => r.status).sort()).toEqual([201, 409, 409, 409]);
    for (const r of results.filter((r) => r.status === 409)) expectErrorEnvelope(r, 409, 'PROMO_CODE_TAKEN');
  });

  it('checks role before the body, and the body before conflicts', async () => {
    expectErrorEnvelope(await create({ code: 'x' }, customerToken), 403, 'FORBIDDEN');
    const unauthenticated = await h.request('/api/promo-codes', { method: 'POST', json: { code: 'x' } });
    expectErrorEnvelope(unauthenticated, 401, 'UNAUTHORIZED');
    expect(unauthenticated.headers.get('www-authenticate')).toBe('Bearer');
    expectErrorEnvelope(await h.request('/api/promo-codes', { method: 'POST', token: customerToken, headers: { 'Content-Type': 'text/plain' }, body: 'x' }), 403, 'FORBIDDEN');
    expectErrorEnvelope(await h.request('/api/promo-codes', { method: 'POST', token: adminToken, headers: { 'Content-Type': 'text/plain' }, body: 'x' }), 415, 'UNSUPPORTED_MEDIA_TYPE');
    const code = uniqueCode();
    await create({ code, type: 'percent', value: 10 });
    expectErrorEnvelope(await create({ code, type: 'percent', value: 1000 }), 400, 'VALIDATION_ERROR');
  });
});

describe('GET /api/promo-codes', () => {
  it('returns a strict page, newest first', async () => {
    const first = (await create({ code: uniqueCode(), type: 'percent', value: 1 })).body;
    const second = (await create({ code: uniqueCode(), type: 'percent', value: 2 })).body;
    const em = h.db.orm.em.fork();
    // Make the order independent of how fast the two requests ran.
    await em.nativeUpdate(PromoCode, { id: first.id }, { createdAt: new Date('2030-01-01T00:00:00.000Z') });
    await em.nativeUpdate(PromoCode, { id: second.id }, { createdAt: new Date('2030-01-02T00:00:00.000Z') });

    const res = await h.request('/api/promo-codes?page=1&limit=2', { token: adminToken });
    expect(res.status).toBe(200);
    expect(Object.keys(res.body).sort()).toEqual(['items', 'limit', 'page', 'total']);
    expect(res.body.items.map((i: { id: string }) => i.id)).toEqual([second.id, first.id]);
    expect(res.body.total).toBe(await em.count(PromoCode, { deletedAt: null }));
    expect(res.body.items[0]).toEqual({ ...second, createdAt: '2030-01-02T00:00:00.000Z' });

    const past = await h.request('/api/promo-codes?page=999', { token: adminToken });
    expect(past.body).toEqual({ page: 999, limit: 20, total: res.body.total, items: [] });
  });

  it.each([
    ['', 'page'],
    ['?page=0', 'page'],
    ['?page=-1', 'page'],
    ['?page=1.5', 'page'],
    ['?page=abc', 'page'],
    ['?page=', 'page'],
    ['?page=1&page=2', 'page'],
    ['?page=1&limit=0', 'limit'],
    ['?page=1&limit=101', 'limit'],
    ['?page=1&limit=2&limit=3', 'limit'],
  ])('rejects %s naming %s', async (query, field) => {
    expectFields(await h.request(`/api/promo-codes${query}`, { token: adminToken }), [field]);
  });

  it('is admin only', async () => {
    expectErrorEnvelope(await h.request('/api/promo-codes?page=1', { token: customerToken }), 403, 'FORBIDDEN');
    expectErrorEnvelope(await h.request('/api/promo-codes?page=1'), 401, 'UNAUTHORIZED');
  });
});

describe('GET /api/promo-codes/{id}', () => {
  it('404s for malformed, unknown and deleted ids, and 403s customers first', async () => {
    expectErrorEnvelope(await h.request('/api/promo-codes/not-a-uuid', { token: adminToken }), 404, 'NOT_FOUND');
    expectErrorEnvelope(await h.request(`/api/promo-codes/${MISSING_ID}`, { token: adminToken }), 404, 'NOT_FOUND');
    expectErrorEnvelope(await h.request(`/api/promo-codes/${MISSING_ID}`, { token: customerToken }), 403, 'FORBIDDEN');
    const created = (await create({ code: uniqueCode(), type: 'percent', value: 3 })).body;
    expect((await remove(created.id)).status).toBe(204);
    expectErrorEnvelope(await h.request(`/api/promo-codes/${created.id}`, { token: adminToken }), 404, 'NOT_FOUND');
  });
});

describe('PATCH /api/promo-codes/{id}', () => {
  it('updates the mutable fields and returns the PromoCode', async () => {
    const created = (await create({ code: uniqueCode(), type: 'percent', value: 20, maxRedemptions: 3 })).body;
    const res = await patch(created.id, { active: false, startsAt: '2026-12-01T00:00:00.000+01:00', maxRedemptions: null, minSubtotal: 9.99 });
    expect(res.status).toBe(200);
    expect(res.body).toEqual({ ...created, active: false, startsAt: '2026-11-30T23:00:00.000Z', maxRedemptions: null, minSubtotal: 9.99 });
  });

  it('returns the code unchanged for an empty body', async () => {
    const created = (await create({ code: uniqueCode(), type: 'percent', value: 20 })).body;
    const res = await patch(created.id, {});
    expect(res.status).toBe(200);
    expect(res.body).toEqual(created);
  });

  it('refuses code, type and value naming them', async () => {
    const created = (await create({ code: uniqueCode(), type: 'percent', value: 20 })).body;
    expectFields(await patch(created.id, { code: 'NEWCODE', type: 'fixed', value: 5, active: false }), ['code', 'type', 'value']);
    expect((await h.request(`/api/promo-codes/${created.id}`, { token: adminToken })).body).toEqual(created);
  });

  it('refuses a window the stored bound would make impossible', async () => {
    const created = (await create({ code: uniqueCode(), type: 'percent', value: 20, expiresAt: '2026-12-31T00:00:00Z' })).body;
    expectFields(await patch(created.id, { startsAt: '2026-12-31T00:00:00Z' }), ['startsAt']);
    expectFields(await patch(created.id, { startsAt: '2026-12-31T01:00:00+02:00', expiresAt: '2026-12-30T00:00:00Z' }), ['startsAt']);
  });

  it('orders its checks: 403, then 400, then 404', async () => {
    expectErrorEnvelope(await patch(MISSING_ID, { active: 'no' }, customerToken), 403, 'FORBIDDEN');
    expectFields(await patch(MISSING_ID, { active: 'no' }), ['active']);
    expectErrorEnvelope(await patch(MISSING_ID, { active: false }), 404, 'NOT_FOUND');
    expectErrorEnvelope(await patch('not-a-uuid', { active: false }), 404, 'NOT_FOUND');
    expectErrorEnvelope(await h.request(`/api/promo-codes/${MISSING_ID}`, { method: 'PATCH', token: adminToken, headers: { 'Content-Type': 'application/json' }, body: '{"active":' }), 400, 'VALIDATION_ERROR');
  });
});

describe('DELETE /api/promo-codes/{id}', () => {
  it('answers 204 without a body, then 404; the code text can be reused', async () => {
    const code = uniqueCode();
    const created = (await create({ code, type: 'percent', value: 20 })).body;
    const res = await remove(created.id);
    expect(res.status).toBe(204);
    expect(res.text).toBe('');
    expectErrorEnvelope(await remove(created.id), 404, 'NOT_FOUND');
    const list = await h.request('/api/promo-codes?page=1&limit=100', { token: adminToken });
    expect(list.body.items.map((i: { id: string }) => i.id)).not.toContain(created.id);

    const again = await create({ code, type: 'fixed', value: 1 });
    expect(again.status).toBe(201);
    expect(again.body).toMatchObject({ code, redemptions: 0, type: 'fixed' });
  });

  it('is admin only and 404s for malformed ids', async () => {
    expectErrorEnvelope(await remove(MISSING_ID, customerToken), 403, 'FORBIDDEN');
    expectErrorEnvelope(await h.request(`/api/promo-codes/${MISSING_ID}`, { method: 'DELETE' }), 401, 'UNAUTHORIZED');
    expectErrorEnvelope(await remove('nope'), 404, 'NOT_FOUND');
  });
});

describe('OpenAPI document', () => {
  it('documents the promo-code routes with their real success statuses', async () => {
    const doc = (await h.request('/api/openapi.json')).body;
    expect(doc.paths['/api/promo-codes'].post.responses['201']).toBeDefined();
    expect(doc.paths['/api/promo-codes'].get.responses['200']).toBeDefined();
    expect(doc.paths['/api/promo-codes/{id}'].delete.responses['204']).toBeDefined();
    expect(doc.paths['/api/promo-codes/{id}'].patch.security).toEqual([{ bearerAuth: [] }]);
  });
});
