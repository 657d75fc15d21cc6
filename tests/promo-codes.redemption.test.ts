import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Order } from '../src/entities/Order.js';
import { PromoCode } from '../src/entities/PromoCode.js';
import { PromoRedemption } from '../src/entities/PromoRedemption.js';
import type { User } from '../src/entities/User.js';
import { AppError, type PromoCodeInvalidReason } from '../src/errors.js';
import {
  assertPromoCodeUsable,
  currentDiscountCents,
  findLivePromoCode,
  redeemPromoCode,
} from '../src/routers/promo-codes/redemption.js';
import { createHarness, type Harness } from './support/harness.js';

let h: Harness;
let codeCounter = 0;
beforeAll(async () => {
  h = await createHarness();
});
afterAll(() => h.close());

const NOW = new Date('2026-11-24T12:00:00.000Z');
const at = (offsetMs: number) => new Date(NOW.getTime() + offsetMs);

async function makePromo(data: Partial<Pick<PromoCode, 'code' | 'type' | 'value' | 'active' | 'startsAt' | 'expiresAt' | 'maxRedemptions' | 'redemptions' | 'minSubtotalCents' | 'deletedAt'>> = {}) {
  const em = h.db.orm.em.fork();
  const promo = em.create(PromoCode, { code: `CODE${++codeCounter}`, type: 'percent', value: 10, ...data });
  await em.flush();
  return promo;
}

async function placeOrder(user: User) {
  const em = h.db.orm.em.fork();
  const order = em.create(Order, { user: user.id, itemCount: 1, subtotalCents: 1000, discountCents: 0, totalCents: 1000, currency: 'EUR', promoCode: null });
  await em.flush();
  return order;
}

/** Records that `user` already redeemed `promo` (as a past checkout would have). */
async function recordRedemption(promo: PromoCode, user: User) {
  const order = await placeOrder(user);
  const em = h.db.orm.em.fork();
  em.create(PromoRedemption, { promoCode: promo.id, user: user.id, order: order.id });
  await em.flush();
}

