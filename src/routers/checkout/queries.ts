import { arrayLiteral } from '../../db/array-literal.js';
import { sql } from '../../db/sql.js';

/**
 * Checkout's statements (contract §6), each run inside the checkout transaction,
 * in this order: close the cart (which locks it), read its lines, lock their
 * products, then take the stock and write the order in one statement.
 */

/** The cart a checkout closed: its id and applied code. */
export interface ClosedCart {
  id: string;
  promoCode: string | null;
}

/**
 * Closes the user's active cart, which locks it: a second checkout of the same
 * cart, and every cart mutation, waits; once this transaction commits, PostgreSQL
 * re-checks `status = 'active'` on the row they finally lock and finds nothing
 * (a second checkout answers CART_EMPTY; a mutation opens the next cart). If the
 * checkout fails, the rollback reopens it. No row: the user has no active cart.
 */
export const closeActiveCart = (userId: string) => sql<ClosedCart>`
  update cart c set status = 'checked_out', updated_at = clock_timestamp()
  where c.user_id = ${userId}::uuid and c.status = 'active'
  returning c.id, c.promo_code as "promoCode"`;

/** What the order records of a product, read under its row lock. */
export interface LockedProduct {
  id: string;
  name: string;
  priceCents: number;
  stock: number;
}

/**
 * Locks the lines' products in id order, so that overlapping checkouts always
 * lock rows in the same order and cannot deadlock. Returns the products as read
 * under the locks: nobody can change their names, prices or stock before commit.
 * A product deleted meanwhile is missing (its line then has nothing available).
 */
export const lockProducts = (productIds: readonly string[]) => sql<LockedProduct>`
  select p.id, p.name, p.price_cents as "priceCents", p.stock from product p
  where p.id = any(${arrayLiteral(productIds)}::uuid[]) and p.deleted_at is null
  order by p.id for update`;

export interface PlacedLine {
  productId: string;
  quantity: number;
}

export interface OrderRow {
  id: string;
  userId: string;
  itemCount: number;
  subtotalCents: number;
  discountCents: number;
  totalCents: number;
  currency: string;
  promoCode: string | null;
  createdAt: Date;
}

/**
 * Takes every line's stock, writes the order and its items (in cart order, names
 * and prices of the locked products), in one statement: the products were locked
 * and every line checked against their stock just before, so every update finds
 * its row and the stock check constraint never fires. The product change-log
 * triggers see one stock update per product, as before.
 */
export const placeOrder = (order: OrderRow, lines: readonly PlacedLine[]) => {
  const productIds = arrayLiteral(lines.map((line) => line.productId));
  const quantities = arrayLiteral(lines.map((line) => line.quantity));
  return sql`
    with taken as (
      update product p set stock = p.stock - line.quantity
      from unnest(${productIds}::uuid[], ${quantities}::int[]) as line(id, quantity) where p.id = line.id
    ), placed as (
      insert into orders (id, user_id, status, item_count, subtotal_cents, discount_cents, total_cents, currency, promo_code, created_at)
      values (${order.id}::uuid, ${order.userId}::uuid, 'placed', ${order.itemCount}::int, ${order.subtotalCents}::bigint,
              ${order.discountCents}::bigint, ${order.totalCents}::bigint, ${order.currency}::text, ${order.promoCode}::text,
              ${order.createdAt.toISOString()}::timestamptz)
      returning id
    )
    insert into order_item (id, order_id, position, product_id, name, unit_price_cents, quantity, line_total_cents)
    select gen_random_uuid(), placed.id, line.position - 1, p.id, p.name, p.price_cents, line.quantity, p.price_cents::bigint * line.quantity
    from placed
    cross join unnest(${productIds}::uuid[], ${quantities}::int[]) with ordinality as line(id, quantity, position)
    join product p on p.id = line.id`;
};
