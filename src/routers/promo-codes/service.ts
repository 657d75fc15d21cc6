import { LockMode, UniqueConstraintViolationException } from '@mikro-orm/core';
import type { Em } from '../../db/orm.js';
import { PromoCode } from '../../entities/PromoCode.js';
import { promoCodeTaken, validationError } from '../../errors.js';
import { fromCents, toCents } from '../../lib/money.js';
import { findOr404, softDeleteOr404 } from '../shared/found.js';
import type { Page, PageRequest } from '../shared/schemas.js';
import { WINDOW_ORDER_MESSAGE, type CreatePromoCodeInput, type PromoCodeOutput, type UpdatePromoCodeInput } from './schemas.js';

const toIso = (date: Date | null | undefined) => (date ? date.toISOString() : null);

export const toPromoCodeOutput = (promo: PromoCode, currency: string): PromoCodeOutput => ({
  id: promo.id,
  code: promo.code,
  type: promo.type,
  value: promo.type === 'fixed' ? fromCents(promo.value) : promo.value,
  active: promo.active,
  startsAt: toIso(promo.startsAt),
  expiresAt: toIso(promo.expiresAt),
  maxRedemptions: promo.maxRedemptions ?? null,
  redemptions: promo.redemptions,
  minSubtotal: fromCents(promo.minSubtotalCents),
  currency,
  createdAt: promo.createdAt.toISOString(),
});

/**
 * Uniqueness of live codes is left to the partial unique index, so two concurrent
 * creates of one code end in exactly one success and one PROMO_CODE_TAKEN.
 */
export async function createPromoCode(em: Em, input: CreatePromoCodeInput): Promise<PromoCode> {
  const promo = em.create(PromoCode, {
    code: input.code,
    type: input.type,
    value: input.type === 'fixed' ? toCents(input.value) : input.value,
    active: input.active,
    startsAt: input.startsAt,
    expiresAt: input.expiresAt,
    maxRedemptions: input.maxRedemptions,
    redemptions: 0,
    minSubtotalCents: toCents(input.minSubtotal),
  });
  try {
    await em.flush();
  } catch (error) {
    if (error instanceof UniqueConstraintViolationException) {
      throw promoCodeTaken(input.code);
    }
    throw error;
  }
  return promo;
}

export async function listPromoCodes(em: Em, page: PageRequest): Promise<Page<PromoCode>> {
  const [items, total] = await em.findAndCount(
    PromoCode,
    { deletedAt: null },
    { orderBy: [{ createdAt: 'desc' }, { id: 'asc' }], limit: page.limit, offset: (page.page - 1) * page.limit },
  );
  return { page: page.page, limit: page.limit, total, items };
}

export const getPromoCode = (em: Em, id: string): Promise<PromoCode> => findOr404(em, PromoCode, 'Promo code', id, { deletedAt: null });

/**
 * The row is locked while the new window is checked against the stored bounds,
 * so two PATCHes that each move one bound cannot together produce startsAt ≥ expiresAt.
 */
export async function updatePromoCode(em: Em, id: string, changes: Omit<UpdatePromoCodeInput, 'id'>): Promise<PromoCode> {
  return em.transactional(async (tem) => {
    const promo = await findOr404(tem, PromoCode, 'Promo code', id, { deletedAt: null }, { lockMode: LockMode.PESSIMISTIC_WRITE });

    const startsAt = changes.startsAt === undefined ? promo.startsAt : changes.startsAt;
    const expiresAt = changes.expiresAt === undefined ? promo.expiresAt : changes.expiresAt;
    if (startsAt && expiresAt && startsAt >= expiresAt) {
      throw validationError([{ field: changes.startsAt === undefined ? 'expiresAt' : 'startsAt', message: WINDOW_ORDER_MESSAGE }]);
    }

    if (changes.active !== undefined) promo.active = changes.active;
    if (changes.startsAt !== undefined) promo.startsAt = changes.startsAt;
    if (changes.expiresAt !== undefined) promo.expiresAt = changes.expiresAt;
    if (changes.maxRedemptions !== undefined) promo.maxRedemptions = changes.maxRedemptions;
    if (changes.minSubtotal !== undefined) promo.minSubtotalCents = toCents(changes.minSubtotal);
    return promo;
  });
}

/** Soft delete: redemptions and orders keep pointing at the row, and the code text becomes free again. */
export const deletePromoCode = (em: Em, id: string): Promise<void> => softDeleteOr404(em, PromoCode, 'Promo code', id);
