import { countCheckout } from '../../metrics/registry.js';
import { router, tokenProcedure } from '../../trpc.js';
import { orderOutput } from '../orders/schemas.js';
import { checkoutInput, checkoutRequestHeaders, checkoutResponseHeaders } from './schemas.js';
import { submitCheckout } from './service.js';

export const checkoutRouter = router({
  // Its first statement proves the user row (a claimed key or the closed cart belongs to a user that exists): see tokenProcedure.
  submit: tokenProcedure
    .meta({
      openapi: {
        method: 'POST',
        path: '/api/checkout',
        tags: ['checkout'],
        summary: 'Place an order from the cart', description: 'One atomic step: stock is taken, the promo code redeemed and the cart emptied, or nothing changes. Send an Idempotency-Key to retry safely.',
        requestHeaders: checkoutRequestHeaders,
        responseHeaders: checkoutResponseHeaders,
      },
      successStatus: 201,
      // In the contract's order of precedence when several hold.
      errors: ['CART_EMPTY', 'INSUFFICIENT_STOCK', 'PROMO_CODE_INVALID', 'IDEMPOTENCY_KEY_REUSED'],
    })
    .input(checkoutInput)
    .output(orderOutput)
    .mutation(async ({ ctx, input }) => {
      const { order, replayed } = await countCheckout(
        submitCheckout(ctx.em, { userId: ctx.user.id, currency: ctx.config.currency, input, idempotencyKey: ctx.idempotencyKey }),
      );
      ctx.responseHeaders['Location'] = `/api/orders/${order.id}`;
      if (replayed) ctx.responseHeaders['Idempotent-Replayed'] = 'true';
      return order;
    }),
});
