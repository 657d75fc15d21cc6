import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Order } from '../src/entities/Order.js';
import { Product } from '../src/entities/Product.js';
import { PromoCode } from '../src/entities/PromoCode.js';
import { PromoRedemption } from '../src/entities/PromoRedemption.js';
import type { User } from '../src/entities/User.js';
import { createContextInner } from '../src/context/context.js';
import { createCaller } from '../src/routers/_app.js';
import { emptyCart } from './support/contract-shapes.js';
import { createHarness, type Harness } from './support/harness.js';
import { expectAppError } from './support/errors.js';

/** Contract §5 through createCaller: every cart rule and invariant, no HTTP. */

let h: Harness;
beforeAll(async () => {
  h = await createHarness();
});
afterAll(() => h.close());

async function updateProduct(id: string, changes: Partial<Pick<Product, 'priceCents' | 'stock' | 'deletedAt'>>) {
  await h.db.orm.em.fork().nativeUpdate(Product, { id }, changes);
}

async function customer(): Promise<User> {
  return (await h.createUser()).user;
}

describe('reading the cart', () => {
  it('creates an empty cart on first read and keeps returning it', async () => {
    const user = await customer();
    const first = await h.caller(user).cart.get();
    expect(first).toEqual(emptyCart());
    expect((await h.caller(user).cart.get()).id).toBe(first.id);
  });

  it('gives every user their own cart', async () => {
    const [a, b] = [await customer(), await customer()];
    const product = await h.createProduct();
    await h.caller(a).cart.addItem({ productId: product.id });
    const cartB = await h.caller(b).cart.get();
    expect(cartB.items).toEqual([]);
    expect(cartB.id).not.toBe((await h.caller(a).cart.get()).id);
  });

  it('requires a signed-in user', async () => {
    await expectAppError(h.caller().cart.get(), 'UNAUTHORIZED');
    await expectAppError(h.caller().cart.addItem({ productId: 'x' }), 'UNAUTHORIZED');
  });

  it('uses the configured store currency', async () => {
    const user = await customer();
    const caller = createCaller(createContextInner({ em: h.db.orm.em.fork(), config: { ...h.config, currency: 'USD' }, user }));
    expect((await caller.cart.get()).currency).toBe('USD');
  });
});

