import { randomUUID } from 'node:crypto';
import { raw } from '@mikro-orm/core';
import type { Em } from '../../db/orm.js';
import { PromoCode } from '../../entities/PromoCode.js';
import { PromoRedemption } from '../../entities/PromoRedemption.js';
import { AppError, promoCodeInvalid } from '../../errors.js';

/**
 * The promo-code rules that the cart and checkout apply (contract §8). Codes are
 * looked up by text because carts and orders store the text, not the id.
 */

/**
 * Trimmed, with a–z upper-cased: codes are made of ASCII only, so only ASCII is folded.
 * Full Unicode upper-casing would turn `ß` into `SS` and the ligature `ﬁ` into `FI`, and
 * text that is no code at all would match one.
 */
export const normalizePromoCode = (code: string): string => code.trim().replace(/[a-z]+/g, (letters) => letters.toUpperCase());

/** The live (not deleted) promo code with this text (case-insensitive, trimmed), or null. */
export function findLivePromoCode(em: Em, code: string): Promise<PromoCode | null> {
  return em.findOne(PromoCode, { code: normalizePromoCode(code), deletedAt: null });
}

interface UsageArgs {
  code: string;
  userId: string;
  subtotalCents: number;
  now?: Date;
}

/**
 * Every rule of §8 checked now, in the contract's reason order (not_found,
 * inactive, expired, not_started, exhausted, already_used, min_subtotal_not_met);
 * throws promoCodeInvalid(reason) or returns the promo and its discount in cents.
 */
export async function assertPromoCodeUsable(em: Em, args: UsageArgs): Promise<{ promo: PromoCode; discountCents: number }> {
  const promo = await findLivePromoCode(em, args.code);
  if (!promo) throw promoCodeInvalid('not_found');
  const reason = promo.unusableReason(args.now ?? new Date());
  if (reason) throw promoCodeInvalid(reason);
  if ((await em.count(PromoRedemption, { promoCode: promo.id, user: args.userId })) > 0) {
    throw promoCodeInvalid('already_used');
  }
  if (!promo.meetsMinimum(args.subtotalCents)) throw promoCodeInvalid('min_subtotal_not_met');
  return { promo, discountCents: promo.discountFor(args.subtotalCents) };
}

/** For displaying a cart: the discount in cents if the code is usable right now, else 0. Never throws for an invalid code. */
export async function currentDiscountCents(em: Em, args: UsageArgs): Promise<number> {
  try {
    return (await assertPromoCodeUsable(em, args)).discountCents;
  } catch (error) {
    if (error instanceof AppError && error.code === 'PROMO_CODE_INVALID') return 0;
    throw error;
  }
}

/**
 * Takes one redemption inside the checkout transaction (`tem` must be that
 * transaction's EntityManager, and the order must already be flushed in it).
 *
 * The counter moves with a conditional UPDATE that re-checks every time-, state-
 * and limit-based rule, so concurrent checkouts can never redeem past
 * maxRedemptions nor use a code deactivated or deleted a moment ago; the row lock
 * it takes also serializes redemptions of one code. The per-user rule is the
 * unique index, hit with ON CONFLICT DO NOTHING so that a lost race does not
 * abort the transaction before we can answer with the contract's reason.
 */
export async function redeemPromoCode(
  tem: Em,
  args: { promo: PromoCode; userId: string; orderId: string; now?: Date },
): Promise<void> {
  const now = args.now ?? new Date();
  const taken = await tem.nativeUpdate(
    PromoCode,
    {
      id: args.promo.id,
      deletedAt: null,
      active: true,
      $and: [
        { $or: [{ startsAt: null }, { startsAt: { $lte: now } }] },
        { $or: [{ expiresAt: null }, { expiresAt: { $gt: now } }] },
        { $or: [{ maxRedemptions: null }, { redemptions: { $lt: raw('max_redemptions') } }] },
      ],
    },
    { redemptions: raw('redemptions + 1') },
  );
  if (taken === 0) throw promoCodeInvalid(await whyNotRedeemable(tem, args.promo.id, now));

  const inserted = await tem
    .createQueryBuilder(PromoRedemption)
    .insert({ id: randomUUID(), promoCode: args.promo.id, user: args.userId, order: args.orderId, createdAt: now })
    .onConflict(['promoCode', 'user'])
    .ignore()
    .execute('run');
  if (inserted.affectedRows === 0) throw promoCodeInvalid('already_used');
}

async function whyNotRedeemable(tem: Em, promoId: string, now: Date) {
  const current = await tem.findOne(PromoCode, { id: promoId, deletedAt: null }, { refresh: true });
  if (!current) return 'not_found';
  return current.unusableReason(now) ?? 'exhausted';
}
