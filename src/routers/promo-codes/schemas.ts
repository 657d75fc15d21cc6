import { z } from 'zod';
import { PROMO_TYPES, type PromoType } from '../../entities/PromoCode.js';
import { hasAtMostTwoDecimals } from '../../lib/money.js';
import { normalizePromoCode } from './redemption.js';
import { idParam, isoTimestamp, moneyInput, outputId, outputInteger, outputMoney, pageOf, pagination } from '../shared/schemas.js';

const MAX_FIXED_VALUE = 1_000_000;
const MAX_MIN_SUBTOTAL = 1_000_000;
/** The column is a 4-byte integer. */
const MAX_REDEMPTIONS_LIMIT = 2_147_483_647;

export const promoCodeText = z
  .string()
  .trim()
  .min(3, 'Must be 3 to 32 characters')
  .max(32, 'Must be 3 to 32 characters')
  .regex(/^[A-Za-z0-9_-]+$/, 'May contain only letters, digits, "_" and "-"')
  .transform(normalizePromoCode);

/**
 * ISO 8601 date-times with an offset, in the extended (`2026-12-31T23:59:59.5+02:00`)
 * or basic (`20261231T235959+0200`) form; seconds and fractions optional. Without
 * an offset a time is ambiguous, so it is rejected. Fractions finer than a
 * millisecond must be zeros (`.123000`): the API stores and returns milliseconds.
 */
const ISO_WITH_OFFSET =
  /^(\d{4})-?(\d{2})-?(\d{2})T(\d{2}):?(\d{2})(?::?(\d{2})(?:[.,](\d{1,9}))?)?(Z|([+-])(\d{2})(?::?(\d{2}))?)$/i;

export function parseOffsetDateTime(text: string): Date | undefined {
  const m = ISO_WITH_OFFSET.exec(text);
  if (!m) return undefined;
  const [year, month, day, hour, minute, second, offsetHours, offsetMinutes] = [1, 2, 3, 4, 5, 6, 10, 11].map((i) => Number(m[i] ?? 0)) as [number, number, number, number, number, number, number, number];
  const fraction = (m[7] ?? '').padEnd(3, '0');
  // Times are kept (and returned) to the millisecond: finer digits are refused rather than silently cut.
  if (/[1-9]/.test(fraction.slice(3))) return undefined;
  const millis = Number(fraction.slice(0, 3));
  const offsetSign = m[9] === '-' ? -1 : 1;
  if (month < 1 || month > 12 || hour > 23 || minute > 59 || second > 59 || offsetHours > 23 || offsetMinutes > 59) return undefined;
  // setUTCFullYear, unlike Date.UTC, does not read years 0–99 as 1900–1999.
  const local = new Date(0);
  local.setUTCFullYear(year, month - 1, day);
  local.setUTCHours(hour, minute, second, millis);
  // A day past the month's end (2026-02-30) rolls over into the next month: it does not exist.
  if (local.getUTCDate() !== day) return undefined;
  return new Date(local.getTime() - offsetSign * (offsetHours * 60 + offsetMinutes) * 60_000);
}

/**
 * The instants the API can store and print back in the contract's form: PostgreSQL
 * has no year 0 (JavaScript's year 0 is 1 BC), and `toISOString()` prints years
 * after 9999 as `+010000-…`. The bounds apply to the UTC instant, after the offset.
 */
const EARLIEST_INSTANT = Date.parse('0001-01-01T00:00:00.000Z');
const LATEST_INSTANT = Date.parse('9999-12-31T23:59:59.999Z');

const offsetDateTime = z
  .string()
  .meta({
    format: 'date-time',
    description: 'ISO 8601 date-time with an offset, e.g. 2026-12-31T23:59:59+02:00, to the millisecond; in UTC between years 0001 and 9999',
  })
  .transform((text, ctx) => {
    const date = parseOffsetDateTime(text.trim());
    if (!date) {
      ctx.addIssue({ code: 'custom', message: 'Must be an ISO 8601 date-time with an offset and at most millisecond precision, e.g. 2026-12-31T23:59:59Z' });
      return z.NEVER;
    }
    if (date.getTime() < EARLIEST_INSTANT || date.getTime() > LATEST_INSTANT) {
      ctx.addIssue({ code: 'custom', message: 'Must be between 0001-01-01T00:00:00Z and 9999-12-31T23:59:59.999Z in UTC' });
      return z.NEVER;
    }
    return date;
  });

const windowBound = offsetDateTime.nullable();

const maxRedemptions = z
  .number()
  .int('Must be an integer')
  .min(1, 'Must be at least 1')
  .max(MAX_REDEMPTIONS_LIMIT, `Must be at most ${MAX_REDEMPTIONS_LIMIT}`)
  .nullable();

const minSubtotal = moneyInput({ min: 0, max: MAX_MIN_SUBTOTAL });