describe('adding items', () => {
  it('adds a line with quantity 1 by default, and adds to the same line again', async () => {
    const user = await customer();
    const product = await h.createProduct({ priceCents: 1999, stock: 10, name: 'Trail Shoe', imageUrl: 'https://example.com/shoe.jpg' });
    const once = await h.caller(user).cart.addItem({ productId: product.id });
    expect(once.items).toEqual([
      {
        id: expect.any(String),
        productId: product.id,
        name: 'Trail Shoe',
        imageUrl: 'https://example.com/shoe.jpg',
        unitPrice: 19.99,
        quantity: 1,
        lineTotal: 19.99,
        available: 10,
      },
    ]);
    const thrice = await h.caller(user).cart.addItem({ productId: product.id, quantity: 2 });
    expect(thrice.items).toHaveLength(1);
    expect(thrice.items[0]).toMatchObject({ id: once.items[0]!.id, quantity: 3, lineTotal: 59.97 });
    expect(thrice).toMatchObject({ itemCount: 3, subtotal: 59.97, discount: 0, total: 59.97 });
  });

  it('computes totals from cents, never from floats', async () => {
    const user = await customer();
    const a = await h.createProduct({ priceCents: 10 }); // 0.10
    const b = await h.createProduct({ priceCents: 20 }); // 0.20
    await h.caller(user).cart.addItem({ productId: a.id });
    const cart = await h.caller(user).cart.addItem({ productId: b.id });
    expect(cart.subtotal).toBe(0.3); // 0.1 + 0.2 in floats would be 0.30000000000000004
    expect(cart.total).toBe(0.3);
  });

  it('lists lines in the order they were first added, even after later changes', async () => {
    const user = await customer();
    const products = [await h.createProduct(), await h.createProduct(), await h.createProduct()];
    for (const product of products) await h.caller(user).cart.addItem({ productId: product.id });
    const cart = await h.caller(user).cart.addItem({ productId: products[0]!.id, quantity: 4 });
    expect(cart.items.map((item) => item.productId)).toEqual(products.map((p) => p.id));
    await h.caller(user).cart.updateItem({ itemId: cart.items[1]!.id, quantity: 7 });
    const again = await h.caller(user).cart.get();
    expect(again.items.map((item) => item.productId)).toEqual(products.map((p) => p.id));
  });

  it('answers an add with exactly the cart a read shows next (lines computed, not read back)', async () => {
    const user = await customer();
    const [a, b] = [await h.createProduct({ priceCents: 150, stock: 9, imageUrl: 'https://example.com/a.jpg' }), await h.createProduct({ priceCents: 275 })];
    const steps = [{ productId: a.id }, { productId: b.id, quantity: 3 }, { productId: a.id, quantity: 2 }, { productId: b.id }];
    for (const step of steps) {
      const added = await h.caller(user).cart.addItem(step);
      expect(await h.caller(user).cart.get()).toEqual(added);
    }
    const hidden = await h.createProduct();
    await h.caller(user).cart.addItem({ productId: hidden.id });
    await updateProduct(hidden.id, { deletedAt: new Date() });
    const added = await h.caller(user).cart.addItem({ productId: a.id });
    expect(added.items.map((item) => item.productId)).toEqual([a.id, b.id]);
    expect(await h.caller(user).cart.get()).toEqual(added);
  });

  it('answers 404 for unknown, deleted and malformed product ids', async () => {
    const user = await customer();
    const deleted = await h.createProduct();
    await updateProduct(deleted.id, { deletedAt: new Date() });
    for (const productId of ['00000000-0000-4000-8000-000000000000', deleted.id, 'not-a-uuid', '']) {
      await expectAppError(h.caller(user).cart.addItem({ productId }), 'NOT_FOUND');
    }
    expect((await h.caller(user).cart.get()).items).toEqual([]);
  });

  it('rejects a line that would exceed the stock, reporting the resulting quantity', async () => {
    const user = await customer();
    const product = await h.createProduct({ stock: 5 });
    await h.caller(user).cart.addItem({ productId: product.id, quantity: 3 });
    const error = await expectAppError(h.caller(user).cart.addItem({ productId: product.id, quantity: 3 }), 'INSUFFICIENT_STOCK');
    expect(error.details).toEqual([{ productId: product.id, requested: 6, available: 5 }]);
    expect((await h.caller(user).cart.get()).items[0]!.quantity).toBe(3);
  });

  it('caps a line at 99 even when there is more stock', async () => {
    const user = await customer();
    const product = await h.createProduct({ stock: 500 });
    const cart = await h.caller(user).cart.addItem({ productId: product.id, quantity: 60 });
    expect(cart.items[0]!.available).toBe(99);
    const error = await expectAppError(h.caller(user).cart.addItem({ productId: product.id, quantity: 50 }), 'INSUFFICIENT_STOCK');
    expect(error.details).toEqual([{ productId: product.id, requested: 110, available: 99 }]);
  });

  it('rejects an out-of-stock product', async () => {
    const user = await customer();
    const product = await h.createProduct({ stock: 0 });
    const error = await expectAppError(h.caller(user).cart.addItem({ productId: product.id }), 'INSUFFICIENT_STOCK');
    expect(error.details).toEqual([{ productId: product.id, requested: 1, available: 0 }]);
  });

  it.each([0, 100, 1.5, -1])('rejects quantity %s', async (quantity) => {
    const user = await customer();
    const product = await h.createProduct();
    const error = await expectAppError(h.caller(user).cart.addItem({ productId: product.id, quantity }), 'VALIDATION_ERROR');
    expect(error.details).toEqual([{ field: 'quantity', message: expect.any(String) }]);
  });

  it('validates before looking the product up (400 before 404)', async () => {
    const user = await customer();
    await expectAppError(h.caller(user).cart.addItem({ productId: 'missing', quantity: 0 }), 'VALIDATION_ERROR');
  });
});

