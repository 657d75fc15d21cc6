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
    .meta({ openapi: { method: 'GET', path: '/api/products', tags, protect: false, summary: 'List products (filter, sort, paginate)', description: 'Filters combine; ties in any order are broken by id, so walking the pages yields every product once.' } })
    .input(listProductsInput)
    .output(productPageOutput)
    .query(async ({ ctx, input }) => toProductPage(await listProducts(ctx.em, input), ctx.config.currency)),

  search: publicProcedure
    .meta({ openapi: { method: 'GET', path: '/api/products/search', tags, protect: false, summary: 'Full-text product search, by relevance', description: 'Case- and accent-insensitive; every word must match, the last also as a prefix. Same filters as the list, no sort.' } })
    .input(searchProductsInput)
    .output(productPageOutput)
    .query(async ({ ctx, input }) => toProductPage(await searchProducts(ctx.em, input), ctx.config.currency)),

  byId: publicProcedure
    .meta({ openapi: { method: 'GET', path: '/api/products/{id}', tags, protect: false, summary: 'One product', description: 'A malformed or unknown id is a 404.' } })
    .input(productIdInput)
    .output(productOutput)
    .query(async ({ ctx, input }) => toProductOutput(await getProduct(ctx.em, input.id), ctx.config.currency)),

  create: adminProcedure
    .meta({
      openapi: { method: 'POST', path: '/api/products', tags, summary: 'Create a product (admin)', description: 'Price > 0 with at most 2 decimals; omitted optional fields take their defaults. The new product\'s URL is in Location.', responseHeaders: createdHeaders('/api/products/{id}') },
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
    .meta({ openapi: { method: 'PUT', path: '/api/products/{id}', tags, summary: 'Replace a product (admin)', description: 'Replaces every editable field (stock required): omitted optional fields reset to their defaults. Carts show the new price at once.' } })
    .input(updateProductInput)
    .output(productOutput)
    .mutation(async ({ ctx, input }) => toProductOutput(await updateProduct(ctx.em, input), ctx.config.currency)),

  delete: adminProcedure
    .meta({ openapi: { method: 'DELETE', path: '/api/products/{id}', tags, summary: 'Delete a product (admin)', description: 'The product disappears from the catalog and from every active cart; orders keep it.' }, successStatus: 204 })
    .input(productIdInput)
    .output(z.void())
    .mutation(({ ctx, input }) => deleteProduct(ctx.em, input.id)),
});
