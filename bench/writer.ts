import { randomBytes } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import { call, describeAnswer, inParallel, isMissingRoute, type Answer } from './load.js';
import { FeatureUnavailable } from './shoppers.js';
import { ADJECTIVES, BRANDS, CATEGORIES, COLORS, MATERIALS } from './vocabulary.js';

export interface WriterResult {
  edits: number;
  failures: number;
}

export interface PriceWriter {
  stop(): Promise<WriterResult>;
}

export interface ProductBody {
  name: string;
  description: string;
  price: number;
  imageUrl: string | null;
  category: string | null;
  stock: number;
  attributes: Record<string, string | number | boolean>;
}

export async function adminToken(baseUrl: string, username: string, password: string): Promise<string> {
  const login = await call(baseUrl, { method: 'POST', path: '/api/auth/login', body: { username, password } });
  if (login.status !== 200) throw new Error(`admin login answered ${describeAnswer(login)}`);
  return (login.body as { accessToken: string }).accessToken;
}

/**
 * An admin moving one product's price by a cent and back, `perSecond` times a
 * second, through PUT /api/products/{id}: the kind of write a live catalog sees,
 * and one that changes list and search results (price order, price filters).
 */
export async function startPriceEdits(baseUrl: string, token: string, productId: string, perSecond: number): Promise<PriceWriter> {
  const path = `/api/products/${productId}`;
  const current = await call(baseUrl, { method: 'GET', path });
  if (current.status !== 200) throw new Error(`GET ${path} answered ${describeAnswer(current)}`);
  const { name, description, price, imageUrl, category, stock, attributes } = current.body as ProductBody;
  const base = { name, description, imageUrl, category, stock, attributes };
  const cents = Math.round(price * 100);

  const first = await call(baseUrl, { method: 'PUT', path, token, body: { ...base, price: (cents + 1) / 100 } });
  if (isMissingRoute(first)) throw new FeatureUnavailable(`PUT ${path}: ${describeAnswer(first)}`);

  const result: WriterResult = { edits: first.status === 200 ? 1 : 0, failures: first.status === 200 ? 0 : 1 };
  let stopped = false;
  const loop = (async () => {
    for (let edit = 1; !stopped; edit++) {
      await new Promise((resolve) => setTimeout(resolve, 1000 / perSecond));
      if (stopped) break;
      const answer = await call(baseUrl, { method: 'PUT', path, token, body: { ...base, price: (cents + (edit % 2 === 0 ? 1 : 0)) / 100 } }).catch(() => undefined);
      if (answer?.status === 200) result.edits += 1;
      else result.failures += 1;
    }
  })();
  return {
    stop: async () => {
      stopped = true;
      await loop;
      return result;
    },
  };
}

/** A product body for POST /api/products, drawn from the catalog's vocabulary, with one word no other product has. */
export function newProductBody(sequence: number, uniqueWord: string): ProductBody {
  const category = CATEGORIES[sequence % CATEGORIES.length]!;
  const noun = category.nouns[Math.floor(sequence / CATEGORIES.length) % category.nouns.length]!;
  const brand = BRANDS[sequence % BRANDS.length]!;
  const adjective = ADJECTIVES[(sequence * 7) % ADJECTIVES.length]!;
  const color = COLORS[(sequence * 5) % COLORS.length]!;
  const material = MATERIALS[sequence % MATERIALS.length]!;
  return {
    name: `${brand} ${uniqueWord} ${adjective} ${color[0]!.toUpperCase()}${color.slice(1)} ${noun}`,
    description: `${adjective} ${noun} in ${material}, new in the range.`,
    price: 5 + (sequence % 400) + 0.99,
    imageUrl: null,
    category: category.name,
    stock: 5 + (sequence % 50),
    attributes: { brand, color, model: uniqueWord, material, reviews: 0, waterproof: sequence % 2 === 0 },
  };
}

/** A word of letters and digits that no generated product contains (they are drawn from fixed word lists). */
export const uniqueWordMaker = (prefix: string) => {
  const run = randomBytes(3).toString('hex');
  let next = 0;
  return () => `${prefix}${run}n${next++}`;
};

export type ChangeKind = 'create' | 'sellOut' | 'restock' | 'checkout';
const CHANGE_KINDS: ChangeKind[] = ['create', 'sellOut', 'restock', 'checkout'];

