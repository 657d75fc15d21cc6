import { randomUUID } from 'node:crypto';
import type { Em } from '../../db/orm.js';
import { unknownTokenUser } from '../../context/auth.js';
import { queryRows, sql, verbatim } from '../../db/sql.js';
import { MAX_CART_LINES, MAX_LINE_QUANTITY } from './schemas.js';

/** `updated_at` in the contract's format, computed by PostgreSQL (no Date parsing and re-formatting in the app). */
const UPDATED_AT = verbatim(`to_char(c.updated_at at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"')`);

/**
 * Opens the user's active cart when there is none. The partial unique index
 * `cart_one_active_per_user` decides races between two first requests: the loser
 * waits for the winner's row and then does nothing. Timestamps come from the
 * database clock, as every later `updated_at` does. Answers whether the user row
 * exists (a deleted user's token opens nothing: tokenProcedure).
 */
const insertActiveCartIfMissing = (userId: string) => sql<{ userExists: boolean }>`
  with owner as (select u.id from users u where u.id = ${userId}::uuid), opened as (
    insert into cart (id, user_id, status, created_at, updated_at)
    select ${randomUUID()}::uuid, owner.id, 'active', clock_timestamp(), clock_timestamp() from owner
    on conflict (user_id) where status = 'active' do nothing
  )
  select exists (select 1 from owner) as "userExists"`;

const OPEN_CART_ATTEMPTS = 3;

/**
 * The user's active cart, created when there is none (for a first read: the
 * caller reads it as a whole afterwards). False: the user row does not exist.
 */
export async function openActiveCart(em: Em, userId: string): Promise<boolean> {
  const [opened] = await queryRows(em, insertActiveCartIfMissing(userId));
  return opened!.userExists;
}

/**
 * Locks the user's active cart (opening one if there is none) and touches its
 * `updated_at`, inside the caller's transaction: one mutation of a cart at a
 * time, and every checkout of it waits too. The UPDATE takes the row lock
 * (as FOR UPDATE would) and, when it had to wait, re-checks `status = 'active'`
 * on the row it finally locks: a cart a checkout closed meanwhile is not
 * touched, and a new one is opened instead. `clock_timestamp()` is evaluated
 * once the lock is held, so `updated_at` grows with the order of the mutations.
 * A mutation that fails rolls the touch back with everything else.
 *
 * The cart row also proves that the token's user still exists (tokenProcedure):
 * carts go with their user (`on delete cascade`), and a cart that is missing is
 * only opened for a user row that is there.
 */
