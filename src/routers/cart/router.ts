import { z } from 'zod';
import { router, tokenProcedure } from '../../trpc.js';
import { addItemInput, applyPromoCodeInput, cartOutput, removeItemInput, updateItemInput } from './schemas.js';
import { addItem, applyPromoCode, clearCart, getCart, removeItem, removePromoCode, updateItem, type CartScope } from './service.js';

const scopeOf = (ctx: { user: { id: string }; config: { currency: string } }): CartScope => ({
  userId: ctx.user.id,
  currency: ctx.config.currency,
});

const tags = ['cart'];

/*
 * Every cart procedure proves the caller's user row in its own first statement (the cart read
 * joins `users`; a mutation's cart lock finds a cart only for a user that exists): one round trip
 * fewer per request than protectedProcedure's lookup. See tokenProcedure.
 */

// Literal paths (`/api/cart/promo-code`) come before templated ones (`/api/cart/items/{itemId}`).
export const cartRouter = router({
  get: tokenProcedure
    .meta({ openapi: { method: 'GET', path: '/api/cart', tags, summary: 'The active cart (created on first use)', description: 'Totals are computed now: current prices, and the discount the applied code gives at this moment.' } })
    .input(z.void())
    .output(cartOutput)
    .query(({ ctx }) => getCart(ctx.em, scopeOf(ctx))),

  clear: tokenProcedure
    .meta({ openapi: { method: 'DELETE', path: '/api/cart', tags, summary: 'Empty the cart and remove its promo code', description: 'Removes every line and the applied code; answers with the empty cart.' } })
    .input(z.void())
    .output(cartOutput)
    .mutation(({ ctx }) => clearCart(ctx.em, scopeOf(ctx))),

  addItem: tokenProcedure
    .meta({ openapi: { method: 'POST', path: '/api/cart/items', tags, summary: 'Add a product (adds to an existing line)', description: 'Quantity 1–99, default 1; a line may hold at most min(99, stock).' }, errors: ['NOT_FOUND', 'INSUFFICIENT_STOCK'] })
    .input(addItemInput)
    .output(cartOutput)
    .mutation(({ ctx, input }) => addItem(ctx.em, scopeOf(ctx), input)),

  applyPromoCode: tokenProcedure
    .meta({ openapi: { method: 'POST', path: '/api/cart/promo-code', tags, summary: 'Apply a promo code, replacing any applied one', description: 'Every rule is checked now, the minimum subtotal included, and again at checkout.' }, errors: ['PROMO_CODE_INVALID'] })
    .input(applyPromoCodeInput)
    .output(cartOutput)
    .mutation(({ ctx, input }) => applyPromoCode(ctx.em, scopeOf(ctx), input.code)),

  removePromoCode: tokenProcedure
    .meta({ openapi: { method: 'DELETE', path: '/api/cart/promo-code', tags, summary: 'Remove the applied promo code', description: 'Answers with the cart without a code; removing when none is applied is fine.' } })
    .input(z.void())
    .output(cartOutput)
    .mutation(({ ctx }) => removePromoCode(ctx.em, scopeOf(ctx))),

  updateItem: tokenProcedure
    .meta({ openapi: { method: 'PATCH', path: '/api/cart/items/{itemId}', tags, summary: "Set a line's quantity", description: 'Quantity 1–99, at most min(99, stock); use DELETE to remove the line.' }, errors: ['INSUFFICIENT_STOCK'] })
    .input(updateItemInput)
    .output(cartOutput)
    .mutation(({ ctx, input }) => updateItem(ctx.em, scopeOf(ctx), input)),

  removeItem: tokenProcedure
    .meta({ openapi: { method: 'DELETE', path: '/api/cart/items/{itemId}', tags, summary: 'Remove a line', description: 'Answers with the cart without that line.' } })
    .input(removeItemInput)
    .output(cartOutput)
    .mutation(({ ctx, input }) => removeItem(ctx.em, scopeOf(ctx), input.itemId)),
});
