import { expect } from 'vitest';

/**
 * Shapes the contract fixes, restated here (not imported from src/) so that a test
 * holds the code to the contract rather than to itself.
 */

/** §1: ISO 8601 UTC with milliseconds. */
export const ISO_TIMESTAMP = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/;

/** §5: the cart of a user who has added nothing yet, as REST sends it and tRPC returns it. */
export const emptyCart = (currency = 'EUR') => ({
  id: expect.any(String),
  items: [],
  itemCount: 0,
  subtotal: 0,
  discount: 0,
  total: 0,
  currency,
  promoCode: null,
  updatedAt: expect.stringMatching(ISO_TIMESTAMP),
});
