import { setTimeout as sleep } from 'node:timers/promises';
import { DeadlockException, LockWaitTimeoutException } from '@mikro-orm/core';
import { arrayLiteral } from '../../db/array-literal.js';
import type { Em } from '../../db/orm.js';
import type { Cart } from '../../entities/Cart.js';
import type { CartLine } from '../cart/queries.js';
import { Order } from '../../entities/Order.js';
import type { PromoCode } from '../../entities/PromoCode.js';
import { AppError, insufficientStock, type StockShortfall } from '../../errors.js';
import { cartLines, lockActiveCart } from '../cart/queries.js';
import type { OrderOutput } from '../orders/schemas.js';
import { toOrderOutput } from '../orders/service.js';
import { assertPromoCodeUsable, redeemPromoCode } from '../promo-codes/redemption.js';
import { claimIdempotencyKey, parseIdempotencyKey, rememberResponse, requestFingerprint } from './idempotency.js';
import type { CheckoutInput } from './schemas.js';

export interface CheckoutRequest {
  userId: string;
  currency: string;
  input: CheckoutInput;
  /** The raw `Idempotency-Key` header, if one was sent. */
  idempotencyKey: string | undefined;
}

export interface CheckoutResult {
  order: OrderOutput;
  /** True when the order was placed by an earlier request with the same key. */
  replayed: boolean;
}

const TRANSACTION_ATTEMPTS = 3;

/**
 * Checkout (contract §6) as a few named steps inside ONE transaction, so that
 * any error rolls everything back:
 *
 *   claimIdempotencyKey → lockCartWithLines → reserveStock → snapshotLines →
 *   applyPromotion → placeOrder (+ redeemPromoCode) → closeCart → rememberResponse
 *
 * Precedence of the 409s follows the step order: CART_EMPTY, then
 * INSUFFICIENT_STOCK, then PROMO_CODE_INVALID.
 */
export async function submitCheckout(em: Em, request: CheckoutRequest): Promise<CheckoutResult> {
  const key = parseIdempotencyKey(request.idempotencyKey);
  const requestHash = requestFingerprint(request.input);
  return retryTransientConflicts(() =>
    em.transactional(
      async (tem) => {
        const now = new Date();
        const claim = key ? await claimIdempotencyKey(tem, { userId: request.userId, key, requestHash, now }) : undefined;
        if (claim?.kind === 'replay') return { order: claim.response, replayed: true };

        const { cart, lines } = await lockCartWithLines(tem, request.userId);
        const products = await reserveStock(tem, lines);
        const snapshot = snapshotLines(lines, products);
        const promotion = await applyPromotion(tem, {
          code: requestedPromoCode(request.input) ?? cart.promoCode ?? undefined,
          userId: request.userId,
          subtotalCents: subtotalCentsOf(snapshot),
          now,
        });
        const order = await placeOrder(tem, { userId: request.userId, currency: request.currency, snapshot, promotion });
        closeCart(cart);
        await tem.flush();

        const response = toOrderOutput(order);
        if (claim) await rememberResponse(tem, { claimId: claim.id, orderId: order.id, response, now });
        return { order: response, replayed: false };
      },
      { clear: true },
    ),
  );
}

/** A string (non-blank after trimming) overrides the cart's code; null, absent or blank keeps it. */
function requestedPromoCode(input: CheckoutInput): string | undefined {
  const code = input.promoCode?.trim();
  return code ? code : undefined;
}

/**
 * The row lock makes a second checkout of the same cart wait; once the first
 * commits, the cart is no longer active and the second finds nothing: CART_EMPTY.
 */
async function lockCartWithLines(tem: Em, userId: string): Promise<{ cart: Cart; lines: CartLine[] }> {
  const cart = await lockActiveCart(tem, userId);
  const lines = cart ? await cartLines(tem, cart.id) : [];
  if (!cart || lines.length === 0) throw new AppError('CART_EMPTY', 'The cart is empty');
  return { cart, lines };
}

/** What the order records of a product, read under its row lock. */
interface LockedProduct {
  id: string;
  name: string;
  price_cents: number;
  stock: number;
}

