import { z } from 'zod';
import { adminProcedure, router } from '../../trpc.js';
import { createdHeaders } from '../shared/schemas.js';
import {
  createPromoCodeInput,
  listPromoCodesInput,
  promoCodeIdInput,
  promoCodeOutput,
  promoCodePageOutput,
  updatePromoCodeInput,
} from './schemas.js';
import { createPromoCode, deletePromoCode, getPromoCode, listPromoCodes, toPromoCodeOutput, updatePromoCode } from './service.js';

const tags = ['promo-codes'];

export const promoCodesRouter = router({
  list: adminProcedure
    .meta({ openapi: { method: 'GET', path: '/api/promo-codes', tags, summary: 'List promo codes, newest first', description: 'Paginated, with each code\'s redemption count.' } })
    .input(listPromoCodesInput)
    .output(promoCodePageOutput)
    .query(async ({ ctx, input }) => {
      const page = await listPromoCodes(ctx.em, input);
      return { ...page, items: page.items.map((promo) => toPromoCodeOutput(promo, ctx.config.currency)) };
    }),

  byId: adminProcedure
    .meta({ openapi: { method: 'GET', path: '/api/promo-codes/{id}', tags, summary: 'A promo code', description: 'With its window, limits and redemption count.' } })
    .input(promoCodeIdInput)
    .output(promoCodeOutput)
    .query(async ({ ctx, input }) => toPromoCodeOutput(await getPromoCode(ctx.em, input.id), ctx.config.currency)),

  create: adminProcedure
    .meta({
      openapi: { method: 'POST', path: '/api/promo-codes', tags, summary: 'Create a promo code', description: 'Code 3–32 characters of letters, digits, `_` and `-`, stored upper case. percent: value 1–100; fixed: an amount. The new code\'s URL is in Location.', responseHeaders: createdHeaders('/api/promo-codes/{id}') },
      successStatus: 201,
      errors: ['PROMO_CODE_TAKEN'],
    })
    .input(createPromoCodeInput)
    .output(promoCodeOutput)
    .mutation(async ({ ctx, input }) => {
      const promo = await createPromoCode(ctx.em, input);
      ctx.responseHeaders['Location'] = `/api/promo-codes/${promo.id}`;
      return toPromoCodeOutput(promo, ctx.config.currency);
    }),

  update: adminProcedure
    .meta({ openapi: { method: 'PATCH', path: '/api/promo-codes/{id}', tags, summary: 'Change the window, limits or state of a promo code', description: 'Any of active, startsAt, expiresAt, maxRedemptions, minSubtotal; code, type and value cannot change.' } })
    .input(updatePromoCodeInput)
    .output(promoCodeOutput)
    .mutation(async ({ ctx, input: { id, ...changes } }) =>
      toPromoCodeOutput(await updatePromoCode(ctx.em, id, changes), ctx.config.currency),
    ),

  delete: adminProcedure
    .meta({ openapi: { method: 'DELETE', path: '/api/promo-codes/{id}', tags, summary: 'Delete a promo code', description: 'The code stops applying at once; past orders keep its text.' }, successStatus: 204 })
    .input(promoCodeIdInput)
    .output(z.void())
    .mutation(({ ctx, input }) => deletePromoCode(ctx.em, input.id)),
});
