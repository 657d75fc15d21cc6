import { stripVTControlCharacters } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createContextInner } from '../src/context/context.js';
import { IdempotencyKey } from '../src/entities/IdempotencyKey.js';
import { Order } from '../src/entities/Order.js';
import { Product } from '../src/entities/Product.js';
import { PromoCode } from '../src/entities/PromoCode.js';
import { PromoRedemption } from '../src/entities/PromoRedemption.js';
import type { User } from '../src/entities/User.js';
import { createCaller } from '../src/routers/_app.js';
import { requestFingerprint } from '../src/routers/checkout/idempotency.js';
import { ISO_TIMESTAMP } from './support/contract-shapes.js';
import { createHarness, type Harness } from './support/harness.js';
import { expectAppError } from './support/errors.js';
import { captureSql } from './support/sql-log.js';

/** Contract §6 through createCaller: every checkout rule, including idempotency. */

let h: Harness;
beforeAll(async () => {
  h = await createHarness();
});
afterAll(() => h.close());

const reloadProduct = (id: string) => h.db.orm.em.fork().findOneOrFail(Product, { id });
const reloadPromo = (id: string) => h.db.orm.em.fork().findOneOrFail(PromoCode, { id });

const orderCount = (user: User) => h.db.orm.em.fork().count(Order, { user: user.id });

/** A caller whose context the test keeps, to read the response headers the procedure set. */
function callerWithContext(user: User, idempotencyKey?: string) {
  const ctx = createContextInner({ em: h.db.orm.em.fork(), config: h.config, user, idempotencyKey });
  return { caller: createCaller(ctx), headers: ctx.responseHeaders };
}

async function customerWithCart(lines: Array<{ product: Product; quantity: number }>) {
  const { user } = await h.createUser();
  for (const { product, quantity } of lines) await h.caller(user).cart.addItem({ productId: product.id, quantity });
  return user;
}

describe('placing an order', () => {
  it('turns the cart into an order snapshot, takes the stock and opens a new cart', async () => {
    const shoe = await h.createProduct({ name: 'Trail Shoe', priceCents: 8999, stock: 10 });
    const sock = await h.createProduct({ name: 'Sock', priceCents: 1999, stock: 5 });
    const user = await customerWithCart([
      { product: shoe, quantity: 2 },
      { product: sock, quantity: 3 },
    ]);
    const cartBefore = await h.caller(user).cart.get();

    const { caller, headers } = callerWithContext(user);
    const order = await caller.checkout.submit();

    expect(order).toEqual({
      id: expect.any(String),
      status: 'placed',
      items: [
        { productId: shoe.id, name: 'Trail Shoe', unitPrice: 89.99, quantity: 2, lineTotal: 179.98 },
        { productId: sock.id, name: 'Sock', unitPrice: 19.99, quantity: 3, lineTotal: 59.97 },
      ],
      itemCount: 5,
      subtotal: 239.95,
      discount: 0,
      total: 239.95,
      currency: 'EUR',
      promoCode: null,
      createdAt: expect.stringMatching(ISO_TIMESTAMP),
    });
    expect(headers).toEqual({ Location: `/api/orders/${order.id}` });
    expect((await reloadProduct(shoe.id)).stock).toBe(8);
    expect((await reloadProduct(sock.id)).stock).toBe(2);

    const cartAfter = await h.caller(user).cart.get();
    expect(cartAfter.id).not.toBe(cartBefore.id);
    expect(cartAfter).toMatchObject({ items: [], itemCount: 0, subtotal: 0, promoCode: null });
    expect(await h.caller(user).orders.byId({ id: order.id })).toEqual(order);
  });

  it('keeps the order unchanged when prices change or products are deleted later', async () => {
    const product = await h.createProduct({ name: 'Lamp', priceCents: 4500 });
    const user = await customerWithCart([{ product, quantity: 1 }]);
    const order = await h.caller(user).checkout.submit();
    await h.db.orm.em.fork().nativeUpdate(Product, { id: product.id }, { priceCents: 9900, name: 'Renamed lamp' });
    expect(await h.caller(user).orders.byId({ id: order.id })).toEqual(order);
    await h.db.orm.em.fork().nativeUpdate(Product, { id: product.id }, { deletedAt: new Date() });
    expect(await h.caller(user).orders.byId({ id: order.id })).toEqual(order);
  });

  it('charges the current price, not the one seen when the item was added', async () => {
    const product = await h.createProduct({ priceCents: 1000 });
    const user = await customerWithCart([{ product, quantity: 2 }]);
    await h.db.orm.em.fork().nativeUpdate(Product, { id: product.id }, { priceCents: 1234 });
    expect(await h.caller(user).checkout.submit()).toMatchObject({ subtotal: 24.68, total: 24.68, items: [{ unitPrice: 12.34, lineTotal: 24.68 }] });
  });

  it('leaves out a product deleted since it was added', async () => {
    const [kept, deleted] = [await h.createProduct(), await h.createProduct()];
    const user = await customerWithCart([
      { product: kept, quantity: 1 },
      { product: deleted, quantity: 1 },
    ]);
    await h.db.orm.em.fork().nativeUpdate(Product, { id: deleted.id }, { deletedAt: new Date() });
    const order = await h.caller(user).checkout.submit();
    expect(order.items.map((item) => item.productId)).toEqual([kept.id]);
    expect((await reloadProduct(deleted.id)).stock).toBe(50);
  });
});

