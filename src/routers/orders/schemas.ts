import { z } from 'zod';
import { MAX_LINE_QUANTITY } from '../cart/schemas.js';
import { idParam, isoTimestamp, outputId, outputInteger, outputMoney, pageOf, pagination, totalsFields } from '../shared/schemas.js';

export const orderItemOutput = z
  .object({
    productId: outputId,
    name: z.string(),
    unitPrice: outputMoney,
    quantity: outputInteger({ minimum: 1, maximum: MAX_LINE_QUANTITY }),
    lineTotal: outputMoney,
  })
  .meta({ id: 'OrderItem' });

/** The contract's Order (§6): a snapshot, money in major units. */
export const orderOutput = z
  .object({
    id: outputId,
    status: z.literal('placed'),
    items: z.array(orderItemOutput),
    itemCount: outputInteger({ minimum: 1 }),
    ...totalsFields,
    createdAt: isoTimestamp,
  })
  .meta({
    id: 'Order',
    examples: [
      {
        id: '2c4e6a8b-1d3f-4b5a-9c7e-0f2a4c6e8b1d',
        status: 'placed',
        items: [{ productId: '0b7e4f0e-4d1a-4c55-9a57-3f6f2b1c8d21', name: 'Trail Running Shoe', unitPrice: 89.99, quantity: 2, lineTotal: 179.98 }],
        itemCount: 2,
        subtotal: 179.98,
        discount: 18,
        total: 161.98,
        currency: 'EUR',
        promoCode: 'SAVE10',
        createdAt: '2026-11-24T10:05:00.000Z',
      },
    ],
  });

export const listOrdersInput = z.object(pagination);

export const orderPageOutput = pageOf(orderOutput, 'OrderPage');

export const orderIdInput = z.object({ id: idParam.describe('Id of one of your orders') });

export type OrderOutput = z.infer<typeof orderOutput>;
export type ListOrdersInput = z.infer<typeof listOrdersInput>;