describe('updating and removing lines', () => {
  it('sets the quantity of a line', async () => {
    const user = await customer();
    const product = await h.createProduct({ priceCents: 250, stock: 20 });
    const added = await h.caller(user).cart.addItem({ productId: product.id, quantity: 5 });
    const updated = await h.caller(user).cart.updateItem({ itemId: added.items[0]!.id, quantity: 2 });
    expect(updated.items[0]).toMatchObject({ quantity: 2, lineTotal: 5 });
    expect(updated).toMatchObject({ itemCount: 2, subtotal: 5, total: 5 });
  });

  it('rejects a quantity above what is available, reporting it', async () => {
    const user = await customer();
    const product = await h.createProduct({ stock: 4 });
    const added = await h.caller(user).cart.addItem({ productId: product.id });
    const error = await expectAppError(h.caller(user).cart.updateItem({ itemId: added.items[0]!.id, quantity: 5 }), 'INSUFFICIENT_STOCK');
    expect(error.details).toEqual([{ productId: product.id, requested: 5, available: 4 }]);
  });

  it("answers 404 for another user's line, a malformed id and an unknown id", async () => {
    const [owner, other] = [await customer(), await customer()];
    const product = await h.createProduct();
    const itemId = (await h.caller(owner).cart.addItem({ productId: product.id })).items[0]!.id;
    for (const id of [itemId, 'nope', '00000000-0000-4000-8000-000000000000']) {
      await expectAppError(h.caller(other).cart.updateItem({ itemId: id, quantity: 2 }), 'NOT_FOUND');
      await expectAppError(h.caller(other).cart.removeItem({ itemId: id }), 'NOT_FOUND');
    }
    expect((await h.caller(owner).cart.get()).items[0]!.quantity).toBe(1);
  });

  it('removes a line', async () => {
    const user = await customer();
    const [a, b] = [await h.createProduct(), await h.createProduct()];
    await h.caller(user).cart.addItem({ productId: a.id });
    const cart = await h.caller(user).cart.addItem({ productId: b.id, quantity: 2 });
    const after = await h.caller(user).cart.removeItem({ itemId: cart.items[0]!.id });
    expect(after.items.map((item) => item.productId)).toEqual([b.id]);
    expect(after.itemCount).toBe(2);
    await expectAppError(h.caller(user).cart.removeItem({ itemId: cart.items[0]!.id }), 'NOT_FOUND');
  });

  it('clears lines and the promo code', async () => {
    const user = await customer();
    const promo = await h.createPromoCode();
    await h.caller(user).cart.addItem({ productId: (await h.createProduct()).id });
    await h.caller(user).cart.applyPromoCode({ code: promo.code });
    const cleared = await h.caller(user).cart.clear();
    expect(cleared).toMatchObject({ items: [], itemCount: 0, subtotal: 0, discount: 0, total: 0, promoCode: null });
    expect((await h.caller(user).cart.get()).items).toEqual([]);
  });

  it('bumps updatedAt on every mutation', async () => {
    const user = await customer();
    const product = await h.createProduct();
    const promo = await h.createPromoCode();
    const seen = [(await h.caller(user).cart.get()).updatedAt];
    const pause = () => new Promise((resolve) => setTimeout(resolve, 5));
    const steps = [
      () => h.caller(user).cart.addItem({ productId: product.id }),
      async () => h.caller(user).cart.updateItem({ itemId: (await h.caller(user).cart.get()).items[0]!.id, quantity: 2 }),
      () => h.caller(user).cart.applyPromoCode({ code: promo.code }),
      () => h.caller(user).cart.removePromoCode(),
      async () => h.caller(user).cart.removeItem({ itemId: (await h.caller(user).cart.get()).items[0]!.id }),
      () => h.caller(user).cart.clear(),
    ];
    for (const step of steps) {
      await pause();
      seen.push((await step()).updatedAt);
    }
    for (let i = 1; i < seen.length; i++) expect(Date.parse(seen[i]!)).toBeGreaterThan(Date.parse(seen[i - 1]!));
  });
});

