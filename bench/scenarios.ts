import type { Workload } from './catalog.js';
import type { RequestShape } from './load.js';

export interface Scenario {
  id: string;
  name: string;
  shape: RequestShape;
  /** The reference-server scenario that does the least possible version of this work. */
  referenceId?: string;
  /** For a live scenario: the quiet one it is compared with. */
  quietId?: string;
}

const get = (path: string): RequestShape => ({ method: 'GET', next: () => ({ path }) });

/** Cycles through `values`, one per request. */
function rotating<T>(values: T[]): () => T {
  let next = 0;
  return () => {
    const value = values[next % values.length];
    next += 1;
    if (value === undefined) throw new Error('nothing to rotate through');
    return value;
  };
}

const search = (q: string) => `/api/products/search?q=${encodeURIComponent(q)}&page=1`;

/** The reference server answers the list and the search only, without counting. */
export function referenceScenarios(workload: Workload): Scenario[] {
  return [
    { id: 'R1', name: 'reference: products page 1', shape: get('/api/products?page=1') },
    { id: 'R5', name: `reference: search rare "${workload.rareWord.query}"`, shape: get(search(workload.rareWord.query)) },
  ];
}

const DEEP_PAGE = 4000;
const DEFAULT_PAGE_SIZE = 20;

export function catalogScenarios(workload: Workload, products: number): Scenario[] {
  const nextId = rotating(workload.detailIds);
  const deepPageNote = products <= (DEEP_PAGE - 1) * DEFAULT_PAGE_SIZE ? ' (past the end)' : '';
  return [
    { id: '1', name: 'products page 1', shape: get('/api/products?page=1'), referenceId: 'R1' },
    { id: '2', name: `products page ${DEEP_PAGE}${deepPageNote}`, shape: get(`/api/products?page=${DEEP_PAGE}`), referenceId: 'R1' },
    {
      id: '3',
      name: `category "${workload.category}", price_asc`,
      shape: get(`/api/products?page=1&category=${encodeURIComponent(workload.category)}&sort=price_asc`),
      referenceId: 'R1',
    },
    { id: '4', name: `search common "${workload.commonWord.query}"`, shape: get(search(workload.commonWord.query)), referenceId: 'R5' },
    { id: '5', name: `search rare "${workload.rareWord.query}"`, shape: get(search(workload.rareWord.query)), referenceId: 'R5' },
    { id: '6', name: `search prefix "${workload.prefix.query}"`, shape: get(search(workload.prefix.query)), referenceId: 'R5' },
    {
      id: '7',
      name: `product detail (${workload.detailIds.length} ids)`,
      shape: { method: 'GET', next: () => ({ path: `/api/products/${nextId()}` }) },
      referenceId: 'R1',
    },
    { id: '8', name: 'inStock=true, newest', shape: get('/api/products?page=1&inStock=true'), referenceId: 'R1' },
  ];
}

/** Scenario `base` again, measured while the catalog changes (issue 10): same requests, id prefixed with L. */
export function liveScenario(base: Scenario, changesPerSecond: number): Scenario {
  return { id: `L${base.id}`, name: `${base.name}, ${changesPerSecond} changes/s`, shape: base.shape, quietId: base.id };
}

const bearer = (token: string) => ({ authorization: `Bearer ${token}` });

/** GET /api/cart, cycling through signed-in users with 3-line carts: C1 on the API, RC1 on the reference. */
export function cartScenario(tokens: string[], id = 'C1', referenceId: string | undefined = 'RC1'): Scenario {
  const nextToken = rotating(tokens);
  return {
    id,
    name: `${id.startsWith('R') ? 'reference: ' : ''}GET /api/cart (${tokens.length} users, 3 lines)`,
    shape: { method: 'GET', next: () => ({ path: '/api/cart', headers: bearer(nextToken()) }) },
    ...(referenceId ? { referenceId } : {}),
  };
}

export interface AddingShopper {
  token: string;
  /** The products this shopper adds in turn, one unit a request: its cart never holds more lines than these. */
  productIds: string[];
}

/**
 * POST /api/cart/items of one unit, cycling through shoppers and, per shopper,
 * through its few products: carts keep a fixed number of lines (so every answer
 * has the same size) and quantities grow slowly. C2 on the API, RC2 on the reference.
 */
export function addToCartScenario(shoppers: AddingShopper[], id = 'C2', referenceId: string | undefined = 'RC2'): Scenario {
  let next = 0;
  return {
    id,
    name: `${id.startsWith('R') ? 'reference: ' : ''}POST /api/cart/items (${shoppers.length} users, +1 unit)`,
    shape: {
      method: 'POST',
      next: () => {
        const shopper = shoppers[next % shoppers.length]!;
        const productId = shopper.productIds[Math.floor(next / shoppers.length) % shopper.productIds.length]!;
        next += 1;
        return { path: '/api/cart/items', headers: bearer(shopper.token), body: JSON.stringify({ productId, quantity: 1 }) };
      },
    },
    ...(referenceId ? { referenceId } : {}),
  };
}

export const CART_SCENARIO_NAME = 'GET /api/cart, 3-line carts';
export const CHECKOUT_SCENARIO_NAME = 'checkout';
