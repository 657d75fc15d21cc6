import { protectedProcedure, router } from '../../trpc.js';
import { listOrdersInput, orderIdInput, orderOutput, orderPageOutput } from './schemas.js';
import { getOrder, listOrders, orderEntityOutput } from './service.js';

const tags = ['orders'];

export const ordersRouter = router({
  list: protectedProcedure
    .meta({ openapi: { method: 'GET', path: '/api/orders', tags, summary: 'Your orders, newest first', description: 'Paginated; each order is a snapshot taken at checkout.' } })
    .input(listOrdersInput)
    .output(orderPageOutput)
    .query(async ({ ctx, input }) => {
      const page = await listOrders(ctx.em, ctx.user.id, input);
      return { ...page, items: page.items.map(orderEntityOutput) };
    }),

  byId: protectedProcedure
    .meta({ openapi: { method: 'GET', path: '/api/orders/{id}', tags, summary: 'One of your orders', description: 'Another user\'s order is a 404.' } })
    .input(orderIdInput)
    .output(orderOutput)
    .query(async ({ ctx, input }) => orderEntityOutput(await getOrder(ctx.em, ctx.user.id, input.id))),
});