describe('live invariants', () => {
  it('shows a price change at once', async () => {
    const user = await customer();
    const product = await h.createProduct({ priceCents: 1000 });
    await h.caller(user).cart.addItem({ productId: product.id, quantity: 2 });
    await updateProduct(product.id, { priceCents: 1250 });
    expect((await h.caller(user).cart.get())).toMatchObject({ subtotal: 25, total: 25, items: [{ unitPrice: 12.5, lineTotal: 25 }] });
  });

  it('shows the current stock as available, capped at 99', async () => {
    const user = await customer();
    const product = await h.createProduct({ stock: 150 });
    await h.caller(user).cart.addItem({ productId: product.id });
    expect((await h.caller(user).cart.get()).items[0]!.available).toBe(99);
    await updateProduct(product.id, { stock: 7 });
    expect((await h.caller(user).cart.get()).items[0]!.available).toBe(7);
  });

  it('drops a deleted product from the cart', async () => {
    const user = await customer();
    const [kept, deleted] = [await h.createProduct({ priceCents: 300 }), await h.createProduct({ priceCents: 700 })];
    await h.caller(user).cart.addItem({ productId: kept.id });
    const cart = await h.caller(user).cart.addItem({ productId: deleted.id });
    await updateProduct(deleted.id, { deletedAt: new Date() });
    const after = await h.caller(user).cart.get();
    expect(after.items.map((item) => item.productId)).toEqual([kept.id]);
    expect(after).toMatchObject({ itemCount: 1, subtotal: 3, total: 3 });
    await expectAppError(h.caller(user).cart.updateItem({ itemId: cart.items[1]!.id, quantity: 2 }), 'NOT_FOUND');
  });
});

