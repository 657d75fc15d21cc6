import { randomUUID } from 'node:crypto';
import { defineEntity, p } from '@mikro-orm/core';
import { User } from './User.js';

export const CART_STATUSES = ['active', 'checked_out'] as const;

export const CartSchema = defineEntity({
  name: 'Cart',
  properties: {
    id: p.uuid().primary().onCreate(() => randomUUID()),
    user: () => p.manyToOne(User).ref().deleteRule('cascade'),
    status: p.enum(CART_STATUSES).default('active'),
    /** The applied code's text; resolved against live promo codes on every read. */
    promoCode: p.string().length(32).nullable(),
    createdAt: p.datetime(3).onCreate(() => new Date()),
    updatedAt: p.datetime(3).onCreate(() => new Date()).onUpdate(() => new Date()),
  },
  // One active cart per user, enforced by the database rather than by code.
  uniques: [{ name: 'cart_one_active_per_user', properties: ['user'], where: { status: 'active' } }],
});

export class Cart extends CartSchema.class {}

CartSchema.setClass(Cart);
