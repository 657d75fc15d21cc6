import type { Em } from '../../db/orm.js';
import { unknownTokenUser } from '../../context/auth.js';
import { queryRows } from '../../db/sql.js';
import { insufficientStock, notFound, validationError } from '../../errors.js';
import { fromCents } from '../../lib/money.js';
import { assertPromoCodeUsable, currentDiscountCents } from '../promo-codes/redemption.js';
import { isUuid } from '../shared/schemas.js';
import {
  addUnits,
  cartLines,
  emptyCart,
  openActiveCart,
  readActiveCart,
  removeLine,
  setLineQuantity,
  setPromoCode,
  touchActiveCart,
  type CartHead,
  type CartLine,
} from './queries.js';
import { MAX_CART_LINES, MAX_LINE_QUANTITY, type AddItemInput, type CartOutput, type UpdateItemInput } from './schemas.js';

/** Who is asking and in which currency the answer is given. */
export interface CartScope {
  userId: string;
  currency: string;
}

/** The most one line may hold now (contract §5 `available`). */
const lineLimit = (stock: number): number => Math.min(MAX_LINE_QUANTITY, stock);

const subtotalCentsOf = (lines: CartLine[]): number => lines.reduce((sum, line) => sum + line.priceCents * line.quantity, 0);

/** Every §5 invariant is recomputed here, from current prices, stock and promo rules, on every response. */
async function toCartOutput(em: Em, cart: CartHead, lines: CartLine[], scope: CartScope, knownDiscountCents?: number): Promise<CartOutput> {
  const subtotalCents = subtotalCentsOf(lines);
  // No code, no promo lookup: the statement that read the cart is all a plain cart costs.
  const discountCents =
    knownDiscountCents ?? (cart.promoCode ? await currentDiscountCents(em, { code: cart.promoCode, userId: scope.userId, subtotalCents }) : 0);
  return {
    id: cart.id,
    items: lines.map((line) => ({
      id: line.id,
      productId: line.productId,
      name: line.name,
      imageUrl: line.imageUrl,
      unitPrice: fromCents(line.priceCents),
      quantity: line.quantity,
      lineTotal: fromCents(line.priceCents * line.quantity),
      available: lineLimit(line.stock),
    })),
    itemCount: lines.reduce((sum, line) => sum + line.quantity, 0),
    subtotal: fromCents(subtotalCents),
    discount: fromCents(discountCents),
    total: fromCents(subtotalCents - discountCents),
    currency: scope.currency,
    promoCode: cart.promoCode,
    updatedAt: cart.updatedAt,
  };
}

/**
 * One statement for a cart that exists; the first read of a new user's cart opens it.
 * The read also proves the token's user still exists (tokenProcedure): no user row, 401.
 */
export async function getCart(em: Em, scope: CartScope): Promise<CartOutput> {
  const read = await readActiveCart(em, scope.userId);
  if (read.user === 'missing') throw unknownTokenUser();
  if (read.active) return toCartOutput(em, read.active.cart, read.active.lines, scope);
  if (!(await openActiveCart(em, scope.userId))) throw unknownTokenUser();
  const opened = await readActiveCart(em, scope.userId);
  // Only a checkout between the two statements closes it (or the user is deleted meanwhile).
  if (opened.user === 'missing') throw unknownTokenUser();
  if (!opened.active) throw new Error(`No active cart for user ${scope.userId} right after opening one`);
  return toCartOutput(em, opened.active.cart, opened.active.lines, scope);
}

/** What a change leaves for the response; lines already read in the transaction need no second read. */
interface ChangeResult {
  promoCode?: string | null;
  lines?: CartLine[];
  discountCents?: number;
}

/**
 * Runs one cart mutation with the cart row locked (and its `updated_at` touched),
 * so concurrent mutations of the same cart apply one after the other (no lost
 * updates), and answers with the cart as it is after the change, read inside the
 * same transaction. Each change is one statement in plain SQL: the entity unit of
 * work (find, hydrate, count, flush, read back) cost about 8 statements and most
 * of the request's CPU for an add to cart.
 */
function mutateCart(em: Em, scope: CartScope, change: (tem: Em, cart: CartHead) => Promise<ChangeResult | void>): Promise<CartOutput> {
  return em.transactional(async (tem) => {
    const cart = await touchActiveCart(tem, scope.userId);
    const result = (await change(tem, cart)) ?? {};
    const head = result.promoCode === undefined ? cart : { ...cart, promoCode: result.promoCode };
    const lines = result.lines ?? (await cartLines(tem, cart.id));
    return toCartOutput(tem, head, lines, scope, result.discountCents);
  });
}

const tooManyLines = () => validationError([{ field: 'productId', message: `A cart holds at most ${MAX_CART_LINES} different products` }]);

export async function addItem(em: Em, scope: CartScope, input: AddItemInput): Promise<CartOutput> {
  // Opaque ids: a malformed one is simply an unknown product, decided before any statement.
  if (!isUuid(input.productId)) throw notFound('Product');
  return mutateCart(em, scope, async (tem, cart) => {
    const outcome = await addUnits(tem, cart.id, input.productId, input.quantity);
    if (!outcome.productId) throw notFound('Product');
    if (!outcome.written) {
      if (!outcome.hasLine && outcome.lines >= MAX_CART_LINES) throw tooManyLines();
      throw insufficientStock([{ productId: outcome.productId, requested: outcome.requested, available: outcome.available }]);
    }
    return { lines: outcome.cartLines };
  });
}

export async function updateItem(em: Em, scope: CartScope, input: UpdateItemInput): Promise<CartOutput> {
  if (!isUuid(input.itemId)) throw notFound('Cart item');
  return mutateCart(em, scope, async (tem, cart) => {
    const [outcome] = await queryRows(tem, setLineQuantity(cart.id, input.itemId, input.quantity));
    if (!outcome) throw notFound('Cart item');
    if (!outcome.written) throw insufficientStock([{ productId: outcome.productId, requested: input.quantity, available: outcome.available }]);
  });
}

export async function removeItem(em: Em, scope: CartScope, itemId: string): Promise<CartOutput> {
  if (!isUuid(itemId)) throw notFound('Cart item');
  return mutateCart(em, scope, async (tem, cart) => {
    const [removed] = await queryRows(tem, removeLine(cart.id, itemId));
    if (!removed) throw notFound('Cart item');
  });
}

export function clearCart(em: Em, scope: CartScope): Promise<CartOutput> {
  return mutateCart(em, scope, async (tem, cart) => {
    await queryRows(tem, emptyCart(cart.id));
    return { promoCode: null, lines: [] };
  });
}

/** Every promo rule is checked now, against the cart's current subtotal; the code replaces any applied one. */
export function applyPromoCode(em: Em, scope: CartScope, code: string): Promise<CartOutput> {
  return mutateCart(em, scope, async (tem, cart) => {
    // Read under the cart lock: these are the lines the response shows, and the subtotal the rules were checked on.
    const lines = await cartLines(tem, cart.id);
    const { promo, discountCents } = await assertPromoCodeUsable(tem, { code, userId: scope.userId, subtotalCents: subtotalCentsOf(lines) });
    await queryRows(tem, setPromoCode(cart.id, promo.code));
    return { promoCode: promo.code, lines, discountCents };
  });
}

export function removePromoCode(em: Em, scope: CartScope): Promise<CartOutput> {
  return mutateCart(em, scope, async (tem, cart) => {
    await queryRows(tem, setPromoCode(cart.id, null));
    return { promoCode: null };
  });
}