describe('promo codes on the cart', () => {
  it('applies a code case-insensitively and trimmed, rounding a percent discount half-up', async () => {
    const user = await customer();
    const promo = await h.createPromoCode({ code: 'HALFUP10', type: 'percent', value: 10 });
    await h.caller(user).cart.addItem({ productId: (await h.createProduct({ priceCents: 25 })).id }); // 10% of 25 cents = 2.5 cents
    const cart = await h.caller(user).cart.applyPromoCode({ code: '  halfUp10 ' });
    expect(cart).toMatchObject({ promoCode: promo.code, subtotal: 0.25, discount: 0.03, total: 0.22 });
  });

  it('caps a fixed discount at the subtotal', async () => {
    const user = await customer();
    const promo = await h.createPromoCode({ type: 'fixed', value: 5000 });
    await h.caller(user).cart.addItem({ productId: (await h.createProduct({ priceCents: 1999 })).id });
    const cart = await h.caller(user).cart.applyPromoCode({ code: promo.code });
    expect(cart).toMatchObject({ subtotal: 19.99, discount: 19.99, total: 0 });
  });

  it('replaces an applied code and removes it again', async () => {
    const user = await customer();
    const [ten, fixed] = [await h.createPromoCode({ value: 10 }), await h.createPromoCode({ type: 'fixed', value: 300 })];
    await h.caller(user).cart.addItem({ productId: (await h.createProduct({ priceCents: 2000 })).id });
    expect(await h.caller(user).cart.applyPromoCode({ code: ten.code })).toMatchObject({ promoCode: ten.code, discount: 2, total: 18 });
    expect(await h.caller(user).cart.applyPromoCode({ code: fixed.code })).toMatchObject({ promoCode: fixed.code, discount: 3, total: 17 });
    expect(await h.caller(user).cart.removePromoCode()).toMatchObject({ promoCode: null, discount: 0, total: 20 });
  });

  it('applies a code to an empty cart when no minimum applies', async () => {
    const user = await customer();
    const promo = await h.createPromoCode();
    expect(await h.caller(user).cart.applyPromoCode({ code: promo.code })).toMatchObject({ promoCode: promo.code, discount: 0, total: 0 });
  });

  it('rejects each kind of unusable code with its reason and keeps the previous code', async () => {
    const user = await customer();
    const good = await h.createPromoCode();
    await h.caller(user).cart.addItem({ productId: (await h.createProduct({ priceCents: 1000 })).id });
    await h.caller(user).cart.applyPromoCode({ code: good.code });

    const day = 24 * 60 * 60 * 1000;
    const used = await h.createPromoCode();
    const em = h.db.orm.em.fork();
    const order = em.create(Order, { user: user.id, itemCount: 1, subtotalCents: 100, discountCents: 0, totalCents: 100, currency: 'EUR', promoCode: used.code });
    em.create(PromoRedemption, { promoCode: used.id, user: user.id, order });
    await em.flush();

    const cases: Array<[string, string]> = [
      ['NO-SUCH-CODE', 'not_found'],
      [(await h.createPromoCode({ active: false })).code, 'inactive'],
      [(await h.createPromoCode({ expiresAt: new Date(Date.now() - day) })).code, 'expired'],
      [(await h.createPromoCode({ startsAt: new Date(Date.now() + day) })).code, 'not_started'],
      [(await h.createPromoCode({ maxRedemptions: 2, redemptions: 2 })).code, 'exhausted'],
      [used.code, 'already_used'],
      [(await h.createPromoCode({ minSubtotalCents: 1001 })).code, 'min_subtotal_not_met'],
      // Several reasons at once: the first in contract order wins.
      [(await h.createPromoCode({ active: false, expiresAt: new Date(Date.now() - day), minSubtotalCents: 99999 })).code, 'inactive'],
    ];
    for (const [code, reason] of cases) {
      const error = await expectAppError(h.caller(user).cart.applyPromoCode({ code }), 'PROMO_CODE_INVALID');
      expect(error.details, code).toEqual({ reason });
    }
    expect((await h.caller(user).cart.get()).promoCode).toBe(good.code);
  });

  it('keeps a code that stops being valid applied, with discount 0, until it is valid again', async () => {
    const user = await customer();
    const promo = await h.createPromoCode({ value: 50, minSubtotalCents: 1500 });
    const product = await h.createProduct({ priceCents: 1000 });
    const cart = await h.caller(user).cart.addItem({ productId: product.id, quantity: 2 });
    await h.caller(user).cart.applyPromoCode({ code: promo.code });

    const below = await h.caller(user).cart.updateItem({ itemId: cart.items[0]!.id, quantity: 1 });
    expect(below).toMatchObject({ promoCode: promo.code, subtotal: 10, discount: 0, total: 10 });

    const above = await h.caller(user).cart.updateItem({ itemId: cart.items[0]!.id, quantity: 2 });
    expect(above).toMatchObject({ promoCode: promo.code, discount: 10, total: 10 });

    await h.db.orm.em.fork().nativeUpdate(PromoCode, { id: promo.id }, { active: false });
    expect(await h.caller(user).cart.get()).toMatchObject({ promoCode: promo.code, discount: 0, total: 20 });
  });

  it('rejects a blank code', async () => {
    const user = await customer();
    const error = await expectAppError(h.caller(user).cart.applyPromoCode({ code: '   ' }), 'VALIDATION_ERROR');
    expect(error.details).toEqual([{ field: 'code', message: expect.any(String) }]);
  });
});