export const WINDOW_ORDER_MESSAGE = 'startsAt must be before expiresAt';

/**
 * A cross-field rule that runs even when other fields failed, so that one response
 * names every problem. Its input may then hold unparsed values: rules check types.
 */
const crossFieldRule = <T>(rule: (body: T, ctx: z.RefinementCtx<T>) => void) =>
  z.superRefine(rule, { when: (payload) => typeof payload.value === 'object' && payload.value !== null });

/** startsAt ≥ expiresAt is refused when the body gives both; PATCH re-checks against stored values. */
const windowInOrder = crossFieldRule<{ startsAt?: Date | null | undefined; expiresAt?: Date | null | undefined }>((body, ctx) => {
  if (body.startsAt instanceof Date && body.expiresAt instanceof Date && body.startsAt >= body.expiresAt) {
    ctx.addIssue({ code: 'custom', path: ['startsAt'], message: WINDOW_ORDER_MESSAGE });
  }
});

const valueFitsType = crossFieldRule<{ type: PromoType; value: number }>((body, ctx) => {
  if (typeof body.value !== 'number') return;
  if (body.type === 'percent' && !(Number.isInteger(body.value) && body.value >= 1 && body.value <= 100)) {
    ctx.addIssue({ code: 'custom', path: ['value'], message: 'A percent value must be an integer from 1 to 100' });
  }
  if (body.type === 'fixed' && !(body.value > 0 && body.value <= MAX_FIXED_VALUE && hasAtMostTwoDecimals(body.value))) {
    ctx.addIssue({
      code: 'custom',
      path: ['value'],
      message: `A fixed value must be an amount greater than 0 and at most ${MAX_FIXED_VALUE} with at most 2 decimals`,
    });
  }
});

export const createPromoCodeInput = z
  .strictObject({
    code: promoCodeText,
    type: z.enum(PROMO_TYPES),
    value: z.number().describe('percent: integer 1–100; fixed: amount in major units, > 0 and ≤ 1000000'),
    active: z.boolean().default(true),
    startsAt: windowBound.default(null),
    expiresAt: windowBound.default(null),
    maxRedemptions: maxRedemptions.default(null),
    minSubtotal: minSubtotal.default(0),
  })
  .check(valueFitsType, windowInOrder)
  .meta({
    examples: [
      { code: 'SAVE10', type: 'percent', value: 10, active: true, startsAt: null, expiresAt: '2030-12-31T23:59:59.000Z', maxRedemptions: 100, minSubtotal: 0 },
    ],
  });

/** `code`, `type` and `value` are fixed at creation, so the strict object rejects them as unknown fields. */
const promoCodeIdParam = idParam.describe('Id of the promo code');

export const updatePromoCodeInput = z
  .strictObject({
    id: promoCodeIdParam,
    active: z.boolean().optional(),
    startsAt: windowBound.optional(),
    expiresAt: windowBound.optional(),
    maxRedemptions: maxRedemptions.optional(),
    minSubtotal: minSubtotal.optional(),
  })
  .check(windowInOrder)
  .meta({ examples: [{ active: false, maxRedemptions: 200 }] });

export const promoCodeIdInput = z.object({ id: promoCodeIdParam });

export const listPromoCodesInput = z.object(pagination);

export const promoCodeOutput = z
  .object({
    id: outputId,
    code: z.string(),
    type: z.enum(PROMO_TYPES),
    value: z.number().meta({ exclusiveMinimum: 0, description: 'percent: 1–100; fixed: an amount in major units' }),
    active: z.boolean(),
    startsAt: isoTimestamp.nullable(),
    expiresAt: isoTimestamp.nullable(),
    maxRedemptions: outputInteger({ minimum: 1, maximum: MAX_REDEMPTIONS_LIMIT }).nullable().describe('null: unlimited'),
    redemptions: outputInteger({ minimum: 0 }),
    minSubtotal: outputMoney,
    currency: z.string(),
    createdAt: isoTimestamp,
  })
  .meta({
    id: 'PromoCode',
    examples: [
      {
        id: '7e9a1c3b-5d7f-4e2a-8b6c-0d1e2f3a4b5c',
        code: 'SAVE10',
        type: 'percent',
        value: 10,
        active: true,
        startsAt: null,
        expiresAt: '2030-12-31T23:59:59.000Z',
        maxRedemptions: 100,
        redemptions: 3,
        minSubtotal: 0,
        currency: 'EUR',
        createdAt: '2026-11-24T10:00:00.000Z',
      },
    ],
  });

export const promoCodePageOutput = pageOf(promoCodeOutput, 'PromoCodePage');

export type CreatePromoCodeInput = z.infer<typeof createPromoCodeInput>;
export type UpdatePromoCodeInput = z.infer<typeof updatePromoCodeInput>;
export type PromoCodeOutput = z.infer<typeof promoCodeOutput>;
