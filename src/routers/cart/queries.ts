import { randomUUID } from 'node:crypto';
import { LockMode } from '@mikro-orm/core';
import type { Em } from '../../db/orm.js';
import { Cart } from '../../entities/Cart.js';
import { CartItem } from '../../entities/CartItem.js';

/**
 * The partial unique index `cart_one_active_per_user` decides races between two
 * first requests: the loser waits for the winner's row and then does nothing.
 */
const INSERT_ACTIVE_CART_IF_MISSING = `
  insert into "cart" ("id", "user_id", "status", "created_at", "updated_at")
  values (?, ?, 'active', ?, ?)
  on conflict ("user_id") where "status" = 'active' do nothing`;

/**
 * The active cart locked FOR UPDATE, or null when there is none. A request that
 * waited for the lock while a checkout closed the cart gets null: PostgreSQL
 * re-checks `status = 'active'` on the row it finally locks.
 */
export function lockActiveCart(em: Em, userId: string): Promise<Cart | null> {
  return em.findOne(Cart, { user: userId, status: 'active' }, { lockMode: LockMode.PESSIMISTIC_WRITE });
}

const OPEN_CART_ATTEMPTS = 3;

/**
 * The user's active cart, created when there is none. With `lock` the row is
 * locked FOR UPDATE (inside a transaction), which serializes every mutation of
 * one cart and every checkout of it.
 */
export async function openActiveCart(em: Em, userId: string, opts: { lock?: boolean } = {}): Promise<Cart> {
  for (let attempt = 1; ; attempt++) {
    const cart = opts.lock ? await lockActiveCart(em, userId) : await em.findOne(Cart, { user: userId, status: 'active' });
    if (cart) return cart;
    // None yet, or a checkout closed it while we waited for the lock: open one (or find the one a racing request opened).
    if (attempt === OPEN_CART_ATTEMPTS) throw new Error(`No active cart for user ${userId} after ${attempt} attempts`);
    const now = new Date();
    await em.execute(INSERT_ACTIVE_CART_IF_MISSING, [randomUUID(), userId, now, now], 'run');
  }
}

/** The visible lines of a cart (deleted products never show), first-added first, products loaded. */
export function cartLines(em: Em, cartId: string): Promise<CartItem[]> {
  return em.find(
    CartItem,
    { cart: cartId, product: { deletedAt: null } },
    { populate: ['product'], orderBy: [{ createdAt: 'asc' }, { id: 'asc' }] },
  );
}
