import { createCallerFactory, router } from '../trpc.js';
import { authRouter } from './auth/router.js';
import { cartRouter } from './cart/router.js';
import { checkoutRouter } from './checkout/router.js';
import { ordersRouter } from './orders/router.js';
import { productsRouter } from './products/router.js';
import { promoCodesRouter } from './promo-codes/router.js';

/**
 * Router order matters for REST: the adapter takes the first procedure whose path
 * template matches, so literal paths (`/products/search`) must be declared before
 * templated ones (`/products/{id}`) within each feature router.
 */
export const appRouter = router({
  auth: authRouter,
  products: productsRouter,
  cart: cartRouter,
  checkout: checkoutRouter,
  orders: ordersRouter,
  promoCodes: promoCodesRouter,
});

/** The server's own type of the router (its context, its metadata): for callers and adapters on the server. */
export type ServerRouter = typeof appRouter;

/** The router's type for clients: the procedures without the server's context (see src/client.ts). */
export type { AppRouter } from '../client.js';

export const createCaller = createCallerFactory(appRouter);
