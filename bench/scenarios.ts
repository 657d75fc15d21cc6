import type { Workload } from './catalog.js';
import type { RequestShape } from './load.js';

export interface Scenario {
  id: string;
  name: string;
  shape: RequestShape;
  /** The reference-server scenario that does the least possible version of this work. */
  referenceId?: string;
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
  ];
}

export function cartScenario(tokens: string[]): Scenario {
  const nextToken = rotating(tokens);
  return {
    id: '8',
    name: `GET /api/cart (${tokens.length} users, 3 lines)`,
    shape: { method: 'GET', next: () => ({ path: '/api/cart', headers: { authorization: `Bearer ${nextToken()}` } }) },
  };
}

export const CART_SCENARIO_NAME = 'GET /api/cart, 3-line carts';
export const CHECKOUT_SCENARIO_NAME = 'checkout';