describe('statements', () => {
  it('closes the cart, reads its lines, locks the products, then takes the stock and writes the order in one statement', async () => {
    const products = await Promise.all([h.createProduct(), h.createProduct(), h.createProduct()]);
    const user = await customerWithCart(products.map((product) => ({ product, quantity: 2 })));
    const { statements } = await captureSql(h.db.orm, () => h.caller(user).checkout.submit({}));
    // The query log may be colourised.
    const plain = statements.map(stripVTControlCharacters).map((sql) => sql.replace(/\s+/g, ' '));
    const inTransaction = plain.slice(plain.findIndex((sql) => /\bbegin\b/i.test(sql)) + 1, plain.findIndex((sql) => /\bcommit\b/i.test(sql)));
    expect(inTransaction).toHaveLength(4);
    expect(inTransaction[0]).toMatch(/update cart c set status = 'checked_out'/);
    expect(inTransaction[1]).toMatch(/from cart_item ci join product p/);
    expect(inTransaction[2]).toMatch(/from product p .*order by p\.id for update/);
    expect(inTransaction[3]).toMatch(/update product p set stock = p\.stock - line\.quantity .*insert into orders .*insert into order_item/);
    for (const product of products) expect((await reloadProduct(product.id)).stock).toBe(48);
  });
});

