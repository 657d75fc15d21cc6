import { randomUUID } from 'node:crypto';
import { defineEntity, p } from '@mikro-orm/core';
import { User } from './User.js';

export const OrderSchema = defineEntity({
  name: 'Order',
  tableName: 'orders',
  properties: {
    id: p.uuid().primary().onCreate(() => randomUUID()),
    user: () => p.manyToOne(User).ref().deleteRule('cascade'),
    status: p.enum(['placed'] as const).default('placed'),
    itemCount: p.integer(),
    // 8-byte sums (migration `Migration20261202100000_wide_money`), read as plain numbers: exact below 2^53.
    subtotalCents: p.bigint('number'),
    discountCents: p.bigint('number'),
    totalCents: p.bigint('number'),
    currency: p.string().length(3),
    /** Text snapshot: survives promo code edits and deletion. */
    promoCode: p.string().length(32).nullable(),
    items: () => p.oneToMany(OrderItem).mappedBy('order').orderBy({ position: 'asc' }),
    createdAt: p.datetime(3).onCreate(() => new Date()),
  },
  indexes: [{ name: 'orders_user_history', properties: ['user', 'createdAt', 'id'] }],
});

export class Order extends OrderSchema.class {}

OrderSchema.setClass(Order);

export const OrderItemSchema = defineEntity({
  name: 'OrderItem',
  properties: {
    id: p.uuid().primary().onCreate(() => randomUUID()),
    order: () => p.manyToOne(Order).ref().deleteRule('cascade'),
    position: p.integer(),
    /** Plain id, no foreign key: the order outlives the product. */
    productId: p.uuid(),
    name: p.string().length(200),
    unitPriceCents: p.integer(),
    quantity: p.integer(),
    lineTotalCents: p.bigint('number'),
  },
  indexes: [{ name: 'order_item_order_position', properties: ['order', 'position'] }],
});

export class OrderItem extends OrderItemSchema.class {}

OrderItemSchema.setClass(OrderItem);