export async function touchActiveCart(tem: Em, userId: string): Promise<CartHead> {
  for (let attempt = 1; ; attempt++) {
    const [cart] = await queryRows(
      tem,
      sql<CartHead>`
        update cart c set updated_at = clock_timestamp()
        where c.user_id = ${userId}::uuid and c.status = 'active'
        returning c.id, c.promo_code as "promoCode", ${UPDATED_AT} as "updatedAt"`,
    );
    if (cart) return cart;
    if (attempt === OPEN_CART_ATTEMPTS) throw new Error(`No active cart for user ${userId} after ${attempt} attempts`);
    if (!(await openActiveCart(tem, userId))) throw unknownTokenUser();
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

/** First added first; every statement reads VISIBLE_LINES under the alias `line`. */
const LINE_ORDER = verbatim('line.added_at, line.id');

const toLine = ({ id, productId, name, imageUrl, priceCents, stock, quantity }: CartLine): CartLine => ({ id, productId, name, imageUrl, priceCents, stock, quantity });

/** The visible lines of a cart; inside a transaction, as that transaction sees them. */
export async function cartLines(em: Em, cartId: string): Promise<CartLine[]> {
  const rows = await queryRows(em, sql<CartLine>`select * from (${VISIBLE_LINES} where ci.cart_id = ${cartId}::uuid) line order by ${LINE_ORDER}`);
  return rows.map(toLine);
}

type ActiveCartRow = { cart_id: string | null; promo_code: string | null; updated_at: string | null } & (CartLine | { [K in keyof CartLine]: null });

/** What a signed-in read finds: no user row (a deleted user's token), no active cart yet, or the cart. */
export type ActiveCartRead = { user: 'missing' } | { user: 'found'; active: { cart: CartHead; lines: CartLine[] } | undefined };

/**
 * The user's active cart and its visible lines in one statement (one snapshot, one round trip),
 * starting from the user's row: the statement is also the request's proof that the user of its
 * token still exists (tokenProcedure), which a separate lookup would cost a second round trip for.
 */
export async function readActiveCart(em: Em, userId: string): Promise<ActiveCartRead> {
  const rows = await queryRows(
    em,
    sql<ActiveCartRow>`
      select c.id as cart_id, c.promo_code, ${UPDATED_AT} as updated_at, line.*
      from users u
      left join cart c on c.user_id = u.id and c.status = 'active'
      left join lateral (${VISIBLE_LINES} where ci.cart_id = c.id) line on true
      where u.id = ${userId}::uuid
      order by ${LINE_ORDER}`,
  );
  const first = rows[0];
  if (!first) return { user: 'missing' };
  if (first.cart_id === null) return { user: 'found', active: undefined };
  const lines = rows.filter((row): row is ActiveCartRow & CartLine => row.id !== null).map(toLine);
  return { user: 'found', active: { cart: { id: first.cart_id, promoCode: first.promo_code, updatedAt: first.updated_at! }, lines } };
}

/*
 * Cart changes, one statement each, run inside a mutation's transaction after
 * touchActiveCart locked the cart: nothing else changes this cart's lines until
 * commit, so what a statement reads of them (taken after the lock, in its own
 * snapshot under READ COMMITTED) is what it writes over.
 */

/** The limits of a line (contract §5), in SQL: `available = min(99, stock)`. */
const AVAILABLE = verbatim(`least(${MAX_LINE_QUANTITY}, p.stock)`);

/** Lines whose product still exists: the ones a response shows and MAX_CART_LINES counts. */
const countVisibleLines = (cartId: string) =>
  sql`select count(*)::int from cart_item ci join product p on p.id = ci.product_id and p.deleted_at is null where ci.cart_id = ${cartId}::uuid`;

/**
 * What adding decided: `product` undefined when the product does not exist (or
 * is deleted); otherwise, when nothing was `written`, the numbers that say why
 * (too many lines, or `requested` above `available`). `lines` are the cart's
 * visible lines after the change.
 */
export interface AddUnitsOutcome {
  productId: string | undefined;
  available: number;
  requested: number;
  hasLine: boolean;
  lines: number;
  written: boolean;
  cartLines: CartLine[];
}

interface AddUnitsRow {
  wanted_id: string | null;
  wanted_name: string | null;
  wanted_image_url: string | null;
  wanted_price_cents: number | null;
  wanted_stock: number | null;
  available: number | null;
  requested: number;
  has_line: boolean;
  lines: number;
  written: boolean;
}

/**
 * Adds `quantity` units of a product: a new line, or more on the product's line,
 * only when the resulting quantity fits `min(99, stock)` and a new line fits
 * under MAX_CART_LINES. The line count is only taken when a new line is needed.
 * The product is read, not locked or written: cart writes never touch products.
 * (The product's CTE is `wanted`: named `product` it would hide the table from the line count.)
 *
 * The same statement returns the cart's visible lines as they were before the
 * change (its snapshot cannot see its own insert), one row each; with the cart
 * locked they are exactly the lines the change applies to, so the lines after it
 * are computed here instead of read back in a second statement: the product's
 * line gets its new quantity, or the new line comes last (added last, under the lock).
 */
export async function addUnits(tem: Em, cartId: string, productId: string, quantity: number): Promise<AddUnitsOutcome> {
  const lineId = randomUUID();
  const rows = await queryRows(
    tem,
    sql<AddUnitsRow & (CartLine | { [K in keyof CartLine]: null })>`
      with wanted as (
        select p.id, p.name, p.image_url, p.price_cents, p.stock, ${AVAILABLE} as available
        from product p where p.id = ${productId}::uuid and p.deleted_at is null
      ), line as (
        select ci.quantity from cart_item ci where ci.cart_id = ${cartId}::uuid and ci.product_id = ${productId}::uuid
      ), attempt as (
        select coalesce((select quantity from line), 0) + ${quantity}::int as requested,
               exists (select 1 from line) as has_line
      ), room as (
        select case when attempt.has_line then 0 else (${countVisibleLines(cartId)}) end as lines from attempt
      ), written as (
        insert into cart_item (id, cart_id, product_id, quantity)
        select ${lineId}::uuid, ${cartId}::uuid, wanted.id, attempt.requested
        from wanted, attempt, room
        where attempt.requested <= wanted.available and (attempt.has_line or room.lines < ${MAX_CART_LINES})
        on conflict (cart_id, product_id) do update set quantity = excluded.quantity
        returning 1
      ), outcome as (
        select wanted.id as wanted_id, wanted.name as wanted_name, wanted.image_url as wanted_image_url,
               wanted.price_cents as wanted_price_cents, wanted.stock as wanted_stock, wanted.available,
               attempt.requested, attempt.has_line, room.lines, exists (select 1 from written) as written
        from attempt cross join room left join wanted on true
      )
      select outcome.*, line.*
      from outcome left join lateral (${VISIBLE_LINES} where ci.cart_id = ${cartId}::uuid) line on true
      order by ${LINE_ORDER}`,
  );
  const first = rows[0]!;
  const before = rows.filter((row): row is AddUnitsRow & CartLine => row.id !== null).map(toLine);
  const outcome = {
    productId: first.wanted_id ?? undefined,
    available: first.available ?? 0,
    requested: first.requested,
    hasLine: first.has_line,
    lines: first.lines,
    written: first.written,
  };
  if (!outcome.written) return { ...outcome, cartLines: before };
  const after = first.has_line
    ? before.map((line) => (line.productId === first.wanted_id ? { ...line, quantity: first.requested } : line))
    : [
        ...before,
        {
          id: lineId,
          productId: first.wanted_id!,
          name: first.wanted_name!,
          imageUrl: first.wanted_image_url,
          priceCents: first.wanted_price_cents!,
          stock: first.wanted_stock!,
          quantity: first.requested,
        },
      ];
  return { ...outcome, cartLines: after };
}

/** The line's product and what it may hold; no row when the line is not this cart's or its product is deleted. */
export interface SetQuantityOutcome {
  productId: string;
  available: number;
  written: boolean;
}

/** Sets a line's quantity when it fits `min(99, stock)`. */
export const setLineQuantity = (cartId: string, itemId: string, quantity: number) => sql<SetQuantityOutcome>`
  with line as (
    select ci.id, p.id as product_id, ${AVAILABLE} as available
    from cart_item ci join product p on p.id = ci.product_id and p.deleted_at is null
    where ci.id = ${itemId}::uuid and ci.cart_id = ${cartId}::uuid
  ), written as (
    update cart_item ci set quantity = ${quantity}::int from line where ci.id = line.id and ${quantity}::int <= line.available
    returning 1
  )
  select line.product_id as "productId", line.available, exists (select 1 from written) as written from line`;

/** Removes a visible line of this cart; no row when there is none. */
export const removeLine = (cartId: string, itemId: string) => sql<{ id: string }>`
  delete from cart_item ci using product p
  where ci.id = ${itemId}::uuid and ci.cart_id = ${cartId}::uuid and p.id = ci.product_id and p.deleted_at is null
  returning ci.id`;

/** Every line (those of deleted products too) and the applied code. */
export const emptyCart = (cartId: string) => sql`
  with emptied as (delete from cart_item where cart_id = ${cartId}::uuid)
  update cart set promo_code = null where id = ${cartId}::uuid`;

export const setPromoCode = (cartId: string, code: string | null) => sql`update cart set promo_code = ${code}::text where id = ${cartId}::uuid`;
