/**
 * Money is integer cents inside the server; the API speaks major units with at
 * most two decimals (contract §1). Conversions happen only at the edges.
 */
export const toCents = (amount: number): number => Math.round(amount * 100);

export const fromCents = (cents: number): number => cents / 100;

/** `String(v)` of a finite number: digits, optional fraction, optional exponent (`1e-9`, `1.5e+21`). */
const NUMBER_TEXT = /^-?\d+(?:\.(\d+))?(?:e([+-]\d+))?$/;

/**
 * True when `amount` has at most two decimals, judged on its shortest decimal
 * representation — the digits the client wrote, as JSON gives them to us. No
 * tolerance: `19.999999999` and `1e-9` are refused rather than rounded to 20 and 0.
 */
export const hasAtMostTwoDecimals = (amount: number): boolean => {
  if (!Number.isFinite(amount)) return false;
  const match = NUMBER_TEXT.exec(String(amount));
  if (!match) return false;
  const fractionDigits = match[1]?.length ?? 0;
  const exponent = Number(match[2] ?? 0);
  return fractionDigits - exponent <= 2;
};