describe('conflicts', () => {
  it('answers CART_EMPTY for a user who never had a cart, an emptied cart and a second checkout', async () => {
    const { user: fresh } = await h.createUser();
    await expectAppError(h.caller(fresh).checkout.submit(), 'CART_EMPTY');

    const product = await h.createProduct();
    const user = await customerWithCart([{ product, quantity: 1 }]);
    await h.caller(user).cart.clear();
    await expectAppError(h.caller(user).checkout.submit(), 'CART_EMPTY');

    await h.caller(user).cart.addItem({ productId: product.id });
    await h.caller(user).checkout.submit();
    await expectAppError(h.caller(user).checkout.submit(), 'CART_EMPTY');
    expect(await orderCount(user)).toBe(1);
  });

  it('answers CART_EMPTY when every product in the cart was deleted', async () => {
    const product = await h.createProduct();
    const user = await customerWithCart([{ product, quantity: 1 }]);
    await h.db.orm.em.fork().nativeUpdate(Product, { id: product.id }, { deletedAt: new Date() });
    await expectAppError(h.caller(user).checkout.submit(), 'CART_EMPTY');
  });

  it('lists every line that does not fit, with the stock at checkout, and changes nothing', async () => {
    const [a, b, c] = [await h.createProduct({ stock: 10 }), await h.createProduct({ stock: 10 }), await h.createProduct({ stock: 10 })];
    const user = await customerWithCart([
      { product: a, quantity: 4 },
      { product: b, quantity: 5 },
      { product: c, quantity: 6 },
    ]);
    const em = h.db.orm.em.fork();
    await em.nativeUpdate(Product, { id: a.id }, { stock: 3 });
    await em.nativeUpdate(Product, { id: c.id }, { stock: 0 });
    const cart = await h.caller(user).cart.get();

    const error = await expectAppError(h.caller(user).checkout.submit(), 'INSUFFICIENT_STOCK');
    expect(error.details).toEqual([
      { productId: a.id, requested: 4, available: 3 },
      { productId: c.id, requested: 6, available: 0 },
    ]);
    expect([(await reloadProduct(a.id)).stock, (await reloadProduct(b.id)).stock, (await reloadProduct(c.id)).stock]).toEqual([3, 10, 0]);
    expect(await h.caller(user).cart.get()).toEqual(cart);
    expect(await orderCount(user)).toBe(0);
  });

  it('reports the real stock as available at checkout, even above 99', async () => {
    const product = await h.createProduct({ stock: 99 });
    const user = await customerWithCart([{ product, quantity: 99 }]);
    await h.db.orm.em.fork().nativeUpdate(Product, { id: product.id }, { stock: 98 });
    const error = await expectAppError(h.caller(user).checkout.submit(), 'INSUFFICIENT_STOCK');
    expect(error.details).toEqual([{ productId: product.id, requested: 99, available: 98 }]);
  });

  it('puts INSUFFICIENT_STOCK before PROMO_CODE_INVALID', async () => {
    const product = await h.createProduct({ stock: 5 });
    const promo = await h.createPromoCode();
    const user = await customerWithCart([{ product, quantity: 5 }]);
    await h.caller(user).cart.applyPromoCode({ code: promo.code });
    await h.db.orm.em.fork().nativeUpdate(PromoCode, { id: promo.id }, { active: false });
    await h.db.orm.em.fork().nativeUpdate(Product, { id: product.id }, { stock: 4 });
    await expectAppError(h.caller(user).checkout.submit(), 'INSUFFICIENT_STOCK');
    await h.db.orm.em.fork().nativeUpdate(Product, { id: product.id }, { stock: 5 });
    expect((await expectAppError(h.caller(user).checkout.submit(), 'PROMO_CODE_INVALID')).details).toEqual({ reason: 'inactive' });
  });

  it('refuses a cart whose applied code stopped being valid, until the code is removed', async () => {
    const product = await h.createProduct({ priceCents: 1000, stock: 5 });
    const promo = await h.createPromoCode({ minSubtotalCents: 2000 });
    const user = await customerWithCart([{ product, quantity: 2 }]);
    const cart = await h.caller(user).cart.applyPromoCode({ code: promo.code });
    await h.caller(user).cart.updateItem({ itemId: cart.items[0]!.id, quantity: 1 });

    const error = await expectAppError(h.caller(user).checkout.submit(), 'PROMO_CODE_INVALID');
    expect(error.details).toEqual({ reason: 'min_subtotal_not_met' });
    expect((await reloadProduct(product.id)).stock).toBe(5);
    expect((await reloadPromo(promo.id)).redemptions).toBe(0);

    await h.caller(user).cart.removePromoCode();
    expect(await h.caller(user).checkout.submit()).toMatchObject({ promoCode: null, discount: 0, total: 10 });
  });
});