export interface LiveWriterResult {
  /** Changes scheduled at the requested rate, and how many of each kind succeeded / failed / could not start. */
  scheduled: number;
  seconds: number;
  made: Record<ChangeKind, number>;
  failed: Record<ChangeKind, number>;
  /** A change due while the previous ones of the writer still ran more than MAX_IN_FLIGHT deep, or with an empty pool. */
  skipped: number;
  failures: string[];
  /** Reads after a write that checked it (one per read instance; a model word with more than a page of matches cannot be checked), and those that did not see it. */
  probes: number;
  violations: number;
  violationSamples: string[];
  writeP99Ms: number;
}

/** What one change of the live writer reports into the run's result. */
interface ChangeRecorder {
  made(): void;
  /** Nothing to change (the pool is empty): due, but not started. */
  skipped(): void;
  failed(what: string): void;
  /** Sends a write, timing it; a request that fails to complete is recorded as failed and answers undefined. */
  send(request: Parameters<typeof call>[1]): Promise<Answer | undefined>;
  /** Runs a check on every reader: it answers a violation, undefined when the read reflects the change, null when it cannot tell. */
  probe(check: (reader: string) => Promise<string | undefined | null>): Promise<void>;
}

/** A shopper whose cart holds one unit of its own product: checking out sells exactly that unit. */
export interface OneUnitShopper {
  token: string;
  productId: string;
}

interface Page {
  total: number;
  items: { id: string; stock: number }[];
}

const MAX_IN_FLIGHT = 8;
const KEPT_SAMPLES = 20;
const PROBE_LIMIT = 100;

const noChanges = (): Record<ChangeKind, number> => ({ create: 0, sellOut: 0, restock: 0, checkout: 0 });

/** A result with nothing in it yet: what a writer starts from, and what a sum of runs starts from. */
export const noLiveWrites = (): LiveWriterResult => ({
  scheduled: 0,
  seconds: 0,
  made: noChanges(),
  failed: noChanges(),
  skipped: 0,
  failures: [],
  probes: 0,
  violations: 0,
  violationSamples: [],
  writeP99Ms: 0,
});

/** Adds one run to a total over runs: counts add up, samples are kept up to KEPT_SAMPLES, the p99 is the worst run's. */
export function addLiveWrites(total: LiveWriterResult, run: LiveWriterResult): void {
  total.scheduled += run.scheduled;
  total.seconds = Math.round((total.seconds + run.seconds) * 100) / 100;
  for (const kind of CHANGE_KINDS) {
    total.made[kind] += run.made[kind];
    total.failed[kind] += run.failed[kind];
  }
  total.skipped += run.skipped;
  total.failures.push(...run.failures.slice(0, Math.max(0, KEPT_SAMPLES - total.failures.length)));
  total.probes += run.probes;
  total.violations += run.violations;
  total.violationSamples.push(...run.violationSamples.slice(0, Math.max(0, KEPT_SAMPLES - total.violationSamples.length)));
  total.writeP99Ms = Math.max(total.writeP99Ms, run.writeP99Ms);
}

/**
 * Issue 10's live catalog: `perSecond` changes a second through the API, in
 * rotation — an admin creates a product, sells one out (stock → 0), restocks
 * one (0 → 5), and a shopper checks out one unit. After each change the next
 * list or search read (through every instance in `readers`) must reflect it:
 *
 * - created: a search for its unique word answers total 1 with it, and page 1
 *   of the newest-first list holds it;
 * - sold out / restocked: a search for its model word with inStock=true leaves
 *   it out / holds it;
 * - checkout: a search for its model word shows its stock one unit lower
 *   (each checkout product belongs to one shopper and is sold by nobody else).
 *
 * The pools persist between runs, so each run (one live scenario) continues
 * where the previous one stopped: sold-out products queue up to be restocked,
 * restocked ones to be sold out again.
 */
export class CatalogWriter {
  private readonly bodies = new Map<string, ProductBody>();
  private readonly inStock: string[];
  private readonly outOfStock: string[];
  private readonly idleShoppers: OneUnitShopper[];
  private readonly expectedStock = new Map<string, number>();
  private readonly nextWord = uniqueWordMaker('zqlive');
  private created = 0;

  private constructor(
    private readonly writeUrl: string,
    private readonly readers: string[],
    private readonly adminToken: string,
    private readonly perSecond: number,
    pools: { sellOutIds: string[]; restockIds: string[] },
    shoppers: OneUnitShopper[],
  ) {
    this.inStock = [...pools.sellOutIds];
    this.outOfStock = [...pools.restockIds];
    this.idleShoppers = [...shoppers];
  }

