import { randomUUID } from 'node:crypto';
import { LockMode } from '@mikro-orm/core';
import type { Em } from '../../db/orm.js';
import { queryRows, sql, verbatim } from '../../db/sql.js';
import { Cart } from '../../entities/Cart.js';

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

/**
 * A visible line of a cart as a response shows it: its product's current name, price and stock,
 * straight from the row. Reads skip entity hydration: a cart response needs five product columns,
 * and hydrating whole products (descriptions, attributes, search text) was most of its CPU.
 */
export interface CartLine {
  id: string;
  productId: string;
  name: string;
  imageUrl: string | null;
  priceCents: number;
  stock: number;
  quantity: number;
}

/** The cart fields a response shows; `updatedAt` already in the contract's format. */
export interface CartHead {
  id: string;
  promoCode: string | null;
  updatedAt: string;
}

/** Lines of products that still exist (deleted ones never show), first added first. */
const VISIBLE_LINES = verbatim(`
  select ci.id, ci.product_id as "productId", p.name, p.image_url as "imageUrl", p.price_cents as "priceCents", p.stock, ci.quantity,
         ci.created_at as added_at
  from cart_item ci
  join product p on p.id = ci.product_id and p.deleted_at is null`);

const LINE_ORDER = 'added_at, id';

const toLine = ({ id, productId, name, imageUrl, priceCents, stock, quantity }: CartLine): CartLine => ({ id, productId, name, imageUrl, priceCents, stock, quantity });

/** The visible lines of a cart; inside a transaction, as that transaction sees them. */
export async function cartLines(em: Em, cartId: string): Promise<CartLine[]> {
  const rows = await queryRows(em, sql<CartLine>`select * from (${VISIBLE_LINES} where ci.cart_id = ${cartId}::uuid) line order by ${verbatim(LINE_ORDER)}`);
  return rows.map(toLine);
}

type ActiveCartRow = { cart_id: string; promo_code: string | null; updated_at: string } & (CartLine | { [K in keyof CartLine]: null });

/**
 * The user's active cart and its visible lines in one statement (one snapshot, one round trip),
 * or undefined when the user has no active cart yet.
 */
export async function readActiveCart(em: Em, userId: string): Promise<{ cart: CartHead; lines: CartLine[] } | undefined> {
  const rows = await queryRows(
    em,
    sql<ActiveCartRow>`
      select c.id as cart_id, c.promo_code, to_char(c.updated_at at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"') as updated_at, line.*
      from cart c
      left join lateral (${VISIBLE_LINES} where ci.cart_id = c.id) line on true
      where c.user_id = ${userId}::uuid and c.status = 'active'
      order by ${verbatim(LINE_ORDER.split(', ').map((column) => `line.${column}`).join(', '))}`,
  );
  const first = rows[0];
  if (!first) return undefined;
  const lines = rows.filter((row): row is ActiveCartRow & CartLine => row.id !== null).map(toLine);
  return { cart: { id: first.cart_id, promoCode: first.promo_code, updatedAt: first.updated_at }, lines };
}
