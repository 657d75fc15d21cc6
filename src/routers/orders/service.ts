import type { Em } from '../../db/orm.js';
import { Order } from '../../entities/Order.js';
import { fromCents } from '../../lib/money.js';
import { findOr404 } from '../shared/found.js';
import type { Page, PageRequest } from '../shared/schemas.js';
import type { OrderOutput } from './schemas.js';

/** What an order response is made from: an Order entity, or the row checkout has just written. */
export interface OrderRecord {
  id: string;
  status: OrderOutput['status'];
  itemCount: number;
  subtotalCents: number;
  discountCents: number;
  totalCents: number;
  currency: string;
  promoCode?: string | null | undefined;
  createdAt: Date;
}

/** One line of an order as written: the product's name and price when it was bought. */
export interface OrderLineRecord {
  productId: string;
  name: string;
  unitPriceCents: number;
  quantity: number;
  lineTotalCents: number;
}

/**
 * The one mapping of an order to its response, lines in position order. The currency
 * is the order's own snapshot, not today's store setting.
 */
export const toOrderOutput = (order: OrderRecord, lines: readonly OrderLineRecord[]): OrderOutput => ({
  id: order.id,
  status: order.status,
  items: lines.map((item) => ({
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

/** An Order entity with its items populated (the collection is ordered by position). */
export const orderEntityOutput = (order: Order): OrderOutput => toOrderOutput(order, order.items.getItems());

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
export const getOrder = (em: Em, userId: string, orderId: string): Promise<Order> =>
  findOr404(em, Order, 'Order', orderId, { user: userId }, { populate: ['items'], strategy: 'select-in' });