  /** Reads every product the writer will change (PUT replaces every field, so it sends them all back). */
  static async prepare(
    writeUrl: string,
    readers: string[],
    adminToken: string,
    perSecond: number,
    pools: { sellOutIds: string[]; restockIds: string[] },
    shoppers: OneUnitShopper[],
  ): Promise<CatalogWriter> {
    const writer = new CatalogWriter(writeUrl, readers, adminToken, perSecond, pools, shoppers);
    const ids = [...pools.sellOutIds, ...pools.restockIds, ...shoppers.map((s) => s.productId)];
    await inParallel(ids.length, 10, async (index) => {
      const id = ids[index]!;
      const answer = await call(writeUrl, { method: 'GET', path: `/api/products/${id}` });
      if (answer.status !== 200) throw new Error(`GET /api/products/${id} answered ${describeAnswer(answer)}`);
      const { name, description, price, imageUrl, category, stock, attributes } = answer.body as ProductBody;
      writer.bodies.set(id, { name, description, price, imageUrl, category, stock, attributes });
      writer.expectedStock.set(id, stock);
    });
    return writer;
  }

  /** Changes the catalog at the configured rate until the returned handle is stopped. */
  start(): { stop(): Promise<LiveWriterResult> } {
    const result = noLiveWrites();
    const latencies: number[] = [];
    const running = new Set<Promise<void>>();
    const started = performance.now();
    let stopped = false;
    let timer: NodeJS.Timeout | undefined;

    const tick = () => {
      if (stopped) return;
      const kind = CHANGE_KINDS[result.scheduled % CHANGE_KINDS.length]!;
      result.scheduled += 1;
      if (running.size >= MAX_IN_FLIGHT) result.skipped += 1;
      else {
        const change = this.change(kind, result, latencies).finally(() => running.delete(change));
        running.add(change);
      }
      // Scheduled on the clock, not after the previous change: the rate holds whatever the latency.
      timer = setTimeout(tick, Math.max(0, started + (result.scheduled * 1000) / this.perSecond - performance.now()));
    };
    tick();

    let finished: Promise<LiveWriterResult> | undefined;
    const finish = async () => {
      stopped = true;
      clearTimeout(timer);
      await Promise.all(running);
      result.seconds = Math.round((performance.now() - started) / 10) / 100;
      latencies.sort((a, b) => a - b);
      result.writeP99Ms = Math.round((latencies[Math.ceil(latencies.length * 0.99) - 1] ?? 0) * 10) / 10;
      return result;
    };
    // Idempotent: the first call stops the writer, later ones get the same result.
    return { stop: () => (finished ??= finish()) };
  }

  private async change(kind: ChangeKind, result: LiveWriterResult, latencies: number[]): Promise<void> {
    const change = this.recorder(kind, result, latencies);
    switch (kind) {
      case 'create':
        return this.createProduct(change);
      case 'sellOut':
      case 'restock':
        return this.moveStock(kind, change);
      case 'checkout':
        return this.checkOutOneUnit(change);
    }
  }

  /** How one change of `kind` reports into the run's result. */
  private recorder(kind: ChangeKind, result: LiveWriterResult, latencies: number[]): ChangeRecorder {
    const failed = (what: string) => {
      result.failed[kind] += 1;
      if (result.failures.length < KEPT_SAMPLES) result.failures.push(`${kind}: ${what}`);
    };
    const violation = (what: string) => {
      result.violations += 1;
      if (result.violationSamples.length < KEPT_SAMPLES) result.violationSamples.push(what);
    };
    return {
      made: () => {
        result.made[kind] += 1;
      },
      skipped: () => {
        result.skipped += 1;
      },
      failed,
      send: async (request) => {
        try {
          const answer = await call(this.writeUrl, request);
          latencies.push(answer.latencyMs);
          return answer;
        } catch (error) {
          failed(`${request.method} ${request.path}: ${String(error)}`);
          return undefined;
        }
      },
      probe: async (check) => {
        for (const reader of this.readers) {
          const why = await check(reader).catch((error: unknown) => `probe failed: ${String(error)}`);
          if (why !== null) result.probes += 1;
          if (why) violation(`${why}${this.readers.length > 1 ? ` (read through ${reader === this.writeUrl ? 'the writing instance' : 'a second instance'})` : ''}`);
        }
      },
    };
  }

  private async createProduct(change: ChangeRecorder): Promise<void> {
    const word = this.nextWord();
    const answer = await change.send({ method: 'POST', path: '/api/products', token: this.adminToken, body: newProductBody(this.created++, word) });
    if (!answer) return;
    if (answer.status !== 201) return change.failed(`POST /api/products answered ${describeAnswer(answer)}`);
    change.made();
    const id = (answer.body as { id: string }).id;
    await change.probe(async (reader) => {
      const found = await page(reader, `/api/products/search?q=${word}&page=1`);
      if (found.total !== 1 || found.items[0]?.id !== id) return `created ${id}: search "${word}" answered total ${found.total}, ids ${found.items.map((i) => i.id).join(',') || 'none'}`;
      const newest = await page(reader, '/api/products?page=1');
      if (!newest.items.some((item) => item.id === id)) return `created ${id}: not on page 1 of the newest-first list`;
      return undefined;
    });
  }

