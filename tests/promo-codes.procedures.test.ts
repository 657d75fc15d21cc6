import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { toAppError } from '../src/error-mapping.js';
import { Order } from '../src/entities/Order.js';
import { PromoCode } from '../src/entities/PromoCode.js';
import { PromoRedemption } from '../src/entities/PromoRedemption.js';
import type { User } from '../src/entities/User.js';
import { assertPromoCodeUsable, redeemPromoCode } from '../src/routers/promo-codes/redemption.js';
import { parseOffsetDateTime } from '../src/routers/promo-codes/schemas.js';
import { ISO_TIMESTAMP } from './support/contract-shapes.js';
import { createHarness, type Harness } from './support/harness.js';
import { failure } from './support/errors.js';

let h: Harness;
let admin: User;
let customer: User;
beforeAll(async () => {
  h = await createHarness({ CURRENCY: 'USD' });
  admin = (await h.createUser({ role: 'admin' })).user;
  customer = (await h.createUser()).user;
});
afterAll(() => h.close());

const adminApi = () => h.caller(admin).promoCodes;

async function validationFields(promise: Promise<unknown>): Promise<string[]> {
  const error = await failure(promise);
  expect(error.code).toBe('VALIDATION_ERROR');
  return (error.details as { field: string }[]).map((d) => d.field);
}

let counter = 0;
const uniqueCode = (prefix = 'PC') => `${prefix}${++counter}_${Math.random().toString(36).slice(2, 7)}`.toUpperCase();

/** A finished checkout that redeemed `promo` for `user`, written directly (checkout is another feature). */
async function redeemFor(promoId: string, user: User) {
  const em = h.db.orm.em.fork();
  await em.transactional(async (tem) => {
    const promo = await tem.findOneOrFail(PromoCode, promoId);
    const order = tem.create(Order, { user: user.id, itemCount: 1, subtotalCents: 5000, discountCents: 500, totalCents: 4500, currency: 'USD', promoCode: promo.code });
    await tem.flush();
    await redeemPromoCode(tem, { promo, userId: user.id, orderId: order.id });
  });
}

