import { LockMode } from '@mikro-orm/core';
import type { Em } from '../../db/orm.js';
import { CartItem } from '../../entities/CartItem.js';
import { Product } from '../../entities/Product.js';
import { notFound } from '../../errors.js';
import { fromCents, toCents } from '../../lib/money.js';
import { searchWords } from '../../lib/search-text.js';
import { findOr404, softDeleteOr404 } from '../shared/found.js';
import { isUuid, type Page, type PageRequest } from '../shared/schemas.js';
import { fetchLiveProduct, listQuery, searchQuery, type CatalogFilter, type PageWindow, type ProductRecord, type TextQuery } from './queries.js';
import type {
  CreateProductInput,
  ListProductsInput,
  ProductOutput,
  SearchProductsInput,
  UpdateProductInput,
} from './schemas.js';
import { countedPage } from './catalog-cache.js';

/** The fields a product answer is built from: a Product entity or a catalog page record. */
type ProductFields = Omit<ProductRecord, 'imageUrl' | 'category' | 'attributes' | 'createdAt' | 'updatedAt'> & {
  imageUrl?: string | null;
  category?: string | null;
  attributes?: ProductRecord['attributes'];
  createdAt: Date | string;
  updatedAt: Date | string;
};

const isoString = (time: Date | string) => (typeof time === 'string' ? time : time.toISOString());

export const toProductOutput = (product: ProductFields, currency: string): ProductOutput => ({
  id: product.id,
  name: product.name,
  description: product.description,
  price: fromCents(product.priceCents),
  currency,
  imageUrl: product.imageUrl ?? null,
  category: product.category ?? null,
  stock: product.stock,
  attributes: product.attributes ?? {},
  createdAt: isoString(product.createdAt),
  updatedAt: isoString(product.updatedAt),
});

const filterOf = (input: ListProductsInput | SearchProductsInput): CatalogFilter => ({
  category: input.category,
  minPriceCents: input.minPrice === undefined ? undefined : toCents(input.minPrice),
  maxPriceCents: input.maxPrice === undefined ? undefined : toCents(input.maxPrice),
  inStock: input.inStock,
});

// Offsets beyond any real total only need to stay "past the end"; clamping keeps them valid SQL.
const windowOf = ({ page, limit }: PageRequest): PageWindow => ({
  offset: Math.min((page - 1) * limit, Number.MAX_SAFE_INTEGER),
  limit,
});

export async function listProducts(em: Em, input: ListProductsInput): Promise<Page<ProductRecord>> {
  const { total, products } = await countedPage(em, listQuery(filterOf(input), input.sort), windowOf(input));
  return { page: input.page, limit: input.limit, total, items: products };
}

/** A tsquery operand: words hold only letters and digits, quoting merely keeps that safe by construction. */
const quoteWord = (word: string) => `'${word.replace(/['\\]/g, '\\$&')}'`;

/**
 * Every word must match a whole word, the last one also as a prefix. The same
 * normalisation as the indexed text (searchWords), so case and accents never matter.
 */
export function textQueryOf(q: string): TextQuery | undefined {
  const words = searchWords(q);
  if (words.length === 0) return undefined;
  const operands = words.map((word, i) => ({ word: quoteWord(word), prefix: i === words.length - 1 ? '*' : '' }));
  return {
    match: operands.map(({ word, prefix }) => (prefix ? `${word}:${prefix}` : word)).join(' & '),
    nameTerms: operands.map(({ word, prefix }) => `${word}:${prefix}A`),
  };
}

export async function searchProducts(em: Em, input: SearchProductsInput): Promise<Page<ProductRecord>> {
  const text = textQueryOf(input.q);
  if (!text) return { page: input.page, limit: input.limit, total: 0, items: [] };
  const { total, products } = await countedPage(em, searchQuery(filterOf(input), text), windowOf(input));
  return { page: input.page, limit: input.limit, total, items: products };
}

/** A read-only answer: a plain record, no entity hydration (as for catalog pages). */
export async function getProduct(em: Em, id: string): Promise<ProductRecord> {
  const product = isUuid(id) ? await fetchLiveProduct(em, id) : undefined;
  if (!product) throw notFound('Product');
  return product;
}

const editableFields = (input: CreateProductInput | UpdateProductInput) => ({
  name: input.name,
  description: input.description,
  priceCents: toCents(input.price),
  imageUrl: input.imageUrl,
  category: input.category,
  stock: input.stock,
  attributes: input.attributes,
});

export async function createProduct(em: Em, input: CreateProductInput): Promise<Product> {
  const product = em.create(Product, editableFields(input));
  await em.flush();
  return product;
}

/** PUT semantics: every editable field is replaced; the row is locked so a concurrent delete is not undone. */
export async function updateProduct(em: Em, input: UpdateProductInput): Promise<Product> {
  return em.transactional(async (tem) => {
    const product = await findOr404(tem, Product, 'Product', input.id, { deletedAt: null }, { lockMode: LockMode.PESSIMISTIC_WRITE });
    Object.assign(product, editableFields(input));
    return product;
  });
}

/** Soft delete: orders keep their snapshot, carts lose the line, everything else stops seeing it. */
export async function deleteProduct(em: Em, id: string): Promise<void> {
  await em.transactional(async (tem) => {
    await softDeleteOr404(tem, Product, 'Product', id);
    await tem.nativeDelete(CartItem, { product: id });
  });
}