/**
 * Locks the lines' products in id order, so that overlapping checkouts always
 * lock rows in the same order and cannot deadlock, then takes every line's
 * stock in one statement. Nothing is written unless every line fits; every line
 * that does not fit is reported, not just the first. Returns the products as
 * read under the locks: nobody can change their names and prices before commit.
 */
async function reserveStock(tem: Em, lines: CartLine[]): Promise<Map<string, LockedProduct>> {
  const ids = arrayLiteral(lines.map((line) => line.productId));
  const locked = await tem.execute<LockedProduct[]>(
    `select id, name, price_cents, stock from product where id = any(?::uuid[]) and deleted_at is null order by id for update`,
    [ids],
  );
  const byId = new Map(locked.map((product) => [product.id, product]));
  const shortfalls: StockShortfall[] = lines.flatMap((line) => {
    const available = byId.get(line.productId)?.stock ?? 0;
    return available < line.quantity ? [{ productId: line.productId, requested: line.quantity, available }] : [];
  });
  if (shortfalls.length > 0) throw insufficientStock(shortfalls);
  await tem.execute(
    `update product p set stock = p.stock - line.quantity
     from unnest(?::uuid[], ?::int[]) as line(id, quantity) where p.id = line.id`,
    [ids, arrayLiteral(lines.map((line) => line.quantity))],
    'run',
  );
  return byId;
}

interface LineSnapshot {
  position: number;
  productId: string;
  name: string;
  unitPriceCents: number;
  quantity: number;
  lineTotalCents: number;
}

/** The lines as the order records them: names and prices of the locked products. */
function snapshotLines(lines: CartLine[], products: Map<string, LockedProduct>): LineSnapshot[] {
  return lines.map((line, position) => {
    const product = products.get(line.productId)!;
    return {
      position,
      productId: product.id,
      name: product.name,
      unitPriceCents: product.price_cents,
      quantity: line.quantity,
      lineTotalCents: product.price_cents * line.quantity,
    };
  });
}

const subtotalCentsOf = (snapshot: LineSnapshot[]): number => snapshot.reduce((sum, item) => sum + item.lineTotalCents, 0);

interface Promotion {
  promo: PromoCode;
  discountCents: number;
}

/** Re-checks every promo rule inside the transaction; the redemption itself happens once the order exists. */
async function applyPromotion(
  tem: Em,
  args: { code: string | undefined; userId: string; subtotalCents: number; now: Date },
): Promise<Promotion | undefined> {
  if (!args.code) return undefined;
  return assertPromoCodeUsable(tem, { code: args.code, userId: args.userId, subtotalCents: args.subtotalCents, now: args.now });
}

/** Writes the order as a snapshot of the cart, then takes the promo redemption that references it. */
async function placeOrder(
  tem: Em,
  args: { userId: string; currency: string; snapshot: LineSnapshot[]; promotion: Promotion | undefined },
): Promise<Order> {
  const subtotalCents = subtotalCentsOf(args.snapshot);
  const discountCents = args.promotion?.discountCents ?? 0;
  const order = tem.create(Order, {
    user: args.userId,
    itemCount: args.snapshot.reduce((sum, item) => sum + item.quantity, 0),
    subtotalCents,
    discountCents,
    totalCents: subtotalCents - discountCents,
    currency: args.currency,
    promoCode: args.promotion?.promo.code ?? null,
    items: args.snapshot,
  });
  await tem.flush();
  if (args.promotion) await redeemPromoCode(tem, { promo: args.promotion.promo, userId: args.userId, orderId: order.id });
  return order;
}

/** The next read of the cart opens a new, empty one. */
function closeCart(cart: Cart): void {
  cart.status = 'checked_out';
  cart.updatedAt = new Date();
}

/**
 * Row locks in a fixed order make deadlocks unlikely, not impossible (other
 * features lock rows too); a transaction PostgreSQL aborted as a deadlock or
 * serialization victim is simply run again, after a short jittered pause.
 */
async function retryTransientConflicts<T>(run: () => Promise<T>): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await run();
    } catch (error) {
      const transient = error instanceof DeadlockException || error instanceof LockWaitTimeoutException;
      if (!transient || attempt === TRANSACTION_ATTEMPTS) throw error;
      await sleep(attempt * (10 + Math.random() * 40));
    }
  }
}