describe('promoCodes.create', () => {
  it('applies defaults, upper-cases the code and answers in major units with the store currency', async () => {
    const created = await adminApi().create({ code: '  save10 ', type: 'percent', value: 10 });
    expect(created).toEqual({
      id: expect.any(String),
      code: 'SAVE10',
      type: 'percent',
      value: 10,
      active: true,
      startsAt: null,
      expiresAt: null,
      maxRedemptions: null,
      redemptions: 0,
      minSubtotal: 0,
      currency: 'USD',
      createdAt: expect.stringMatching(ISO_TIMESTAMP),
    });
    const stored = await h.db.orm.em.fork().findOneOrFail(PromoCode, created.id);
    expect(stored.code).toBe('SAVE10');
  });

  it('stores fixed values and minimum subtotals in cents and returns them in major units', async () => {
    const created = await adminApi().create({ code: uniqueCode(), type: 'fixed', value: 12.34, minSubtotal: 50.5, maxRedemptions: 7, active: false });
    expect(created).toMatchObject({ type: 'fixed', value: 12.34, minSubtotal: 50.5, maxRedemptions: 7, active: false });
    const stored = await h.db.orm.em.fork().findOneOrFail(PromoCode, created.id);
    expect([stored.value, stored.minSubtotalCents]).toEqual([1234, 5050]);
  });

  it('accepts times with any offset and returns them in UTC with milliseconds', async () => {
    const created = await adminApi().create({
      code: uniqueCode(),
      type: 'percent',
      value: 5,
      startsAt: '2026-12-01T08:00:00-05:00',
      expiresAt: '2026-12-31T23:59:59+02:00',
    });
    expect(created.startsAt).toBe('2026-12-01T13:00:00.000Z');
    expect(created.expiresAt).toBe('2026-12-31T21:59:59.000Z');
  });

  it.each([
    [{ code: 'ab' }, 'code'],
    [{ code: '   ab   ' }, 'code'],
    [{ code: 'X'.repeat(33) }, 'code'],
    [{ code: 'HAS SPACE' }, 'code'],
    [{ code: 'ÜBER10' }, 'code'],
    [{ code: '' }, 'code'],
    [{ code: 10 }, 'code'],
    [{ type: 'bogo' }, 'type'],
    [{ value: 0 }, 'value'],
    [{ value: 101 }, 'value'],
    [{ value: 10.5 }, 'value'],
    [{ value: '10' }, 'value'],
    [{ type: 'fixed', value: 0 }, 'value'],
    [{ type: 'fixed', value: -5 }, 'value'],
    [{ type: 'fixed', value: 1.234 }, 'value'],
    [{ type: 'fixed', value: 1_000_000.01 }, 'value'],
    [{ active: 'yes' }, 'active'],
    [{ startsAt: '2026-12-01T08:00:00' }, 'startsAt'],
    [{ startsAt: '2026-12-01' }, 'startsAt'],
    [{ expiresAt: 'tomorrow' }, 'expiresAt'],
    [{ expiresAt: '2026-02-30T00:00:00Z' }, 'expiresAt'],
    [{ expiresAt: 1767225599000 }, 'expiresAt'],
    [{ startsAt: '2026-12-31T00:00:00Z', expiresAt: '2026-12-31T00:00:00Z' }, 'startsAt'],
    [{ startsAt: '2026-12-31T02:00:00+02:00', expiresAt: '2026-12-31T00:00:00Z' }, 'startsAt'],
    [{ maxRedemptions: 0 }, 'maxRedemptions'],
    [{ maxRedemptions: 1.5 }, 'maxRedemptions'],
    [{ maxRedemptions: '5' }, 'maxRedemptions'],
    [{ minSubtotal: -1 }, 'minSubtotal'],
    [{ minSubtotal: 0.001 }, 'minSubtotal'],
    [{ minSubtotal: null }, 'minSubtotal'],
    [{ redemptions: 3 }, 'redemptions'],
    [{ currency: 'EUR' }, 'currency'],
  ])('rejects %j naming %s', async (overrides, field) => {
    const body = { code: uniqueCode(), type: 'percent', value: 10, ...overrides };
    expect(await validationFields(adminApi().create(body as never))).toContain(field);
  });

  it.each([['code'], ['type'], ['value']])('requires %s', async (field) => {
    const body: Record<string, unknown> = { code: uniqueCode(), type: 'percent', value: 10 };
    delete body[field];
    expect(await validationFields(adminApi().create(body as never))).toEqual([field]);
  });

  it('accepts the bounds of every range', async () => {
    for (const body of [
      { code: 'ABC', type: 'percent', value: 1 },
      { code: 'Z'.repeat(32), type: 'percent', value: 100, maxRedemptions: 1 },
      { code: uniqueCode(), type: 'fixed', value: 0.01 },
      { code: uniqueCode(), type: 'fixed', value: 1_000_000, minSubtotal: 1_000_000 },
      { code: 'a-b_c', type: 'fixed', value: 1, startsAt: null, expiresAt: null, maxRedemptions: null },
    ] as const) {
      expect((await adminApi().create(body)).code).toBe(body.code.toUpperCase());
    }
  });

  it('refuses a live duplicate case-insensitively with PROMO_CODE_TAKEN', async () => {
    const code = uniqueCode();
    await adminApi().create({ code, type: 'percent', value: 10 });
    const error = await failure(adminApi().create({ code: ` ${code.toLowerCase()} `, type: 'fixed', value: 5 }));
    expect(error.code).toBe('PROMO_CODE_TAKEN');
  });

  it('lets exactly one of two concurrent creates of one code win', async () => {
    const code = uniqueCode();
    const results = await Promise.allSettled([
      adminApi().create({ code, type: 'percent', value: 10 }),
      adminApi().create({ code, type: 'percent', value: 20 }),
      adminApi().create({ code: code.toLowerCase(), type: 'fixed', value: 3 }),
    ]);
    expect(results.filter((r) => r.status === 'fulfilled')).toHaveLength(1);
    for (const r of results) if (r.status === 'rejected') expect(toAppError(r.reason).code).toBe('PROMO_CODE_TAKEN');
    expect(await h.db.orm.em.fork().count(PromoCode, { code })).toBe(1);
  });

  it('is for admins only', async () => {
    expect((await failure(h.caller(customer).promoCodes.create({ code: uniqueCode(), type: 'percent', value: 10 }))).code).toBe('FORBIDDEN');
    expect((await failure(h.caller().promoCodes.create({ code: uniqueCode(), type: 'percent', value: 10 }))).code).toBe('UNAUTHORIZED');
    // The role is checked before the input.
    expect((await failure(h.caller(customer).promoCodes.create({ code: 'x' } as never))).code).toBe('FORBIDDEN');
    for (const call of [
      () => h.caller(customer).promoCodes.list({ page: 1 }),
      () => h.caller(customer).promoCodes.byId({ id: '00000000-0000-4000-8000-000000000000' }),
      () => h.caller(customer).promoCodes.update({ id: '00000000-0000-4000-8000-000000000000' }),
      () => h.caller(customer).promoCodes.delete({ id: '00000000-0000-4000-8000-000000000000' }),
    ]) {
      expect((await failure(call())).code).toBe('FORBIDDEN');
    }
  });
});

