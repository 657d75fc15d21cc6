import { randomUUID } from 'node:crypto';
import { defineEntity, p } from '@mikro-orm/core';
import { Order } from './Order.js';
import { PromoCode } from './PromoCode.js';
import { User } from './User.js';

export const PromoRedemptionSchema = defineEntity({
  name: 'PromoRedemption',
  properties: {
    id: p.uuid().primary().onCreate(() => randomUUID()),
    promoCode: () => p.manyToOne(PromoCode).ref().deleteRule('cascade'),
    user: () => p.manyToOne(User).ref().deleteRule('cascade'),
    order: () => p.manyToOne(Order).ref().deleteRule('cascade'),
    createdAt: p.datetime(3).onCreate(() => new Date()),
  },
  // "Each user may redeem a given code once", enforced by the database.
  uniques: [{ name: 'promo_redemption_once_per_user', properties: ['promoCode', 'user'] }],
});

export class PromoRedemption extends PromoRedemptionSchema.class {}

PromoRedemptionSchema.setClass(PromoRedemption);
