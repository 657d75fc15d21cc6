/**
 * Money is integer cents inside the server; the API speaks major units with at
 * most two decimals (contract §1). Conversions happen only at the edges.
 */
export const toCents = (amount: number): number => Math.round(amount * 100);

export const fromCents = (cents: number): number => cents / 100;

/** True when `amount` has at most two decimals (tolerates binary float noise such as 0.1 + 0.2). */
export const hasAtMostTwoDecimals = (amount: number): boolean =>
  Number.isFinite(amount) && Math.abs(amount * 100 - Math.round(amount * 100)) < 1e-6;
