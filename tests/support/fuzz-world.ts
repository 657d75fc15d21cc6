import fc from 'fast-check';
import { expect, onTestFinished } from 'vitest';
import { noteRuns } from './fuzz-oracle.js';
import type { User } from '../../src/entities/User.js';
import type { HttpHarness } from './harness.js';
import { IdPool, isJsonObject, type Caller } from './fuzz-requests.js';
import { send } from './fuzz-surfaces.js';

/**
 * The world a fuzzer runs in: one database with an admin and a customer (real tokens,
 * so that writes really happen), a few products and promo codes, a cart line and an
 * order, and the pool of ids that grows as the fuzzer's own writes succeed.
 */

/** One seed for every fuzzer: a failure is reproduced by rerunning the file. */
export const FUZZ_SEED = 20_261_202;

/** Milliseconds of fuzzing per file (the setup comes on top): CI time stays bounded. FUZZ_BUDGET_MS=60000 for a long local run. */
export const FUZZ_BUDGET_MS = Number(process.env.FUZZ_BUDGET_MS ?? 6_000);

/** Limits loose enough that the fuzzer's own traffic is not all 429s; the login limit stays on (its 429s are checked). */
export const FUZZ_ENV = { SIGNUP_RATE_LIMIT: '0', LOGIN_ADDRESS_RATE_LIMIT: '0' } as const;

export interface FuzzWorld {
  pool: IdPool;
  tokens: Record<Caller, string | undefined>;
  users: { admin: User; customer: User };
  /** Adds the ids an answer names to the pool. */
  harvest(procedure: string, data: unknown): void;
}

export async function createFuzzWorld(h: HttpHarness): Promise<FuzzWorld> {
  const admin = await h.createUser({ role: 'admin' });
  const customer = await h.createUser();
  const pool = new IdPool();
  const harvest = (procedure: string, data: unknown) => {
    if (!isJsonObject(data)) return;
    const rows = Array.isArray(data.items) && 'total' in data ? (data.items as unknown[]) : [data];
    for (const row of rows) {
      if (!isJsonObject(row)) continue;
      if (procedure.startsWith('products.')) {
        pool.add('product', row.id);
        pool.add('category', row.category);
      } else if (procedure.startsWith('promoCodes.')) {
        pool.add('promo', row.id);
        pool.add('code', row.code);
      } else if (procedure.startsWith('orders.') || procedure === 'checkout.submit') pool.add('order', row.id);
    }
    if (procedure.startsWith('cart.') && Array.isArray(data.items)) for (const line of data.items as { id: unknown }[]) pool.add('item', line.id);
  };
  const post = async (path: string, json: unknown, token: string) => {
    const answer = await send(`${h.baseUrl}${path}`, { method: 'POST', headers: { Authorization: `Bearer ${token}`, 'Content-Type': 'application/json' }, body: JSON.stringify(json) });
    if (answer.status >= 300) throw new Error(`fuzz setup: POST ${path} answered ${answer.status} ${answer.text}`);
    return answer.body as unknown;
  };
  for (const [i, product] of [
    { name: 'Fuzz Trail Shoe', price: 89.99, stock: 40, category: 'footwear', attributes: { color: 'blue', size: 42 } },
    { name: 'Fuzz Cap', price: 12.5, stock: 3, category: 'hats' },
    { name: 'Fuzz Sock', price: 0.99, stock: 500 },
    { name: 'Fuzz Jacket', price: 999_999.99, stock: 1, category: 'Outerwear', imageUrl: 'https://example.com/j.png' },
  ].entries()) {
    harvest('products.create', await post('/api/products', { ...product, description: `seed ${i}` }, admin.token));
  }
  harvest('promoCodes.create', await post('/api/promo-codes', { code: 'TENOFF', type: 'percent', value: 10 }, admin.token));
  harvest('promoCodes.create', await post('/api/promo-codes', { code: 'fiveoff', type: 'fixed', value: 5, minSubtotal: 20, maxRedemptions: 2 }, admin.token));
  const products = pool.pick.bind(pool);
  harvest('cart.addItem', await post('/api/cart/items', { productId: products('product', 2), quantity: 2 }, customer.token));
  harvest('checkout.submit', await post('/api/checkout', { promoCode: 'TENOFF' }, customer.token));
  harvest('cart.addItem', await post('/api/cart/items', { productId: products('product', 0) }, customer.token));
  harvest('cart.addItem', await post('/api/cart/items', { productId: products('product', 2), quantity: 3 }, admin.token));
  return {
    pool,
    tokens: { admin: admin.token, customer: customer.token, anonymous: undefined, 'bad-token': `${customer.token.slice(0, -4)}AAAA` },
    users: { admin: admin.user, customer: customer.user },
    harvest,
  };
}

/**
 * fc.assert within a time budget that starts with the first run (so every property runs
 * at least once, however loaded the machine): runs after the budget pass without sending
 * anything; after a failure, shrinking gets a budget of its own, then stops.
 */
let shrinkAllowance = FUZZ_BUDGET_MS / 2;

export async function fuzz<T>(arbitrary: fc.Arbitrary<T>, predicate: (value: T) => Promise<void>, budgetMs: number, numRuns = 500): Promise<void> {
  let deadline = 0;
  let shrinkDeadline = 0;
  let runs = 0;
  const name = expect.getState().currentTestName ?? '?';
  onTestFinished(() => noteRuns(name, runs));
  await fc.assert(
    fc.asyncProperty(arbitrary, async (value) => {
      const now = Date.now();
      deadline ||= now + budgetMs;
      if (shrinkDeadline ? now > shrinkDeadline : now > deadline) return;
      runs++;
      try {
        await predicate(value);
      } catch (error) {
        if (!shrinkDeadline) {
          // Shrinking draws on one allowance per file, so that many failing properties cannot multiply the run time.
          const allowance = Math.min(1_500, shrinkAllowance);
          shrinkAllowance -= allowance;
          shrinkDeadline = Date.now() + allowance;
        }
        throw error;
      }
    }),
    { seed: FUZZ_SEED, numRuns },
  );
}