describe('parseOffsetDateTime', () => {
  it.each([
    ['2026-12-31T23:59:59Z', '2026-12-31T23:59:59.000Z'],
    ['2026-12-31T23:59:59.5Z', '2026-12-31T23:59:59.500Z'],
    ['2026-12-31T23:59:59.123000+00:00', '2026-12-31T23:59:59.123Z'],
    ['2026-12-31T23:59:59,25Z', '2026-12-31T23:59:59.250Z'],
    ['2026-12-31T23:59:59+02:00', '2026-12-31T21:59:59.000Z'],
    ['2026-12-31T23:59:59+0200', '2026-12-31T21:59:59.000Z'],
    ['2026-12-31T23:59:59+02', '2026-12-31T21:59:59.000Z'],
    ['2026-12-31T20:00-05:30', '2027-01-01T01:30:00.000Z'],
    ['20261231T235959Z', '2026-12-31T23:59:59.000Z'],
    ['2028-02-29T00:00:00Z', '2028-02-29T00:00:00.000Z'],
    ['0050-06-01T00:00:00Z', '0050-06-01T00:00:00.000Z'],
  ])('reads %s as %s', (text, iso) => {
    expect(parseOffsetDateTime(text)?.toISOString()).toBe(iso);
  });

  it.each(['2026-12-31T23:59:59.123456Z', '2026-12-31T23:59:59.0001Z', '2026-12-31T23:59:59', '2026-12-31', '2026-13-01T00:00:00Z', '2027-02-29T00:00:00Z', '2026-12-31T24:00:00Z', '2026-12-31T23:60:00Z', '2026-12-31T23:59:59+24:00', 'x2026-12-31T23:59:59Z', ''])(
    'rejects %j',
    (text) => {
      expect(parseOffsetDateTime(text)).toBeUndefined();
    },
  );
});

describe('promoCodes.list', () => {
  it('pages through live codes newest first, ties broken by id, with the true total', async () => {
    const em = h.db.orm.em.fork();
    await em.nativeDelete(PromoRedemption, {});
    await em.nativeDelete(PromoCode, {});
    const sameMoment = new Date('2026-11-20T10:00:00.000Z');
    const codes = ['OLDEST', 'TIE_A', 'TIE_B', 'TIE_C', 'NEWEST'].map((code, i) =>
      em.create(PromoCode, { code, type: 'percent', value: 10, createdAt: i === 0 ? new Date('2026-11-01T00:00:00.000Z') : i === 4 ? new Date('2026-11-23T00:00:00.000Z') : sameMoment }),
    );
    em.create(PromoCode, { code: 'DELETED', type: 'percent', value: 10, createdAt: new Date('2026-11-24T00:00:00.000Z'), deletedAt: new Date() });
    await em.flush();

    const ties = codes.slice(1, 4).map((c) => c.id).sort();
    const expectedOrder = [codes[4]!.id, ...ties, codes[0]!.id];

    const seen: string[] = [];
    for (let page = 1; page <= 3; page++) {
      const result = await adminApi().list({ page, limit: 2 });
      expect(result).toMatchObject({ page, limit: 2, total: 5 });
      seen.push(...result.items.map((i) => i.id));
    }
    expect(seen).toEqual(expectedOrder);

    const defaults = await adminApi().list({ page: 1 });
    expect(defaults.limit).toBe(20);
    expect(defaults.items.map((i) => i.code)).not.toContain('DELETED');
    expect(await adminApi().list({ page: 4, limit: 2 })).toEqual({ page: 4, limit: 2, total: 5, items: [] });
  });

  it('validates paging strictly', async () => {
    expect(await validationFields(adminApi().list({} as never))).toEqual(['page']);
    expect(await validationFields(adminApi().list({ page: 0 }))).toEqual(['page']);
    expect(await validationFields(adminApi().list({ page: '1.5' } as never))).toEqual(['page']);
    expect(await validationFields(adminApi().list({ page: 1, limit: 101 }))).toEqual(['limit']);
    expect(await validationFields(adminApi().list({ page: 1, limit: 0 }))).toEqual(['limit']);
  });
});

