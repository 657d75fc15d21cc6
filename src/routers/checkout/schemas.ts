import { z } from 'zod';
import { createdHeaders } from '../shared/schemas.js';

/**
 * The body is optional: REST turns an absent body into `{}`, a tRPC client may
 * send nothing at all. No transforms, so the parsed input is the request body as
 * sent, which is what the idempotency fingerprint must compare.
 */
export const checkoutInput = z
  .strictObject({
    promoCode: z
      .string()
      .max(255, 'Must be at most 255 characters')
      .nullable()
      .optional()
      .describe('Overrides the code applied to the cart; null or absent uses the cart\'s code'),
  })
  .default({})
  .meta({ examples: [{ promoCode: null }] });

/** 1–255 visible ASCII characters (contract §6). */
export const idempotencyKeyHeader = z
  .string()
  .regex(/^[\x21-\x7E]{1,255}$/, 'Must be 1 to 255 visible ASCII characters');

export const checkoutRequestHeaders = z.object({
  'Idempotency-Key': idempotencyKeyHeader.optional().describe('Retries with the same key and body replay the original order'),
});

export const checkoutResponseHeaders = createdHeaders('/api/orders/{id}').extend({
  'Idempotent-Replayed': z.literal('true').optional().describe('`true` when this is the replay of an earlier checkout with the same Idempotency-Key; absent otherwise'),
});

export type CheckoutInput = z.infer<typeof checkoutInput>;
