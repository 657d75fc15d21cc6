import { z } from 'zod';
import { hasAtMostTwoDecimals } from '../../lib/money.js';

/**
 * Building blocks shared by every feature's schemas.
 *
 * Query parameters arrive as strings over REST and as numbers/booleans from typed
 * tRPC clients, so query schemas accept both and parse strings strictly
 * themselves: `1.5`, `abc`, `` and repeated values are rejected, never coerced.
 * (The REST adapter's own coercion only touches plain number/boolean schemas,
 * which these deliberately are not.)
 */

const DECIMAL_INTEGER = /^\d+$/;
const DECIMAL_MONEY = /^\d+(\.\d{1,2})?$/;

type JsonSchema = Record<string, unknown>;

/**
 * What the OpenAPI document says a query parameter is: what a REST client sends
 * (`?page=2` is an integer), not the number-or-string union that also takes the
 * typed values of tRPC clients. Swagger UI refuses to send a parameter typed
 * `["number", "string"]`. Only the document changes; parsing stays as strict.
 */
const documentedAs = (schema: JsonSchema) => ({
  override: ({ jsonSchema }: { jsonSchema: JsonSchema }) => {
    delete jsonSchema.type;
    delete jsonSchema.anyOf;
    Object.assign(jsonSchema, schema);
  },
});

export const queryInteger = (min: number, max: number) =>
  z
    .union([z.number(), z.string()], { error: (issue) => (issue.input === undefined ? 'Required' : 'Must be a single integer') })
    .transform((raw, ctx) => {
      const value = typeof raw === 'number' ? raw : DECIMAL_INTEGER.test(raw) ? Number(raw) : Number.NaN;
      if (!Number.isSafeInteger(value) || value < min || value > max) {
        ctx.addIssue({ code: 'custom', message: `Must be an integer from ${min} to ${max}` });
        return z.NEVER;
      }
      return value;
    })
    // The largest safe integer is the end of exact numbers, not a bound worth a client's attention.
    .meta(documentedAs({ type: 'integer', minimum: min, ...(max < Number.MAX_SAFE_INTEGER ? { maximum: max } : {}) }));

export const queryMoney = () =>
  z
    .union([z.number(), z.string()], { error: (issue) => (issue.input === undefined ? 'Required' : 'Must be a single amount') })
    .transform((raw, ctx) => {
      const value = typeof raw === 'number' ? raw : DECIMAL_MONEY.test(raw) ? Number(raw) : Number.NaN;
      if (!Number.isFinite(value) || value < 0 || value > 1_000_000 || !hasAtMostTwoDecimals(value)) {
        ctx.addIssue({ code: 'custom', message: 'Must be an amount from 0 to 1000000 with at most 2 decimals' });
        return z.NEVER;
      }
      return value;
    })
    .meta(documentedAs({ type: 'number', minimum: 0, maximum: 1_000_000 }));

export const queryBoolean = () =>
  z
    .union([z.boolean(), z.string()], { error: 'Must be true or false' })
    .transform((raw, ctx) => {
      if (raw === true || raw === 'true') return true;
      if (raw === false || raw === 'false') return false;
      ctx.addIssue({ code: 'custom', message: 'Must be true or false' });
      return z.NEVER;
    })
    .meta(documentedAs({ type: 'boolean' }));

/** Trimmed text; empty after trimming counts as missing (contract §1). */
export const trimmedText = (max: number) =>
  z.string({ error: 'Must be a single text value' }).transform((raw, ctx) => {
    const value = raw.trim();
    if (value.length > max) {
      ctx.addIssue({ code: 'custom', message: `Must be at most ${max} characters` });
      return z.NEVER;
    }
    return value === '' ? undefined : value;
  });

/**
 * A default on a transforming schema is the parsed value, so JSON Schema's input
 * side leaves it out; the document states it, since a client may omit the parameter.
 */
const withDocumentedDefault = <T extends z.ZodType>(schema: T, value: z.util.NoUndefined<z.output<T>>) =>
  schema.default(value).meta({ override: { default: value } });

/** The most items a page may hold (contract §4: `limit` 1–100, default 20). */
const MAX_PAGE_SIZE = 100;

export const pagination = {
  page: queryInteger(1, Number.MAX_SAFE_INTEGER).describe('Page number, from 1'),
  limit: withDocumentedDefault(queryInteger(1, MAX_PAGE_SIZE), 20).describe(`Items per page, 1 to ${MAX_PAGE_SIZE}`),
};

export interface PageRequest {
  page: number;
  limit: number;
}

/**
 * Output integers with the bound the document states: zod's `int()` alone is
 * documented as ±2^53, which Swagger UI shows as the example value. Only the
 * document changes (output checks stay as they were).
 */
export const outputInteger = (bounds: { minimum: number; maximum?: number }) => z.number().int().meta(bounds);

/** A money amount in major units (contract §1), as it leaves the server. */
export const outputMoney = z.number().meta({ minimum: 0, description: 'Major units, at most 2 decimals' });

/** Server-made ids are UUIDs; clients treat them as opaque strings. */
export const outputId = z.string().meta({ format: 'uuid' });

/** What a cart (§5) and an order (§6) both carry after their lines: money computed from integer cents, and the applied code. */
export const totalsFields = {
  subtotal: outputMoney,
  discount: outputMoney,
  total: outputMoney,
  currency: z.string(),
  promoCode: z.string().nullable(),
};

/** The contract's page of a collection, named for the document (`ProductPage`, …). */
export const pageOf = <T extends z.ZodType>(item: T, id: string) =>
  z
    .object({
      page: outputInteger({ minimum: 1 }),
      limit: outputInteger({ minimum: 1, maximum: MAX_PAGE_SIZE }),
      total: outputInteger({ minimum: 0 }).describe('Every match, not just this page'),
      items: z.array(item),
    })
    .meta({ id });

export interface Page<T> extends PageRequest {
  total: number;
  items: T[];
}

/** Money input in major units: a positive JSON number with at most 2 decimals. */
export const moneyInput = (opts: { min?: number; exclusiveMin?: boolean; max: number }) =>
  z
    .number()
    .refine((v) => hasAtMostTwoDecimals(v), 'Must have at most 2 decimals')
    .refine((v) => (opts.exclusiveMin ? v > (opts.min ?? 0) : v >= (opts.min ?? 0)), {
      message: opts.exclusiveMin ? `Must be greater than ${opts.min ?? 0}` : `Must be at least ${opts.min ?? 0}`,
    })
    .refine((v) => v <= opts.max, `Must be at most ${opts.max}`);

/** Path ids are opaque strings; a malformed one is simply "not found" (contract §1). Valid ones are UUIDs. */
export const idParam = z.string().meta({ format: 'uuid' });

/** The response headers of a 201: where the created resource is read (`/api/products/{id}`). */
export const createdHeaders = (template: string) =>
  z.object({ Location: z.string().describe(`${template}: where the created resource is read`) });

export const isoTimestamp = z.string().meta({ format: 'date-time', description: 'ISO 8601 UTC timestamp with milliseconds' });

export const UUID_PATTERN = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

export const isUuid = (value: string) => UUID_PATTERN.test(value);
