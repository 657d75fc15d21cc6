import { z } from 'zod';
import { idParam, isoTimestamp, outputId, outputInteger, outputMoney, pageOf, pagination } from '../shared/schemas.js';

export const orderItemOutput = z
  .object({
    productId: outputId,
    name: z.string(),
    unitPrice: outputMoney,
    quantity: outputInteger({ minimum: 1, maximum: 99 }),
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
    subtotal: outputMoney,
    discount: outputMoney,
    total: outputMoney,
    currency: z.string(),
    promoCode: z.string().nullable(),
    createdAt: isoTimestamp,
  })
  .meta({ id: 'Order' });

export const listOrdersInput = z.object(pagination);

export const orderPageOutput = pageOf(orderOutput, 'OrderPage');

export const orderIdInput = z.object({ id: idParam });

export type OrderOutput = z.infer<typeof orderOutput>;
export type ListOrdersInput = z.infer<typeof listOrdersInput>;
