import type { Em } from '../../db/orm.js';
import { Order } from '../../entities/Order.js';
import { notFound } from '../../errors.js';
import { fromCents } from '../../lib/money.js';
import { isUuid, type Page, type PageRequest } from '../shared/schemas.js';
import type { OrderOutput } from './schemas.js';

/**
 * `order.items` must be populated; the collection is ordered by position. The
 * currency is the order's own snapshot, not today's store setting.
 */
export const toOrderOutput = (order: Order): OrderOutput => ({
  id: order.id,
  status: order.status,
  items: order.items.getItems().map((item) => ({
    productId: item.productId,
    name: item.name,
    unitPrice: fromCents(item.unitPriceCents),
    quantity: item.quantity,
    lineTotal: fromCents(item.lineTotalCents),
  })),
  itemCount: order.itemCount,
  subtotal: fromCents(order.subtotalCents),
  discount: fromCents(order.discountCents),
  total: fromCents(order.totalCents),
  currency: order.currency,
  promoCode: order.promoCode ?? null,
  createdAt: order.createdAt.toISOString(),
});

/** The user's orders, newest first; the page's items arrive in one extra query, not one per order. */
export async function listOrders(em: Em, userId: string, page: PageRequest): Promise<Page<Order>> {
  const [items, total] = await em.findAndCount(
    Order,
    { user: userId },
    {
      orderBy: [{ createdAt: 'desc' }, { id: 'asc' }],
      limit: page.limit,
      offset: (page.page - 1) * page.limit,
      populate: ['items'],
      strategy: 'select-in',
    },
  );
  return { page: page.page, limit: page.limit, total, items };
}

/** Another user's order is indistinguishable from a missing one. */
export async function getOrder(em: Em, userId: string, orderId: string): Promise<Order> {
  if (!isUuid(orderId)) throw notFound('Order');
  const order = await em.findOne(Order, { id: orderId, user: userId }, { populate: ['items'], strategy: 'select-in' });
  if (!order) throw notFound('Order');
  return order;
}