  /** Sells out a product in stock, or restocks a sold-out one (to 5), and moves it to the other pool. */
  private async moveStock(kind: 'sellOut' | 'restock', change: ChangeRecorder): Promise<void> {
    const from = kind === 'sellOut' ? this.inStock : this.outOfStock;
    const to = kind === 'sellOut' ? this.outOfStock : this.inStock;
    const id = from.shift();
    if (id === undefined) return change.skipped();
    const body = { ...this.bodies.get(id)!, stock: kind === 'sellOut' ? 0 : 5 };
    const answer = await change.send({ method: 'PUT', path: `/api/products/${id}`, token: this.adminToken, body });
    if (answer?.status !== 200) {
      from.push(id);
      if (answer) change.failed(`PUT /api/products/${id} answered ${describeAnswer(answer)}`);
      return;
    }
    change.made();
    this.bodies.set(id, body);
    await change.probe(async (reader) => {
      const why = await this.checkInStockSearch(reader, id, kind === 'restock');
      return why && `${kind === 'sellOut' ? 'sold out' : 'restocked'} ${id}: ${why}`;
    });
    to.push(id);
  }

  /** An idle shopper checks out its one unit, then fills its cart again for its next turn. */
  private async checkOutOneUnit(change: ChangeRecorder): Promise<void> {
    const shopper = this.idleShoppers.shift();
    if (!shopper) return change.skipped();
    try {
      const answer = await change.send({ method: 'POST', path: '/api/checkout', token: shopper.token });
      if (!answer) return;
      if (answer.status !== 201) return change.failed(`POST /api/checkout answered ${describeAnswer(answer)}`);
      change.made();
      const expected = this.expectedStock.get(shopper.productId)! - 1;
      this.expectedStock.set(shopper.productId, expected);
      await change.probe(async (reader) => {
        const why = await this.checkStockInSearch(reader, shopper.productId, expected);
        return why && `checked out 1 unit of ${shopper.productId}: ${why}`;
      });
      // The next checkout of this shopper needs a cart again (not a catalog change, not counted).
      const refill = await call(this.writeUrl, { method: 'POST', path: '/api/cart/items', token: shopper.token, body: { productId: shopper.productId, quantity: 1 } });
      if (refill.status !== 200) change.failed(`refilling the cart: POST /api/cart/items answered ${describeAnswer(refill)}`);
    } finally {
      this.idleShoppers.push(shopper);
    }
  }

  /** The product's own model word finds a handful of products; with inStock=true it must appear exactly when in stock. */
  private async checkInStockSearch(reader: string, id: string, inStock: boolean): Promise<string | undefined | null> {
    const word = String(this.bodies.get(id)!.attributes.model);
    const found = await page(reader, `/api/products/search?q=${encodeURIComponent(word)}&inStock=true&page=1&limit=${PROBE_LIMIT}`);
    // More matches than one page: the product may be listed on another page.
    if (found.total > PROBE_LIMIT) return null;
    const listed = found.items.some((item) => item.id === id);
    if (listed !== inStock) return `search "${word}" with inStock=true ${listed ? 'still lists it' : 'does not list it'}`;
    if (found.items.length !== found.total) return `search "${word}" with inStock=true: total ${found.total} but ${found.items.length} items`;
    return undefined;
  }

  private async checkStockInSearch(reader: string, id: string, expected: number): Promise<string | undefined | null> {
    const word = String(this.bodies.get(id)!.attributes.model);
    const found = await page(reader, `/api/products/search?q=${encodeURIComponent(word)}&page=1&limit=${PROBE_LIMIT}`);
    if (found.total > PROBE_LIMIT) return null;
    const item = found.items.find((i) => i.id === id);
    if (!item) return `search "${word}" does not list it`;
    return item.stock === expected ? undefined : `search "${word}" shows stock ${item.stock}, expected ${expected}`;
  }
}

async function page(baseUrl: string, path: string): Promise<Page> {
  const answer = await call(baseUrl, { method: 'GET', path });
  if (answer.status !== 200) throw new Error(`GET ${path} answered ${describeAnswer(answer)}`);
  return answer.body as Page;
}
