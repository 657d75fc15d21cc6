import type { Em } from '../../db/orm.js';
import type { Cart } from '../../entities/Cart.js';
import { CartItem } from '../../entities/CartItem.js';
import { Product } from '../../entities/Product.js';
import { insufficientStock, notFound, validationError } from '../../errors.js';
import { fromCents } from '../../lib/money.js';
import { assertPromoCodeUsable, currentDiscountCents } from '../promo-codes/redemption.js';
import { isUuid } from '../shared/schemas.js';
import { cartLines, openActiveCart, readActiveCart, type CartHead, type CartLine } from './queries.js';
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
async function toCartOutput(em: Em, cart: CartHead, lines: CartLine[], scope: CartScope): Promise<CartOutput> {
  const subtotalCents = subtotalCentsOf(lines);
  const discountCents = cart.promoCode
    ? await currentDiscountCents(em, { code: cart.promoCode, userId: scope.userId, subtotalCents })
    : 0;
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

/** A cart entity as a response shows it (after a change, read back inside its transaction). */
const headOf = (cart: Cart): CartHead => ({ id: cart.id, promoCode: cart.promoCode ?? null, updatedAt: cart.updatedAt.toISOString() });

/** One statement for a cart that exists; the first read of a new user's cart opens it. */
export async function getCart(em: Em, scope: CartScope): Promise<CartOutput> {
  const active = await readActiveCart(em, scope.userId);
  if (active) return toCartOutput(em, active.cart, active.lines, scope);
  const cart = await openActiveCart(em, scope.userId);
  return toCartOutput(em, headOf(cart), await cartLines(em, cart.id), scope);
}

/**
 * Runs one cart mutation with the cart row locked, so concurrent mutations of the
 * same cart apply one after the other (no lost updates), and answers with the
 * cart as it is after the change, read inside the same transaction.
 */
function mutateCart(em: Em, scope: CartScope, change: (tem: Em, cart: Cart) => Promise<void>): Promise<CartOutput> {
  return em.transactional(
    async (tem) => {
      const cart = await openActiveCart(tem, scope.userId, { lock: true });
      await change(tem, cart);
      cart.updatedAt = new Date();
      await tem.flush();
      return toCartOutput(tem, headOf(cart), await cartLines(tem, cart.id), scope);
    },
    { clear: true },
  );
}

function assertLineFits(product: Product, requested: number): void {
  const available = lineLimit(product.stock);
  if (requested > available) throw insufficientStock([{ productId: product.id, requested, available }]);
}

/** A line of the caller's active cart whose product still exists; anything else is "not found". */
async function findOwnLine(tem: Em, cart: Cart, itemId: string): Promise<CartItem> {
  const line = isUuid(itemId)
    ? await tem.findOne(CartItem, { id: itemId, cart, product: { deletedAt: null } }, { populate: ['product'] })
    : null;
  if (!line) throw notFound('Cart item');
  return line;
}

/** A new line must fit under MAX_CART_LINES (counted under the cart lock, so racing adds cannot pass it together). */
async function assertRoomForLine(tem: Em, cart: Cart): Promise<void> {
  const lines = await tem.count(CartItem, { cart, product: { deletedAt: null } });
  if (lines >= MAX_CART_LINES) {
    throw validationError([{ field: 'productId', message: `A cart holds at most ${MAX_CART_LINES} different products` }]);
  }
}

export function addItem(em: Em, scope: CartScope, input: AddItemInput): Promise<CartOutput> {
  return mutateCart(em, scope, async (tem, cart) => {
    const product = isUuid(input.productId) ? await tem.findOne(Product, { id: input.productId, deletedAt: null }) : null;
    if (!product) throw notFound('Product');
    const line = await tem.findOne(CartItem, { cart, product });
    if (!line) await assertRoomForLine(tem, cart);
    const requested = (line?.quantity ?? 0) + input.quantity;
    assertLineFits(product, requested);
    if (line) line.quantity = requested;
    else tem.create(CartItem, { cart, product, quantity: requested });
  });
}

export function updateItem(em: Em, scope: CartScope, input: UpdateItemInput): Promise<CartOutput> {
  return mutateCart(em, scope, async (tem, cart) => {
    const line = await findOwnLine(tem, cart, input.itemId);
    assertLineFits(line.product.getEntity(), input.quantity);
    line.quantity = input.quantity;
  });
}

export function removeItem(em: Em, scope: CartScope, itemId: string): Promise<CartOutput> {
  return mutateCart(em, scope, async (tem, cart) => {
    tem.remove(await findOwnLine(tem, cart, itemId));
  });
}

export function clearCart(em: Em, scope: CartScope): Promise<CartOutput> {
  return mutateCart(em, scope, async (tem, cart) => {
    await tem.nativeDelete(CartItem, { cart });
    cart.promoCode = null;
  });
}

/** Every promo rule is checked now, against the cart's current subtotal; the code replaces any applied one. */
export function applyPromoCode(em: Em, scope: CartScope, code: string): Promise<CartOutput> {
  return mutateCart(em, scope, async (tem, cart) => {
    const subtotalCents = subtotalCentsOf(await cartLines(tem, cart.id));
    const { promo } = await assertPromoCodeUsable(tem, { code, userId: scope.userId, subtotalCents });
    cart.promoCode = promo.code;
  });
}

export function removePromoCode(em: Em, scope: CartScope): Promise<CartOutput> {
  return mutateCart(em, scope, async (_tem, cart) => {
    cart.promoCode = null;
  });
}