describe('promoCodes.byId', () => {
  it('returns a live code and 404s for malformed, unknown and deleted ids', async () => {
    const created = await adminApi().create({ code: uniqueCode(), type: 'fixed', value: 3 });
    expect(await adminApi().byId({ id: created.id })).toEqual(created);
    expect((await failure(adminApi().byId({ id: 'not-a-uuid' }))).code).toBe('NOT_FOUND');
    expect((await failure(adminApi().byId({ id: '00000000-0000-4000-8000-000000000000' }))).code).toBe('NOT_FOUND');
    await adminApi().delete({ id: created.id });
    expect((await failure(adminApi().byId({ id: created.id }))).code).toBe('NOT_FOUND');
  });
});

describe('promoCodes.update', () => {
  it('changes only the given fields and leaves the rest alone', async () => {
    const created = await adminApi().create({ code: uniqueCode(), type: 'fixed', value: 5, minSubtotal: 20, maxRedemptions: 10 });
    const updated = await adminApi().update({ id: created.id, active: false, expiresAt: '2027-01-01T00:00:00+01:00', minSubtotal: 30.25 });
    expect(updated).toEqual({ ...created, active: false, expiresAt: '2026-12-31T23:00:00.000Z', minSubtotal: 30.25 });
    expect(await adminApi().byId({ id: created.id })).toEqual(updated);

    const cleared = await adminApi().update({ id: created.id, expiresAt: null, maxRedemptions: null, active: true });
    expect(cleared).toMatchObject({ expiresAt: null, maxRedemptions: null, active: true, minSubtotal: 30.25 });
  });

  it('changes nothing for an empty body', async () => {
    const created = await adminApi().create({ code: uniqueCode(), type: 'percent', value: 15, startsAt: '2026-01-01T00:00:00Z' });
    expect(await adminApi().update({ id: created.id })).toEqual(created);
  });

  it.each([[{ code: 'OTHER' }, 'code'], [{ type: 'fixed' }, 'type'], [{ value: 20 }, 'value'], [{ redemptions: 0 }, 'redemptions']])(
    'refuses %j naming %s',
    async (body, field) => {
      const created = await adminApi().create({ code: uniqueCode(), type: 'percent', value: 15 });
      expect(await validationFields(adminApi().update({ id: created.id, ...body } as never))).toEqual([field]);
      expect((await adminApi().byId({ id: created.id })).value).toBe(15);
    },
  );

  it('checks the window against the stored bound when only one side changes', async () => {
    const created = await adminApi().create({ code: uniqueCode(), type: 'percent', value: 15, startsAt: '2026-12-01T00:00:00Z', expiresAt: '2026-12-31T00:00:00Z' });
    expect(await validationFields(adminApi().update({ id: created.id, expiresAt: '2026-12-01T00:00:00Z' }))).toEqual(['expiresAt']);
    expect(await validationFields(adminApi().update({ id: created.id, startsAt: '2027-01-01T00:00:00Z' }))).toEqual(['startsAt']);
    expect(await validationFields(adminApi().update({ id: created.id, startsAt: '2026-12-20T00:00:00Z', expiresAt: '2026-12-10T00:00:00Z' }))).toEqual(['startsAt']);
    // Moving both together, or opening one side, is fine.
    expect(await adminApi().update({ id: created.id, startsAt: '2027-01-01T00:00:00Z', expiresAt: '2027-02-01T00:00:00Z' })).toMatchObject({ startsAt: '2027-01-01T00:00:00.000Z' });
    expect(await adminApi().update({ id: created.id, expiresAt: null })).toMatchObject({ expiresAt: null });
    expect(await adminApi().update({ id: created.id, startsAt: '2030-01-01T00:00:00Z' })).toMatchObject({ startsAt: '2030-01-01T00:00:00.000Z' });
  });

  it('never lets two concurrent one-sided changes produce an impossible window', async () => {
    const created = await adminApi().create({ code: uniqueCode(), type: 'percent', value: 15, startsAt: '2026-12-01T00:00:00Z', expiresAt: '2026-12-31T00:00:00Z' });
    const results = await Promise.allSettled([
      adminApi().update({ id: created.id, startsAt: '2026-12-20T00:00:00Z' }),
      adminApi().update({ id: created.id, expiresAt: '2026-12-10T00:00:00Z' }),
    ]);
    expect(results.filter((r) => r.status === 'fulfilled')).toHaveLength(1);
    const stored = await adminApi().byId({ id: created.id });
    expect(new Date(stored.startsAt!).getTime()).toBeLessThan(new Date(stored.expiresAt!).getTime());
  });

  it('allows lowering maxRedemptions below redemptions, which exhausts the code', async () => {
    const created = await adminApi().create({ code: uniqueCode(), type: 'percent', value: 10, maxRedemptions: 5 });
    const { user: first } = await h.createUser();
    const { user: second } = await h.createUser();
    await redeemFor(created.id, first);
    await redeemFor(created.id, second);
    const lowered = await adminApi().update({ id: created.id, maxRedemptions: 1 });
    expect(lowered).toMatchObject({ maxRedemptions: 1, redemptions: 2 });
    const { user: third } = await h.createUser();
    const error = await failure(assertPromoCodeUsable(h.db.orm.em.fork(), { code: created.code, userId: third.id, subtotalCents: 10_000 }));
    expect(error.details).toEqual({ reason: 'exhausted' });
  });

  it('validates before looking the code up, and 404s for malformed, unknown and deleted ids', async () => {
    const missing = '00000000-0000-4000-8000-000000000000';
    expect(await validationFields(adminApi().update({ id: missing, maxRedemptions: 0 }))).toEqual(['maxRedemptions']);
    expect((await failure(adminApi().update({ id: missing, active: false }))).code).toBe('NOT_FOUND');
    expect((await failure(adminApi().update({ id: 'nope', active: false }))).code).toBe('NOT_FOUND');
    const created = await adminApi().create({ code: uniqueCode(), type: 'percent', value: 10 });
    await adminApi().delete({ id: created.id });
    expect((await failure(adminApi().update({ id: created.id, active: false }))).code).toBe('NOT_FOUND');
  });
});