describe('promo codes at checkout', () => {
  it("redeems the cart's code and records the discount on the order", async () => {
    const product = await h.createProduct({ priceCents: 8999 });
    const promo = await h.createPromoCode({ value: 10 });
    const user = await customerWithCart([{ product, quantity: 2 }]);
    await h.caller(user).cart.applyPromoCode({ code: promo.code });

    const order = await h.caller(user).checkout.submit({ promoCode: null });
    expect(order).toMatchObject({ subtotal: 179.98, discount: 18, total: 161.98, promoCode: promo.code });
    expect((await reloadPromo(promo.id)).redemptions).toBe(1);
    expect(await h.db.orm.em.fork().count(PromoRedemption, { promoCode: promo.id, user: user.id, order: order.id })).toBe(1);
  });

  it("lets a code in the body override the cart's code; a blank one keeps the cart's", async () => {
    const product = await h.createProduct({ priceCents: 2000 });
    const [cartCode, bodyCode] = [await h.createPromoCode({ value: 10 }), await h.createPromoCode({ type: 'fixed', value: 500 })];

    const overriding = await customerWithCart([{ product, quantity: 1 }]);
    await h.caller(overriding).cart.applyPromoCode({ code: cartCode.code });
    const overridden = await h.caller(overriding).checkout.submit({ promoCode: ` ${bodyCode.code.toLowerCase()} ` });
    expect(overridden).toMatchObject({ promoCode: bodyCode.code, discount: 5, total: 15 });

    const blank = await customerWithCart([{ product, quantity: 1 }]);
    await h.caller(blank).cart.applyPromoCode({ code: cartCode.code });
    expect(await h.caller(blank).checkout.submit({ promoCode: '  ' })).toMatchObject({ promoCode: cartCode.code, discount: 2 });
  });

  it('rejects an unknown override code and a code this user already redeemed', async () => {
    const product = await h.createProduct();
    const promo = await h.createPromoCode();
    const user = await customerWithCart([{ product, quantity: 1 }]);
    expect((await expectAppError(h.caller(user).checkout.submit({ promoCode: 'NO-SUCH' }), 'PROMO_CODE_INVALID')).details).toEqual({ reason: 'not_found' });

    await h.caller(user).checkout.submit({ promoCode: promo.code });
    await h.caller(user).cart.addItem({ productId: product.id });
    const error = await expectAppError(h.caller(user).checkout.submit({ promoCode: promo.code }), 'PROMO_CODE_INVALID');
    expect(error.details).toEqual({ reason: 'already_used' });
    expect((await h.caller(user).cart.get()).itemCount).toBe(1);
  });

  it('rounds a percent discount half-up to the cent', async () => {
    const product = await h.createProduct({ priceCents: 25 });
    const promo = await h.createPromoCode({ value: 10 });
    const user = await customerWithCart([{ product, quantity: 1 }]);
    expect(await h.caller(user).checkout.submit({ promoCode: promo.code })).toMatchObject({ subtotal: 0.25, discount: 0.03, total: 0.22 });
  });
});

