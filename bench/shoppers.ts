import type pg from 'pg';
import { call, describeAnswer, inParallel, isMissingRoute, summarize, type Answer, type LoadResult } from './load.js';

export interface CartLine {
  productId: string;
  quantity: number;
}

export interface Shopper {
  username: string;
  token: string;
  lines: CartLine[];
}

const PASSWORD = 'bench-password';
const SETUP_CONCURRENCY = 10;

export class FeatureUnavailable extends Error {}

function expectStatus(answer: Answer, status: number, what: string): void {
  if (isMissingRoute(answer)) throw new FeatureUnavailable(`${what}: ${describeAnswer(answer)}`);
  if (answer.status !== status) throw new Error(`${what} answered ${describeAnswer(answer)}`);
}

/**
 * Signs up `count` users through the API and fills each one's cart line by
 * line, exactly as a client would. Throws FeatureUnavailable when the cart
 * routes do not exist (yet).
 */
export async function createShoppers(baseUrl: string, usernamePrefix: string, count: number, linesFor: (index: number) => CartLine[]): Promise<Shopper[]> {
  return inParallel(count, SETUP_CONCURRENCY, async (index) => {
    const username = `${usernamePrefix}${index}`;
    const signup = await call(baseUrl, { method: 'POST', path: '/api/auth/signup', body: { username, password: PASSWORD } });
    expectStatus(signup, 201, `POST /api/auth/signup (${username})`);
    const token = (signup.body as { accessToken: string }).accessToken;
    const lines = linesFor(index);
    for (const line of lines) {
      const added = await call(baseUrl, { method: 'POST', path: '/api/cart/items', token, body: line });
      expectStatus(added, 200, `POST /api/cart/items (${username})`);
    }
    return { username, token, lines };
  });
}

/**
 * `count` distinct products of `pool` for shopper `seed`. Neighbouring shoppers
 * share products, and odd shoppers list them in reverse, so concurrent
 * checkouts contend for the same rows in different orders, as real carts do.
 */
export function distinctLines(pool: string[], seed: number, count: number): CartLine[] {
  const step = 1 + (seed % 5);
  const lines: CartLine[] = [];
  for (let k = 0; lines.length < count && k < pool.length; k++) {
    const productId = pool[(seed * 7 + k * step) % pool.length];
    if (productId === undefined || lines.some((line) => line.productId === productId)) continue;
    lines.push({ productId, quantity: 1 + ((seed + k) % 3) });
  }
  return seed % 2 === 1 ? lines.reverse() : lines;
}

export interface CheckoutRun {
  result: LoadResult;
  ordersPerSec: number;
  orderIds: string[];
  /** Units the successful checkouts should have taken off each product's stock. */
  unitsSold: Map<string, number>;
  serverErrors: number;
}

/** Every shopper checks out once; at most `concurrency` checkouts are in flight. */
export async function checkoutAll(baseUrl: string, shoppers: Shopper[], concurrency: number): Promise<CheckoutRun> {
  const latencies: number[] = [];
  const statusCodes: Record<string, number> = {};
  const orderIds: string[] = [];
  const unitsSold = new Map<string, number>();
  let errors = 0;
  const started = performance.now();
  await inParallel(shoppers.length, concurrency, async (index) => {
    const shopper = shoppers[index];
    if (!shopper) return;
    try {
      const answer = await call(baseUrl, { method: 'POST', path: '/api/checkout', token: shopper.token });
      latencies.push(answer.latencyMs);
      statusCodes[answer.status] = (statusCodes[answer.status] ?? 0) + 1;
      if (answer.status === 201) {
        orderIds.push((answer.body as { id: string }).id);
        for (const line of shopper.lines) unitsSold.set(line.productId, (unitsSold.get(line.productId) ?? 0) + line.quantity);
      }
    } catch {
      errors += 1;
    }
  });
  const seconds = (performance.now() - started) / 1000;
  const result = summarize(latencies, seconds, statusCodes, errors);
  const serverErrors = Object.entries(statusCodes)
    .filter(([status]) => status.startsWith('5'))
    .reduce((sum, [, n]) => sum + n, 0);
  return { result, ordersPerSec: Math.round((orderIds.length / seconds) * 100) / 100, orderIds, unitsSold, serverErrors };
}

export interface CheckoutVerification {
  ok: boolean;
  productsWithNegativeStock: number;
  created: number;
  ordersInDatabase: number;
  createdButMissing: number;
  /** Checkout products whose stock is not (initial stock − units the 201s sold). */
  stockMismatches: number;
}

/** Checked in SQL after the run: nothing oversold, every 201 is a stored order and nothing else was stored. */
export async function verifyCheckout(client: pg.Client, run: CheckoutRun, productIds: string[], initialStock: number): Promise<CheckoutVerification> {
  const negative = await client.query<{ n: string }>('select count(*) as n from product where stock < 0');
  const orders = await client.query<{ n: string }>('select count(*) as n from orders');
  const found = await client.query<{ n: string }>('select count(*) as n from orders where id = any($1::uuid[])', [run.orderIds]);
  const stock = await client.query<{ id: string; stock: number }>('select id, stock from product where id = any($1::uuid[])', [productIds]);
  const stockMismatches = stock.rows.filter((row) => row.stock !== initialStock - (run.unitsSold.get(row.id) ?? 0)).length;

  const verification = {
    productsWithNegativeStock: Number(negative.rows[0]?.n ?? 0),
    created: run.orderIds.length,
    ordersInDatabase: Number(orders.rows[0]?.n ?? 0),
    createdButMissing: run.orderIds.length - Number(found.rows[0]?.n ?? 0),
    stockMismatches,
  };
  return {
    ok:
      verification.productsWithNegativeStock === 0 &&
      verification.createdButMissing === 0 &&
      verification.ordersInDatabase === verification.created &&
      verification.stockMismatches === 0,
    ...verification,
  };
}
