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
    /**
     * Microsecond precision from the database clock, taken while the cart row is
     * locked: lines are listed in the order they were first added.
     */
    createdAt: p.datetime(6).defaultRaw('clock_timestamp()'),
  },
  uniques: [{ name: 'cart_item_one_line_per_product', properties: ['cart', 'product'] }],
  checks: [{ name: 'cart_item_quantity_range', expression: 'quantity >= 1 and quantity <= 99' }],
});

export class CartItem extends CartItemSchema.class {}

CartItemSchema.setClass(CartItem);
