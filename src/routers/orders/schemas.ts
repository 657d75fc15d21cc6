import { z } from 'zod';
import { idParam, isoTimestamp, pageOf, pagination } from '../shared/schemas.js';

export const orderItemOutput = z.object({
  productId: z.string(),
  name: z.string(),
  unitPrice: z.number(),
  quantity: z.number().int(),
  lineTotal: z.number(),
});

/** The contract's Order (§6): a snapshot, money in major units. */
export const orderOutput = z.object({
  id: z.string(),
  status: z.literal('placed'),
  items: z.array(orderItemOutput),
  itemCount: z.number().int(),
  subtotal: z.number(),
  discount: z.number(),
  total: z.number(),
  currency: z.string(),
  promoCode: z.string().nullable(),
  createdAt: isoTimestamp,
});

export const listOrdersInput = z.object(pagination);

export const orderPageOutput = pageOf(orderOutput);

export const orderIdInput = z.object({ id: idParam });

export type OrderOutput = z.infer<typeof orderOutput>;
export type ListOrdersInput = z.infer<typeof listOrdersInput>;
