import { z } from 'zod';
import { adminProcedure, publicProcedure, router } from '../../trpc.js';
import { createdHeaders, type Page } from '../shared/schemas.js';
import type { ProductRecord } from './queries.js';
import {
  createProductInput,
  listProductsInput,
  productIdInput,
  productOutput,
  productPageOutput,
  searchProductsInput,
  updateProductInput,
} from './schemas.js';
import {
  createProduct,
  deleteProduct,
  getProduct,
  listProducts,
  searchProducts,
  toProductOutput,
  updateProduct,
} from './service.js';

const tags = ['products'];

const toProductPage = (page: Page<ProductRecord>, currency: string) => ({
  ...page,
  items: page.items.map((product) => toProductOutput(product, currency)),
});

// `/api/products/search` is declared before `/api/products/{id}`: the REST adapter takes the first match.
export const productsRouter = router({
  list: publicProcedure
    .meta({ openapi: { method: 'GET', path: '/api/products', tags, protect: false, summary: 'List products (filter, sort, paginate)' } })
    .input(listProductsInput)
    .output(productPageOutput)
    .query(async ({ ctx, input }) => toProductPage(await listProducts(ctx.em, input), ctx.config.currency)),

  search: publicProcedure
    .meta({ openapi: { method: 'GET', path: '/api/products/search', tags, protect: false, summary: 'Full-text product search, by relevance' } })
    .input(searchProductsInput)
    .output(productPageOutput)
    .query(async ({ ctx, input }) => toProductPage(await searchProducts(ctx.em, input), ctx.config.currency)),

  byId: publicProcedure
    .meta({ openapi: { method: 'GET', path: '/api/products/{id}', tags, protect: false, summary: 'One product' } })
    .input(productIdInput)
    .output(productOutput)
    .query(async ({ ctx, input }) => toProductOutput(await getProduct(ctx.em, input.id), ctx.config.currency)),

  create: adminProcedure
    .meta({
      openapi: { method: 'POST', path: '/api/products', tags, summary: 'Create a product (admin)', responseHeaders: createdHeaders('/api/products/{id}') },
      successStatus: 201,
    })
    .input(createProductInput)
    .output(productOutput)
    .mutation(async ({ ctx, input }) => {
      const product = await createProduct(ctx.em, input);
      ctx.responseHeaders['Location'] = `/api/products/${product.id}`;
      return toProductOutput(product, ctx.config.currency);
    }),

  update: adminProcedure
    .meta({ openapi: { method: 'PUT', path: '/api/products/{id}', tags, summary: 'Replace a product (admin)' } })
    .input(updateProductInput)
    .output(productOutput)
    .mutation(async ({ ctx, input }) => toProductOutput(await updateProduct(ctx.em, input), ctx.config.currency)),

  delete: adminProcedure
    .meta({ openapi: { method: 'DELETE', path: '/api/products/{id}', tags, summary: 'Delete a product (admin)' }, successStatus: 204 })
    .input(productIdInput)
    .output(z.void())
    .mutation(({ ctx, input }) => deleteProduct(ctx.em, input.id)),
});
