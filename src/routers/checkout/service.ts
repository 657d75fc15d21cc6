import { randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { DeadlockException, LockWaitTimeoutException } from '@mikro-orm/core';
import type { Em } from '../../db/orm.js';
import { queryRows } from '../../db/sql.js';
import type { PromoCode } from '../../entities/PromoCode.js';
import { cartEmpty, insufficientStock, type StockShortfall } from '../../errors.js';
import { cartLines, type CartLine } from '../cart/queries.js';
import type { OrderOutput } from '../orders/schemas.js';
import { toOrderOutput } from '../orders/service.js';
import { assertPromoCodeUsable, redeemPromoCode } from '../promo-codes/redemption.js';
import { claimIdempotencyKey, parseIdempotencyKey, rememberResponse, requestFingerprint } from './idempotency.js';
import { closeActiveCart, lockProducts, placeOrder as placeOrderStatement, type ClosedCart, type LockedProduct, type OrderRow } from './queries.js';
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
 *   claimIdempotencyKey → closeCart (locks it) → cartLines → reserveStock (locks
 *   the products) → snapshotLines → applyPromotion → placeOrder (takes the stock,
 *   writes the order) → redeemPromoCode → rememberResponse
 *
 * Precedence of the 409s follows the step order: CART_EMPTY, then
 * INSUFFICIENT_STOCK, then PROMO_CODE_INVALID. Without a key or a code that is
 * four statements between BEGIN and COMMIT, each prepared once per connection
 * (with the entity unit of work it was about eight, plus entity creation, flush
 * and serialization); the order is written with plain SQL and answered from the
 * snapshot it was written from.
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

        const { cart, lines } = await closeCartWithLines(tem, request.userId);
        const products = await reserveStock(tem, lines);
        const snapshot = snapshotLines(lines, products);
        const promotion = await applyPromotion(tem, {
          code: requestedPromoCode(request.input) ?? cart.promoCode ?? undefined,
          userId: request.userId,
          subtotalCents: subtotalCentsOf(snapshot),
          now,
        });
        const order = await placeOrder(tem, { userId: request.userId, currency: request.currency, snapshot, promotion, now });

        if (claim) await rememberResponse(tem, { claimId: claim.id, orderId: order.id, response: order, now });
        return { order, replayed: false };
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
 * Closing the cart first locks it: a second checkout of the same cart waits, and
 * once the first commits finds no active cart: CART_EMPTY. The lines are read
 * after the lock is held (a statement of their own, so its snapshot includes
 * every change committed before the lock was granted).
 */
async function closeCartWithLines(tem: Em, userId: string): Promise<{ cart: ClosedCart; lines: CartLine[] }> {
  const [cart] = await queryRows(tem, closeActiveCart(userId));
  const lines = cart ? await cartLines(tem, cart.id) : [];
  if (!cart || lines.length === 0) throw cartEmpty();
  return { cart, lines };
}

/**
 * Locks the lines' products (in id order, see lockProducts) and checks every
 * line against the stock read under the locks. Nothing is written here; every
 * line that does not fit is reported, not just the first.
 */
async function reserveStock(tem: Em, lines: CartLine[]): Promise<Map<string, LockedProduct>> {
  const locked = await queryRows(tem, lockProducts(lines.map((line) => line.productId)));
  const byId = new Map(locked.map((product) => [product.id, product]));
  const shortfalls: StockShortfall[] = lines.flatMap((line) => {
    const available = byId.get(line.productId)?.stock ?? 0;
    return available < line.quantity ? [{ productId: line.productId, requested: line.quantity, available }] : [];
  });
  if (shortfalls.length > 0) throw insufficientStock(shortfalls);
  return byId;
}

interface LineSnapshot {
  productId: string;
  name: string;
  unitPriceCents: number;
  quantity: number;
  lineTotalCents: number;
}

/** The lines as the order records them: names and prices of the locked products, in cart order. */
function snapshotLines(lines: CartLine[], products: Map<string, LockedProduct>): LineSnapshot[] {
  return lines.map((line) => {
    const product = products.get(line.productId)!;
    return {
      productId: product.id,
      name: product.name,
      unitPriceCents: product.priceCents,
      quantity: line.quantity,
      lineTotalCents: product.priceCents * line.quantity,
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

/**
 * Takes the stock and writes the order as a snapshot of the cart (one statement),
 * then takes the promo redemption that references it. Answers with the order as
 * written: what `GET /api/orders/{id}` reads back is exactly this.
 */
async function placeOrder(
  tem: Em,
  args: { userId: string; currency: string; snapshot: LineSnapshot[]; promotion: Promotion | undefined; now: Date },
): Promise<OrderOutput> {
  const subtotalCents = subtotalCentsOf(args.snapshot);
  const discountCents = args.promotion?.discountCents ?? 0;
  const order: OrderRow = {
    id: randomUUID(),
    userId: args.userId,
    itemCount: args.snapshot.reduce((sum, item) => sum + item.quantity, 0),
    subtotalCents,
    discountCents,
    totalCents: subtotalCents - discountCents,
    currency: args.currency,
    promoCode: args.promotion?.promo.code ?? null,
    createdAt: args.now,
  };
  await queryRows(tem, placeOrderStatement(order, args.snapshot));
  if (args.promotion) await redeemPromoCode(tem, { promo: args.promotion.promo, userId: args.userId, orderId: order.id });
  // A new order is 'placed': the status placeOrderStatement writes.
  return toOrderOutput({ ...order, status: 'placed' }, args.snapshot);
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
