import { randomUUID } from 'node:crypto';
import { defineEntity, p } from '@mikro-orm/core';
import type { PromoCodeInvalidReason } from '../errors.js';

export const PROMO_TYPES = ['percent', 'fixed'] as const;
export type PromoType = (typeof PROMO_TYPES)[number];

export const PromoCodeSchema = defineEntity({
  name: 'PromoCode',
  properties: {
    id: p.uuid().primary().onCreate(() => randomUUID()),
    /** Stored upper-case; matched case-insensitively by upper-casing input. */
    code: p.string().length(32),
    type: p.enum(PROMO_TYPES),
    /** Percent: 1–100. Fixed: amount in cents. */
    value: p.integer(),
    active: p.boolean().default(true),
    startsAt: p.datetime(3).nullable(),
    expiresAt: p.datetime(3).nullable(),
    maxRedemptions: p.integer().nullable(),
    redemptions: p.integer().default(0),
    minSubtotalCents: p.integer().default(0),
    createdAt: p.datetime(3).onCreate(() => new Date()),
    /** Soft delete keeps redemption rows valid; a new code with the same text gets a fresh history. */
    deletedAt: p.datetime(3).nullable().hidden(),
  },
  uniques: [{ name: 'promo_code_live_code_unique', properties: ['code'], where: { deletedAt: null } }],
  checks: [
    { name: 'promo_code_window_order', expression: 'starts_at is null or expires_at is null or starts_at < expires_at' },
    {
      name: 'promo_code_value_range',
      expression: "(type = 'percent' and value between 1 and 100) or (type = 'fixed' and value between 1 and 100000000)",
    },
    { name: 'promo_code_redemption_counts', expression: 'redemptions >= 0 and (max_redemptions is null or max_redemptions >= 1)' },
  ],
});

export class PromoCode extends PromoCodeSchema.class {
  /**
   * The first reason (in contract order) why this code cannot be used now, ignoring
   * per-user history (`already_used`), which needs the database.
   */
  unusableReason(now: Date): Exclude<PromoCodeInvalidReason, 'not_found' | 'already_used' | 'min_subtotal_not_met'> | undefined {
    if (!this.active) return 'inactive';
    if (this.expiresAt && now >= this.expiresAt) return 'expired';
    if (this.startsAt && now < this.startsAt) return 'not_started';
    if (this.maxRedemptions !== null && this.maxRedemptions !== undefined && this.redemptions >= this.maxRedemptions) {
      return 'exhausted';
    }
    return undefined;
  }

  meetsMinimum(subtotalCents: number): boolean {
    return subtotalCents >= this.minSubtotalCents;
  }

  /** Discount in cents: percent rounds half-up to the cent; fixed is capped at the subtotal. */
  discountFor(subtotalCents: number): number {
    if (this.type === 'percent') {
      return Math.min(subtotalCents, Math.floor((subtotalCents * this.value + 50) / 100));
    }
    return Math.min(this.value, subtotalCents);
  }
}

PromoCodeSchema.setClass(PromoCode);
