import { z } from 'zod';
import type { AttributeValue, Attributes } from '../../entities/Product.js';
import {
  idParam,
  isoTimestamp,
  moneyInput,
  outputId,
  outputInteger,
  outputMoney,
  pageOf,
  pagination,
  queryBoolean,
  queryMoney,
  trimmedText,
} from '../shared/schemas.js';

const ATTRIBUTE_KEY = /^[a-zA-Z][a-zA-Z0-9_]{0,39}$/;
const MAX_ATTRIBUTES = 50;

const productName = z.string().trim().min(1, 'Required').max(200, 'Must be at most 200 characters');

/** Optional trimmed text where blank counts as missing (contract §1), so it falls back to `null`. */
const optionalTrimmedText = (max: number) =>
  z
    .string()
    .trim()
    .max(max, `Must be at most ${max} characters`)
    .nullable()
    .optional()
    .transform((value) => (value ? value : null));

const httpUrl = z
  .string()
  .meta({ format: 'uri', description: 'An http(s) URL' })
  .max(2000, 'Must be at most 2000 characters')
  .refine((value) => {
    if (!/^https?:\/\/\S+$/i.test(value) || !URL.canParse(value)) return false;
    const url = new URL(value);
    return (url.protocol === 'http:' || url.protocol === 'https:') && url.hostname !== '';
  }, 'Must be an http(s) URL');

const attributeValue = z.union([z.string().max(500, 'Must be at most 500 characters'), z.number(), z.boolean()], {
  error: 'Must be a string, a finite number or a boolean',
});

const attributesInput = z
  .record(z.string().regex(ATTRIBUTE_KEY, 'Keys must match ^[a-zA-Z][a-zA-Z0-9_]{0,39}$'), attributeValue)
  .refine((attributes) => Object.keys(attributes).length <= MAX_ATTRIBUTES, `At most ${MAX_ATTRIBUTES} keys`);

const stockInput = z.number().int('Must be an integer').min(0, 'Must be at least 0').max(1_000_000, 'Must be at most 1000000');

const productFields = {
  name: productName,
  description: z.string().max(5000, 'Must be at most 5000 characters').default(''),
  price: moneyInput({ min: 0, exclusiveMin: true, max: 1_000_000 }),
  imageUrl: httpUrl.nullable().default(null),
  category: optionalTrimmedText(64),
  attributes: attributesInput.default({}),
};

/** What a product body looks like (the contract's example): valid for POST and PUT alike. */
const productBodyExample = {
  name: 'Trail Running Shoe',
  description: 'Light shoe with a grippy sole.',
  price: 89.99,
  imageUrl: 'https://example.com/img/shoe.jpg',
  category: 'footwear',
  stock: 25,
  attributes: { brand: 'Kestrel', color: 'blue', waterproof: true },
};

export const createProductInput = z.strictObject({ ...productFields, stock: stockInput.default(0) }).meta({ examples: [productBodyExample] });

const productIdParam = idParam.describe('Id of the product');

/** PUT replaces every editable field: omitted optional fields reset to their defaults, stock is required. */
export const updateProductInput = z
  .strictObject({ id: productIdParam, ...productFields, stock: stockInput })
  .meta({ examples: [productBodyExample] });

export const productIdInput = z.object({ id: productIdParam });

export const PRODUCT_SORTS = ['newest', 'price_asc', 'price_desc', 'name_asc'] as const;
export type ProductSort = (typeof PRODUCT_SORTS)[number];

const filterFields = {
  ...pagination,
  category: trimmedText(64).describe('Exact category, case-insensitive').optional(),
  minPrice: queryMoney().describe('Lowest price, inclusive, at most 2 decimals').optional(),
  maxPrice: queryMoney().describe('Highest price, inclusive, at most 2 decimals; not below minPrice').optional(),
  inStock: queryBoolean().describe('true: only products in stock; false: only sold-out products').optional(),
};

const priceRangeIsOrdered = (input: { minPrice?: number | undefined; maxPrice?: number | undefined }) =>
  input.minPrice === undefined || input.maxPrice === undefined || input.minPrice <= input.maxPrice;

const priceRangeIssue = { message: 'Must not be greater than maxPrice', path: ['minPrice'] };

export const listProductsInput = z
  .object({
    ...filterFields,
    sort: z
      .enum(PRODUCT_SORTS, { error: `Must be one of ${PRODUCT_SORTS.join(', ')}` })
      .describe('Order of the items; ties by id')
      .default('newest'),
  })
  .refine(priceRangeIsOrdered, priceRangeIssue);

export const searchProductsInput = z
  .object({
    q: z
      .string({ error: (issue) => (issue.input === undefined ? 'Required' : 'Must be a single text value') })
      .trim()
      .min(1, 'Required')
      .max(100, 'Must be at most 100 characters')
      .describe('Words to find in name, description, category and attributes; the last word also matches as a prefix'),
    ...filterFields,
  })
  .refine(priceRangeIsOrdered, priceRangeIssue);

const isAttributeValue = (value: unknown): value is AttributeValue =>
  typeof value === 'string' || typeof value === 'boolean' || (typeof value === 'number' && Number.isFinite(value));

const isAttributes = (value: unknown): value is Attributes =>
  typeof value === 'object' && value !== null && !Array.isArray(value) && Object.values(value).every(isAttributeValue);

/**
 * The same rule as a record of string | number | boolean, checked by one predicate:
 * zod's three-way union builds and throws away an issue for every value that is not
 * a string, which made this field the largest share of a catalog page's output
 * validation (allocation profile of `GET /api/products`). The document keeps the shape.
 */
const attributesOutput = z.custom<Attributes>(isAttributes, 'Must map names to strings, finite numbers or booleans').meta({
  override: { type: 'object', additionalProperties: { anyOf: [{ type: 'string' }, { type: 'number' }, { type: 'boolean' }] } },
});

export const productOutput = z
  .object({
    id: outputId,
    name: z.string(),
    description: z.string(),
    price: outputMoney,
    currency: z.string(),
    imageUrl: z.string().meta({ format: 'uri' }).nullable(),
    category: z.string().nullable(),
    stock: outputInteger({ minimum: 0 }),
    attributes: attributesOutput,
    createdAt: isoTimestamp,
    updatedAt: isoTimestamp,
  })
  .meta({
    id: 'Product',
    examples: [
      {
        id: '0b7e4f0e-4d1a-4c55-9a57-3f6f2b1c8d21',
        ...productBodyExample,
        currency: 'EUR',
        createdAt: '2026-11-24T10:00:00.000Z',
        updatedAt: '2026-11-24T10:00:00.000Z',
      },
    ],
  });

export const productPageOutput = pageOf(productOutput, 'ProductPage');

export type CreateProductInput = z.infer<typeof createProductInput>;
export type UpdateProductInput = z.infer<typeof updateProductInput>;
export type ListProductsInput = z.infer<typeof listProductsInput>;
export type SearchProductsInput = z.infer<typeof searchProductsInput>;
export type ProductOutput = z.infer<typeof productOutput>;