describe('promoCodes.delete', () => {
  it('soft-deletes: the code stops applying, history stays, and the text can be created again with a fresh history', async () => {
    const code = uniqueCode('DEL');
    const original = await adminApi().create({ code, type: 'percent', value: 10 });
    const { user } = await h.createUser();
    await redeemFor(original.id, user);

    expect(await adminApi().delete({ id: original.id })).toBeUndefined();
    const em = h.db.orm.em.fork();
    const row = await em.findOneOrFail(PromoCode, original.id);
    expect(row.deletedAt).toBeInstanceOf(Date);
    expect(await em.count(PromoRedemption, { promoCode: original.id })).toBe(1);
    expect((await em.findOneOrFail(Order, { user: user.id })).promoCode).toBe(code);

    const gone = await failure(assertPromoCodeUsable(h.db.orm.em.fork(), { code, userId: user.id, subtotalCents: 10_000 }));
    expect(gone.details).toEqual({ reason: 'not_found' });
    expect((await adminApi().list({ page: 1, limit: 100 })).items.map((i) => i.id)).not.toContain(original.id);
    expect((await failure(adminApi().delete({ id: original.id }))).code).toBe('NOT_FOUND');

    const recreated = await adminApi().create({ code: code.toLowerCase(), type: 'fixed', value: 2 });
    expect(recreated).toMatchObject({ code, redemptions: 0 });
    expect(recreated.id).not.toBe(original.id);
    const usable = await assertPromoCodeUsable(h.db.orm.em.fork(), { code, userId: user.id, subtotalCents: 10_000 });
    expect(usable).toMatchObject({ discountCents: 200 });
    expect(usable.promo.id).toBe(recreated.id);
  });

  it('404s for malformed and unknown ids', async () => {
    expect((await failure(adminApi().delete({ id: 'nope' }))).code).toBe('NOT_FOUND');
    expect((await failure(adminApi().delete({ id: '00000000-0000-4000-8000-000000000000' }))).code).toBe('NOT_FOUND');
  });
});
