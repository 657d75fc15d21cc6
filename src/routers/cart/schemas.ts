import { z } from 'zod';
import { idParam, isoTimestamp, outputId, outputInteger, outputMoney, totalsFields } from '../shared/schemas.js';

export const MAX_LINE_QUANTITY = 99;

/**
 * Distinct products per cart. With the price and quantity caps this bounds every
 * sum: 1,000 × 99 × 1,000,000.00 = 9.9e12 cents, far inside the 8-byte columns and
 * the integers JavaScript numbers hold exactly (2^53 ≈ 9.007e15).
 */
export const MAX_CART_LINES = 1_000;

const lineQuantity = z
  .number({ error: `Must be an integer from 1 to ${MAX_LINE_QUANTITY}` })
  .int(`Must be an integer from 1 to ${MAX_LINE_QUANTITY}`)
  .min(1, `Must be an integer from 1 to ${MAX_LINE_QUANTITY}`)
  .max(MAX_LINE_QUANTITY, `Must be an integer from 1 to ${MAX_LINE_QUANTITY}`);

export const addItemInput = z
  .strictObject({
    /** Opaque: a malformed id is simply an unknown product (404). */
    productId: z.string().meta({ format: 'uuid' }),
    quantity: lineQuantity.default(1),
  })
  .meta({ examples: [{ productId: '0b7e4f0e-4d1a-4c55-9a57-3f6f2b1c8d21', quantity: 2 }] });

const itemIdParam = idParam.describe('Id of a line of your cart');

export const updateItemInput = z.strictObject({ itemId: itemIdParam, quantity: lineQuantity }).meta({ examples: [{ quantity: 3 }] });

/** DELETE builds its input from path and query: unknown query parameters are ignored, not rejected. */
export const removeItemInput = z.object({ itemId: itemIdParam });

export const applyPromoCodeInput = z
  .strictObject({
    code: z.string().trim().min(1, 'Required').max(255, 'Must be at most 255 characters').describe('Matched case-insensitively'),
  })
  .meta({ examples: [{ code: 'SAVE10' }] });

export const cartItemOutput = z
  .object({
    id: outputId,
    productId: outputId,
    name: z.string(),
    imageUrl: z.string().meta({ format: 'uri' }).nullable(),
    unitPrice: outputMoney,
    quantity: outputInteger({ minimum: 1, maximum: MAX_LINE_QUANTITY }),
    lineTotal: outputMoney,
    available: outputInteger({ minimum: 0, maximum: MAX_LINE_QUANTITY }).describe('The most this line may hold now: min(99, stock)'),
  })
  .meta({ id: 'CartItem' });

/** The contract's Cart (§5): totals computed from integer cents. */
export const cartOutput = z
  .object({
    id: outputId,
    items: z.array(cartItemOutput),
    itemCount: outputInteger({ minimum: 0 }),
    ...totalsFields,
    updatedAt: isoTimestamp,
  })
  .meta({
    id: 'Cart',
    examples: [
      {
        id: '9d2b6c1e-5a3f-4e7d-8b0c-1f2a3b4c5d6e',
        items: [
          {
            id: '6a7b8c9d-0e1f-4a2b-8c3d-4e5f6a7b8c9d',
            productId: '0b7e4f0e-4d1a-4c55-9a57-3f6f2b1c8d21',
            name: 'Trail Running Shoe',
            imageUrl: 'https://example.com/img/shoe.jpg',
            unitPrice: 89.99,
            quantity: 2,
            lineTotal: 179.98,
            available: 25,
          },
        ],
        itemCount: 2,
        subtotal: 179.98,
        discount: 18,
        total: 161.98,
        currency: 'EUR',
        promoCode: 'SAVE10',
        updatedAt: '2026-11-24T10:00:00.000Z',
      },
    ],
  });

export type AddItemInput = z.infer<typeof addItemInput>;
export type UpdateItemInput = z.infer<typeof updateItemInput>;
export type CartOutput = z.infer<typeof cartOutput>;
