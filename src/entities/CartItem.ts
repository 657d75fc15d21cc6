import { randomUUID } from 'node:crypto';
import { defineEntity, p } from '@mikro-orm/core';
import { Cart } from './Cart.js';
import { Product } from './Product.js';

export const CartItemSchema = defineEntity({
  name: 'CartItem',
  properties: {
    id: p.uuid().primary().onCreate(() => randomUUID()),
    cart: () => p.manyToOne(Cart).ref().deleteRule('cascade'),
    product: () => p.manyToOne(Product).ref().deleteRule('cascade'),
    quantity: p.integer(),
    /** Microsecond precision: lines are listed in the order they were first added. */
    createdAt: p.datetime(6).onCreate(() => new Date()),
  },
  uniques: [{ name: 'cart_item_one_line_per_product', properties: ['cart', 'product'] }],
});

export class CartItem extends CartItemSchema.class {}

CartItemSchema.setClass(CartItem);
