import { createTRPCClient, httpLink, TRPCClientError } from '@trpc/client';
import { afterAll, beforeAll, describe, expect, expectTypeOf, it } from 'vitest';
import type { AppRouter } from '../src/routers/_app.js';
import { createHttpHarness, type HttpHarness } from './support/harness.js';

/**
 * Contract §10 from a TypeScript client's point of view: `AppRouter` gives
 * end-to-end types with no code generation, over a real server at /trpc.
 */

let h: HttpHarness;
beforeAll(async () => {
  h = await createHttpHarness();
});
afterAll(() => h.close());

/** A client whose bearer token and Idempotency-Key travel as headers, as a browser app would send them. */
function client(auth: { token?: string; idempotencyKey?: string } = {}) {
  return createTRPCClient<AppRouter>({
    links: [
      httpLink({
        url: `${h.baseUrl}/trpc`,
        headers: () => ({
          ...(auth.token ? { Authorization: `Bearer ${auth.token}` } : {}),
          ...(auth.idempotencyKey ? { 'Idempotency-Key': auth.idempotencyKey } : {}),
        }),
      }),
    ],
  });
}

describe('typed tRPC client', () => {
  it('walks signup → add to cart → checkout → order history', async () => {
    const { token: adminToken } = await h.createUser({ role: 'admin' });
    const product = await client({ token: adminToken }).products.create.mutate({ name: 'Typed Lamp', price: 19.99, stock: 5 });

    const session = await client().auth.signup.mutate({ username: 'typed_client', password: 'password123' });
    expectTypeOf(session.accessToken).toEqualTypeOf<string>();
    const shopper = client({ token: session.accessToken });

    const cart = await shopper.cart.addItem.mutate({ productId: product.id, quantity: 3 });
    expectTypeOf(cart.items[0]!.unitPrice).toEqualTypeOf<number>();
    expect(cart).toMatchObject({ itemCount: 3, subtotal: 59.97, total: 59.97, items: [{ productId: product.id, name: 'Typed Lamp', quantity: 3 }] });

    const order = await client({ token: session.accessToken, idempotencyKey: 'typed-checkout-1' }).checkout.submit.mutate();
    expectTypeOf(order.status).toEqualTypeOf<'placed'>();
    expect(order).toMatchObject({ status: 'placed', itemCount: 3, total: 59.97, promoCode: null, items: [{ productId: product.id, lineTotal: 59.97 }] });

    const replay = await client({ token: session.accessToken, idempotencyKey: 'typed-checkout-1' }).checkout.submit.mutate({});
    expect(replay).toEqual(order);

    const history = await shopper.orders.list.query({ page: 1 });
    expect(history).toMatchObject({ page: 1, limit: 20, total: 1 });
    expect(history.items).toEqual([order]);
    expect((await shopper.cart.get.query()).items).toEqual([]);
  });

  it('carries the contract error in data: appCode, httpStatus, details, requestId', async () => {
    const { token } = await h.createUser();
    const error = await client({ token })
      .checkout.submit.mutate()
      .then(
        () => undefined,
        (e: unknown) => e,
      );
    expect(error).toBeInstanceOf(TRPCClientError);
    const data = (error as TRPCClientError<AppRouter>).data;
    expect(data).toMatchObject({ appCode: 'CART_EMPTY', httpStatus: 409, code: 'CONFLICT', requestId: expect.any(String) });
    expect(data?.requestId).not.toBe('');

    const invalid = await client({ token })
      .cart.addItem.mutate({ productId: 'x', quantity: 0 })
      .then(
        () => undefined,
        (e: unknown) => e as TRPCClientError<AppRouter>,
      );
    expect(invalid?.data).toMatchObject({ appCode: 'VALIDATION_ERROR', httpStatus: 400, details: [{ field: 'quantity', message: expect.any(String) }] });
  });
});