describe('idempotency', () => {
  it('replays the original order for a retry with the same key and body, creating nothing', async () => {
    const product = await h.createProduct({ stock: 10 });
    const user = await customerWithCart([{ product, quantity: 2 }]);
    const first = callerWithContext(user, 'retry-key-1');
    const order = await first.caller.checkout.submit();
    expect(first.headers).toEqual({ Location: `/api/orders/${order.id}` });

    await h.caller(user).cart.addItem({ productId: product.id });
    const retry = callerWithContext(user, 'retry-key-1');
    expect(await retry.caller.checkout.submit({})).toEqual(order);
    expect(retry.headers).toEqual({ Location: `/api/orders/${order.id}`, 'Idempotent-Replayed': 'true' });
    expect(await orderCount(user)).toBe(1);
    expect((await reloadProduct(product.id)).stock).toBe(8);
    expect((await h.caller(user).cart.get()).itemCount).toBe(1);
  });

  it('answers IDEMPOTENCY_KEY_REUSED for the same key with a different body', async () => {
    const product = await h.createProduct();
    const promo = await h.createPromoCode();
    const user = await customerWithCart([{ product, quantity: 1 }]);
    await callerWithContext(user, 'reused').caller.checkout.submit({ promoCode: promo.code });
    for (const body of [undefined, { promoCode: null }, { promoCode: promo.code.toLowerCase() }]) {
      await expectAppError(callerWithContext(user, 'reused').caller.checkout.submit(body), 'IDEMPOTENCY_KEY_REUSED');
    }
  });

  it('remembers only successful checkouts: after an error the key is still free', async () => {
    const product = await h.createProduct();
    const { user } = await h.createUser();
    await expectAppError(callerWithContext(user, 'after-error').caller.checkout.submit(), 'CART_EMPTY');
    await h.caller(user).cart.addItem({ productId: product.id });
    const { caller, headers } = callerWithContext(user, 'after-error');
    await caller.checkout.submit({ promoCode: null });
    expect(headers['Idempotent-Replayed']).toBeUndefined();
    expect(await orderCount(user)).toBe(1);
  });

  it('scopes keys to the user', async () => {
    const product = await h.createProduct();
    const [a, b] = [await customerWithCart([{ product, quantity: 1 }]), await customerWithCart([{ product, quantity: 1 }])];
    const orderA = await callerWithContext(a, 'shared-key').caller.checkout.submit();
    const orderB = await callerWithContext(b, 'shared-key').caller.checkout.submit({ promoCode: null });
    expect(orderB.id).not.toBe(orderA.id);
    expect([await orderCount(a), await orderCount(b)]).toEqual([1, 1]);
  });

  it('forgets keys after 24 hours', async () => {
    const product = await h.createProduct();
    const user = await customerWithCart([{ product, quantity: 1 }]);
    const old = await callerWithContext(user, 'old-key').caller.checkout.submit();
    await h.db.orm.em.fork().nativeUpdate(IdempotencyKey, { user: user.id, key: 'old-key' }, { createdAt: new Date(Date.now() - 25 * 60 * 60 * 1000) });
    await h.caller(user).cart.addItem({ productId: product.id });
    const fresh = await callerWithContext(user, 'old-key').caller.checkout.submit({ promoCode: null });
    expect(fresh.id).not.toBe(old.id);
  });

  it('purges expired keys on later keyed checkouts', async () => {
    const product = await h.createProduct();
    const [a, b] = [await customerWithCart([{ product, quantity: 1 }]), await customerWithCart([{ product, quantity: 1 }])];
    await callerWithContext(a, 'soon-expired').caller.checkout.submit();
    const em = h.db.orm.em.fork();
    await em.nativeUpdate(IdempotencyKey, { user: a.id, key: 'soon-expired' }, { createdAt: new Date(Date.now() - 25 * 60 * 60 * 1000) });
    await callerWithContext(b, 'fresh').caller.checkout.submit();
    expect(await em.count(IdempotencyKey, { user: a.id })).toBe(0);
    expect(await em.count(IdempotencyKey, { user: b.id, key: 'fresh' })).toBe(1);
  });

  it.each(['', 'has space', 'x'.repeat(256), 'naïve', 'tab\there'])('rejects the malformed key %j before anything else', async (key) => {
    const { user } = await h.createUser();
    const error = await expectAppError(callerWithContext(user, key).caller.checkout.submit(), 'VALIDATION_ERROR');
    expect(error.details).toEqual([{ field: 'Idempotency-Key', message: expect.any(String) }]);
  });

  it('accepts a key of 255 visible ASCII characters', async () => {
    const product = await h.createProduct();
    const user = await customerWithCart([{ product, quantity: 1 }]);
    const key = '!~'.repeat(127) + 'k';
    await callerWithContext(user, key).caller.checkout.submit();
    expect((await callerWithContext(user, key).caller.checkout.submit()).id).toBeDefined();
  });

  it('fingerprints bodies as JSON values: key order does not matter, values do', () => {
    expect(requestFingerprint({ a: 1, b: { c: [1, { d: 2, e: 3 }] } })).toBe(requestFingerprint({ b: { c: [1, { e: 3, d: 2 }] }, a: 1 }));
    expect(requestFingerprint({ a: 1 })).not.toBe(requestFingerprint({ a: '1' }));
    expect(requestFingerprint({})).not.toBe(requestFingerprint({ promoCode: null }));
  });
});

describe('input', () => {
  it('requires a signed-in user', async () => {
    await expectAppError(h.caller().checkout.submit(), 'UNAUTHORIZED');
  });

  it('rejects unknown fields and wrong types', async () => {
    const { user } = await h.createUser();
    for (const body of [{ promo: 'X' }, { promoCode: 5 }]) {
      await expectAppError(h.caller(user).checkout.submit(body as never), 'VALIDATION_ERROR');
    }
  });
});