async function reasonOf(promise: Promise<unknown>): Promise<PromoCodeInvalidReason> {
  const error = await promise.then(
    () => {
      throw new Error('expected PROMO_CODE_INVALID, but it succeeded');
    },
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(AppError);
  expect((error as AppError).code).toBe('PROMO_CODE_INVALID');
  return ((error as AppError).details as { reason: PromoCodeInvalidReason }).reason;
}

const usable = (code: string, user: User, subtotalCents = 10_000, now = NOW) =>
  assertPromoCodeUsable(h.db.orm.em.fork(), { code, userId: user.id, subtotalCents, now });

/** Checkout's part: an order flushed in a transaction, then the redemption in the same transaction. */
const checkoutWith = (promo: PromoCode, user: User, now = NOW) =>
  h.db.orm.em.fork().transactional(async (tem) => {
    const order = tem.create(Order, { user: user.id, itemCount: 1, subtotalCents: 1000, discountCents: 100, totalCents: 900, currency: 'EUR', promoCode: promo.code });
    await tem.flush();
    await redeemPromoCode(tem, { promo, userId: user.id, orderId: order.id, now });
    return order.id;
  });

describe('findLivePromoCode', () => {
  it('matches trimmed text case-insensitively and ignores deleted codes', async () => {
    const live = await makePromo({ code: 'FIND_ME-1' });
    await makePromo({ code: 'GONE1', deletedAt: at(-1000) });
    const em = h.db.orm.em.fork();
    expect((await findLivePromoCode(em, '  find_me-1 '))?.id).toBe(live.id);
    expect(await findLivePromoCode(em, 'gone1')).toBeNull();
    expect(await findLivePromoCode(em, 'nothing')).toBeNull();
  });

  it('folds only a-z: text that full Unicode upper-casing would turn into a code matches none', async () => {
    const code = await makePromo({ code: 'FISSION-SS' });
    const em = h.db.orm.em.fork();
    expect((await findLivePromoCode(em, 'fission-ss'))?.id).toBe(code.id);
    // U+FB01 (ﬁ) upper-cases to "FI", U+00DF (ß) to "SS", U+0131 (dotless ı) to "I".
    for (const lookalike of ['\ufb01ssion-ss', 'fission-\u00df', 'f\u0131ssion-ss']) expect(await findLivePromoCode(em, lookalike)).toBeNull();
  });
});

describe('assertPromoCodeUsable', () => {
  it('returns the promo and its discount when every rule holds, at the exact bounds', async () => {
    const { user } = await h.createUser();
    const promo = await makePromo({ startsAt: NOW, expiresAt: at(1), maxRedemptions: 1, minSubtotalCents: 10_000 });
    const result = await usable(promo.code.toLowerCase(), user, 10_000);
    expect(result.promo.id).toBe(promo.id);
    expect(result.discountCents).toBe(1000);
  });

  it('names each reason on its own', async () => {
    const { user } = await h.createUser();
    expect(await reasonOf(usable('NO_SUCH_CODE', user))).toBe('not_found');
    expect(await reasonOf(usable((await makePromo({ deletedAt: at(-1) })).code, user))).toBe('not_found');
    expect(await reasonOf(usable((await makePromo({ active: false })).code, user))).toBe('inactive');
    expect(await reasonOf(usable((await makePromo({ expiresAt: NOW })).code, user))).toBe('expired');
    expect(await reasonOf(usable((await makePromo({ startsAt: at(1) })).code, user))).toBe('not_started');
    expect(await reasonOf(usable((await makePromo({ maxRedemptions: 2, redemptions: 2 })).code, user))).toBe('exhausted');
    const used = await makePromo();
    await recordRedemption(used, user);
    expect(await reasonOf(usable(used.code, user))).toBe('already_used');
    expect(await reasonOf(usable((await makePromo({ minSubtotalCents: 10_001 })).code, user, 10_000))).toBe('min_subtotal_not_met');
  });

  it('answers with the first reason in contract order when several hold', async () => {
    const { user } = await h.createUser();
    const everything = { expiresAt: NOW, maxRedemptions: 1, redemptions: 1, minSubtotalCents: 20_000 };

    const inactive = await makePromo({ active: false, ...everything });
    await recordRedemption(inactive, user);
    expect(await reasonOf(usable(inactive.code, user))).toBe('inactive');

    const expired = await makePromo({ ...everything });
    await recordRedemption(expired, user);
    expect(await reasonOf(usable(expired.code, user))).toBe('expired');

    const notStarted = await makePromo({ startsAt: at(1000), maxRedemptions: 1, redemptions: 1, minSubtotalCents: 20_000 });
    await recordRedemption(notStarted, user);
    expect(await reasonOf(usable(notStarted.code, user))).toBe('not_started');

    const exhausted = await makePromo({ maxRedemptions: 1, redemptions: 1, minSubtotalCents: 20_000 });
    await recordRedemption(exhausted, user);
    expect(await reasonOf(usable(exhausted.code, user))).toBe('exhausted');

    const alreadyUsed = await makePromo({ minSubtotalCents: 20_000 });
    await recordRedemption(alreadyUsed, user);
    expect(await reasonOf(usable(alreadyUsed.code, user))).toBe('already_used');
  });

  it('treats another user\'s redemption and a deleted code\'s history as irrelevant', async () => {
    const { user } = await h.createUser();
    const { user: other } = await h.createUser();
    const promo = await makePromo({ code: 'REUSED' });
    await recordRedemption(promo, other);
    await expect(usable('REUSED', user)).resolves.toBeDefined();

    await recordRedemption(promo, user);
    const em = h.db.orm.em.fork();
    await em.nativeUpdate(PromoCode, { id: promo.id }, { deletedAt: NOW });
    const recreated = await makePromo({ code: 'REUSED' });
    expect((await usable('reused', user)).promo.id).toBe(recreated.id);
  });
});

describe('discount math', () => {
  it.each([
    // [percent, subtotal cents, expected discount cents]
    [10, 5, 1], // 0.5 cent rounds up
    [10, 15, 2], // 1.5 → 2
    [10, 14, 1], // 1.4 → 1
    [10, 16, 2], // 1.6 → 2
    [50, 25, 13], // 12.5 → 13
    [33, 1050, 347], // 346.5 → 347
    [33, 1049, 346], // 346.17 → 346
    [1, 49, 0], // 0.49 → 0
    [1, 50, 1], // 0.5 → 1
    [100, 17_999, 17_999],
    [10, 0, 0],
  ])('percent %i of %i cents is %i cents', async (value, subtotalCents, expected) => {
    const { user } = await h.createUser();
    const promo = await makePromo({ type: 'percent', value });
    expect((await usable(promo.code, user, subtotalCents)).discountCents).toBe(expected);
  });

  it.each([
    [500, 300, 300],
    [500, 500, 500],
    [500, 800, 500],
    [1, 10_000, 1],
  ])('fixed %i cents off %i cents is %i cents', async (value, subtotalCents, expected) => {
    const { user } = await h.createUser();
    const promo = await makePromo({ type: 'fixed', value });
    expect((await usable(promo.code, user, subtotalCents)).discountCents).toBe(expected);
  });
});

describe('currentDiscountCents', () => {
  it('is the discount for a usable code and 0 for any invalid one, without throwing', async () => {
    const { user } = await h.createUser();
    const em = h.db.orm.em.fork();
    const valid = await makePromo({ type: 'fixed', value: 250 });
    const expired = await makePromo({ type: 'fixed', value: 250, expiresAt: at(-1) });
    const minimum = await makePromo({ type: 'fixed', value: 250, minSubtotalCents: 5000 });
    expect(await currentDiscountCents(em, { code: valid.code, userId: user.id, subtotalCents: 4000, now: NOW })).toBe(250);
    expect(await currentDiscountCents(em, { code: expired.code, userId: user.id, subtotalCents: 4000, now: NOW })).toBe(0);
    expect(await currentDiscountCents(em, { code: minimum.code, userId: user.id, subtotalCents: 4000, now: NOW })).toBe(0);
    expect(await currentDiscountCents(em, { code: 'UNKNOWN', userId: user.id, subtotalCents: 4000, now: NOW })).toBe(0);
  });
});

describe('redeemPromoCode', () => {
  it('counts the redemption and records it for the order', async () => {
    const { user } = await h.createUser();
    const promo = await makePromo({ maxRedemptions: 5 });
    const orderId = await checkoutWith(promo, user);
    const em = h.db.orm.em.fork();
    expect((await em.findOneOrFail(PromoCode, promo.id)).redemptions).toBe(1);
    const redemptions = await em.find(PromoRedemption, { promoCode: promo.id });
    expect(redemptions.map((r) => [r.user.id, r.order.id])).toEqual([[user.id, orderId]]);
    expect(redemptions[0]!.createdAt).toBeInstanceOf(Date);
  });

  it('refuses a second redemption by the same user and rolls the whole transaction back', async () => {
    const { user } = await h.createUser();
    const promo = await makePromo();
    await checkoutWith(promo, user);
    expect(await reasonOf(checkoutWith(promo, user))).toBe('already_used');
    const em = h.db.orm.em.fork();
    expect((await em.findOneOrFail(PromoCode, promo.id)).redemptions).toBe(1);
    expect(await em.count(Order, { user: user.id })).toBe(1);
  });

  it('re-checks the rules that may have changed since the code was validated', async () => {
    const { user } = await h.createUser();
    const exhausted = await makePromo({ maxRedemptions: 1, redemptions: 1 });
    expect(await reasonOf(checkoutWith(exhausted, user))).toBe('exhausted');
    const deactivated = await makePromo();
    await h.db.orm.em.fork().nativeUpdate(PromoCode, { id: deactivated.id }, { active: false });
    expect(await reasonOf(checkoutWith(deactivated, user))).toBe('inactive');
    const deleted = await makePromo();
    await h.db.orm.em.fork().nativeUpdate(PromoCode, { id: deleted.id }, { deletedAt: NOW });
    expect(await reasonOf(checkoutWith(deleted, user))).toBe('not_found');
    const expiring = await makePromo({ expiresAt: at(1000) });
    expect(await reasonOf(checkoutWith(expiring, user, at(1000)))).toBe('expired');
    const future = await makePromo({ startsAt: at(1000) });
    expect(await reasonOf(checkoutWith(future, user))).toBe('not_started');
    const em = h.db.orm.em.fork();
    expect(await em.count(Order, { user: user.id })).toBe(0);
    expect(await em.count(PromoRedemption, { user: user.id })).toBe(0);
  });

  it('never redeems past maxRedemptions when more users race than it allows', async () => {
    const maxRedemptions = 3;
    const users = await Promise.all(Array.from({ length: 10 }, () => h.createUser()));
    const promo = await makePromo({ maxRedemptions });
    const results = await Promise.allSettled(users.map(({ user }) => checkoutWith(promo, user)));

    const won = results.filter((r) => r.status === 'fulfilled');
    expect(won).toHaveLength(maxRedemptions);
    for (const lost of results.filter((r): r is PromiseRejectedResult => r.status === 'rejected')) {
      expect(lost.reason).toBeInstanceOf(AppError);
      expect((lost.reason as AppError).details).toEqual({ reason: 'exhausted' });
    }
    const em = h.db.orm.em.fork();
    expect((await em.findOneOrFail(PromoCode, promo.id)).redemptions).toBe(maxRedemptions);
    expect(await em.count(PromoRedemption, { promoCode: promo.id })).toBe(maxRedemptions);
    expect(await em.count(Order, { promoCode: promo.code })).toBe(maxRedemptions);
  });

  it('lets one of two racing checkouts by the same user redeem', async () => {
    const { user } = await h.createUser();
    const promo = await makePromo();
    const results = await Promise.allSettled([checkoutWith(promo, user), checkoutWith(promo, user), checkoutWith(promo, user)]);

    expect(results.filter((r) => r.status === 'fulfilled')).toHaveLength(1);
    for (const lost of results.filter((r): r is PromiseRejectedResult => r.status === 'rejected')) {
      expect((lost.reason as AppError).details).toEqual({ reason: 'already_used' });
    }
    const em = h.db.orm.em.fork();
    expect((await em.findOneOrFail(PromoCode, promo.id)).redemptions).toBe(1);
    expect(await em.count(PromoRedemption, { promoCode: promo.id })).toBe(1);
    expect(await em.count(Order, { user: user.id })).toBe(1);
  });
});
