import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { randomUUID } from 'node:crypto';
import type pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Product } from '../src/entities/Product.js';
import { startMetricsServer } from '../src/metrics/server.js';
import { createHttpHarness, expectErrorEnvelope, type HttpHarness } from './support/harness.js';
import { rawExchange } from './support/raw-http.js';

/**
 * GET /metrics (contract §11 METRICS_PORT) on a port of its own, fed by real
 * requests to the API. Counters are process-wide, so each test compares a
 * scrape before with one after what it did.
 */

let h: HttpHarness;
let metricsServer: Server;
let metricsUrl: string;

beforeAll(async () => {
  // METRICS_PORT switches request metrics on in the app; the listener itself is started here on a free port.
  h = await createHttpHarness({ METRICS_PORT: '9464' });
  metricsServer = await startMetricsServer({ port: 0, host: '127.0.0.1', orm: h.db.orm });
  metricsUrl = `http://127.0.0.1:${(metricsServer.address() as AddressInfo).port}`;
});
afterAll(async () => {
  metricsServer.closeAllConnections();
  await new Promise((resolve) => metricsServer.close(resolve));
  await h.close();
});

interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

/** The samples of a Prometheus text exposition. */
function parseExposition(text: string): Sample[] {
  return text
    .split('\n')
    .filter((line) => line !== '' && !line.startsWith('#'))
    .map((line) => {
      const match = /^([a-zA-Z_:][\w:]*)(?:\{(.*)\})? (\S+)$/.exec(line);
      if (!match) throw new Error(`not a sample line: ${line}`);
      const labels = Object.fromEntries([...(match[2] ?? '').matchAll(/(\w+)="((?:[^"\\]|\\.)*)"/g)].map((m) => [m[1], m[2]]));
      return { name: match[1]!, labels, value: Number(match[3]) };
    });
}

async function scrape() {
  const res = await fetch(`${metricsUrl}/metrics`);
  expect(res.status).toBe(200);
  const text = await res.text();
  const samples = parseExposition(text);
  /** The value of one series (0 when it does not exist yet): every given label must match. */
  const value = (name: string, labels: Record<string, string> = {}) =>
    samples
      .filter((s) => s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v))
      .reduce((sum, s) => sum + s.value, 0);
  return { text, samples, value, contentType: res.headers.get('content-type') };
}

describe('request metrics', () => {
  it('counts and times requests by route template, method and status, never by raw path', async () => {
    const before = await scrape();
    const product = await h.createProduct();
    const missing = randomUUID();
    const { token } = await h.createUser();

    expect((await h.request(`/api/products/${product.id}`)).status).toBe(200);
    expect((await h.request(`/api/products/${missing}`)).status).toBe(404);
    expect((await h.request('/api/products/search?q=metric&page=1')).status).toBe(200);
    expect((await h.request(`/api/products/${product.id}`, { method: 'PATCH', json: {} })).status).toBe(405);
    expect((await h.request('/api/cart', { token })).status).toBe(200);
    expect((await h.request(`/trpc/products.byId?input=${encodeURIComponent(JSON.stringify({ id: product.id }))}`)).status).toBe(200);
    expect((await h.request(`/trpc/products.byId,auth.me?batch=1&input=${encodeURIComponent(JSON.stringify({ 0: { id: product.id } }))}`)).status).toBe(207);
    expect((await h.request(`/trpc/no.such${missing}`)).status).toBe(404);
    expect((await h.request(`/nothing/here/${missing}`)).status).toBe(404);
    expect((await h.request('/health')).status).toBe(200);

    const after = await scrape();
    const delta = (labels: Record<string, string>) => after.value('http_requests_total', labels) - before.value('http_requests_total', labels);
    expect(delta({ route: '/api/products/{id}', method: 'GET', status: '200' })).toBe(1);
    expect(delta({ route: '/api/products/{id}', method: 'GET', status: '404' })).toBe(1);
    expect(delta({ route: '/api/products/search', method: 'GET', status: '200' })).toBe(1);
    expect(delta({ route: '/api/products/{id}', method: 'PATCH', status: '405' })).toBe(1);
    expect(delta({ route: '/api/cart', method: 'GET', status: '200' })).toBe(1);
    expect(delta({ route: '/trpc/products.byId', method: 'GET', status: '200' })).toBe(1);
    expect(delta({ route: '/trpc/{batch}', method: 'GET', status: '207' })).toBe(1);
    expect(delta({ route: '/trpc/{unknown}', method: 'GET', status: '404' })).toBe(1);
    expect(delta({ route: 'unmatched', method: 'GET', status: '404' })).toBe(1);
    expect(delta({ route: '/health', method: 'GET', status: '200' })).toBe(1);

    // The histogram has one observation per request, under the same labels.
    const count = (s: Awaited<ReturnType<typeof scrape>>) =>
      s.value('http_request_duration_seconds_count', { route: '/api/products/{id}', method: 'GET', status: '404' });
    expect(count(after) - count(before)).toBe(1);
    expect(after.samples.some((s) => s.name === 'http_request_duration_seconds_bucket' && s.labels.le === '+Inf')).toBe(true);

    // Ids, product names and unknown paths never become label values.
    expect(after.text).not.toContain(missing);
    expect(after.text).not.toContain(product.id);
    expect(after.text).not.toContain('/nothing');
    expect(after.contentType).toMatch(/^text\/plain; version=0\.0\.4/);
  });

  it('is not served on the API port', async () => {
    expectErrorEnvelope(await h.request('/metrics'), 404, 'NOT_FOUND');
    expectErrorEnvelope(await h.request('/api/metrics'), 404, 'NOT_FOUND');
  });

  it('serves nothing but GET /metrics on the metrics port', async () => {
    expect((await fetch(`${metricsUrl}/`)).status).toBe(404);
    expect((await fetch(`${metricsUrl}/api/products`)).status).toBe(404);
    expect((await fetch(`${metricsUrl}/metrics`, { method: 'POST' })).status).toBe(404);
    const { value } = await scrape();
    // Process metrics come along: memory, CPU, event loop lag.
    expect(value('process_resident_memory_bytes')).toBeGreaterThan(0);
    expect(value('nodejs_eventloop_lag_seconds')).toBeGreaterThanOrEqual(0);
  });
});

describe('catalog cache metrics', () => {
  it('counts a first page as a miss and the same page again as a hit', async () => {
    const category = `metrics-${randomUUID().slice(0, 8)}`;
    await h.createProduct({ category });
    const before = await scrape();
    const url = `/api/products?page=1&category=${category}`;
    expect((await h.request(url)).body.total).toBe(1);
    const between = await scrape();
    expect((await h.request(url)).body.total).toBe(1);
    const after = await scrape();

    const cache = (s: Awaited<ReturnType<typeof scrape>>, result: string) => s.value('catalog_cache_requests_total', { result });
    expect(cache(between, 'miss') - cache(before, 'miss')).toBe(1);
    expect(cache(between, 'hit') - cache(before, 'hit')).toBe(0);
    expect(cache(after, 'hit') - cache(between, 'hit')).toBe(1);
    expect(cache(after, 'miss') - cache(between, 'miss')).toBe(0);
  });
});

describe('checkout metrics', () => {
  const checkout = (token: string, opts: { key?: string; json?: unknown } = {}) =>
    h.request('/api/checkout', { method: 'POST', token, json: opts.json ?? {}, headers: opts.key ? { 'Idempotency-Key': opts.key } : {} });
  const addToCart = async (token: string, productId: string, quantity = 1) =>
    expect((await h.request('/api/cart/items', { method: 'POST', token, json: { productId, quantity } })).status).toBe(200);

  it('counts each outcome: placed, replayed, cart_empty, insufficient_stock, promo_invalid, error', async () => {
    const before = await scrape();

    const buyer = await h.createUser();
    const product = await h.createProduct({ stock: 5 });
    await addToCart(buyer.token, product.id, 2);
    expect((await checkout(buyer.token, { key: 'metrics-1' })).status).toBe(201);
    expect((await checkout(buyer.token, { key: 'metrics-1' })).status).toBe(201); // the replay
    expectErrorEnvelope(await checkout(buyer.token, { key: 'metrics-1', json: { promoCode: 'OTHER' } }), 409, 'IDEMPOTENCY_KEY_REUSED');
    expectErrorEnvelope(await checkout(buyer.token), 409, 'CART_EMPTY');

    const shortOfStock = await h.createUser();
    const scarce = await h.createProduct({ stock: 1 });
    await addToCart(shortOfStock.token, scarce.id, 1);
    await h.db.orm.em.fork().nativeUpdate(Product, { id: scarce.id }, { stock: 0 });
    expectErrorEnvelope(await checkout(shortOfStock.token), 409, 'INSUFFICIENT_STOCK');

    const withPromo = await h.createUser();
    await addToCart(withPromo.token, product.id, 1);
    expectErrorEnvelope(await checkout(withPromo.token, { json: { promoCode: 'NO-SUCH-CODE' } }), 409, 'PROMO_CODE_INVALID');

    // The procedure itself counts, so a call without HTTP counts too.
    await expect(h.caller(withPromo.user).checkout.submit({ promoCode: 'NO-SUCH-CODE' })).rejects.toThrow();

    const after = await scrape();
    const delta = (outcome: string) => after.value('checkout_total', { outcome }) - before.value('checkout_total', { outcome });
    expect({
      placed: delta('placed'),
      replayed: delta('replayed'),
      cart_empty: delta('cart_empty'),
      insufficient_stock: delta('insufficient_stock'),
      promo_invalid: delta('promo_invalid'),
      error: delta('error'),
    }).toEqual({ placed: 1, replayed: 1, cart_empty: 1, insufficient_stock: 1, promo_invalid: 2, error: 1 });
  });
});

describe('database pool metrics', () => {
  it('reports the pool in use, idle, waiting and its size (PostgreSQL), and no pool for the embedded database', async () => {
    const nativeClient = await h.db.orm.em.getConnection().getNativeClient();
    if (h.db.driver === 'pglite') {
      const { samples } = await scrape();
      expect(samples.filter((s) => s.name.startsWith('db_pool_'))).toEqual([]);
      return;
    }
    // Take every connection of the pool the app uses, and queue one more request behind them.
    const pool = nativeClient as pg.Pool;
    const max = pool.options.max;
    const held = await Promise.all(Array.from({ length: max }, () => pool.connect()));
    const queued = pool.connect();
    try {
      const busy = await scrape();
      expect(busy.value('db_pool_connections_in_use')).toBe(max);
      expect(busy.value('db_pool_connections_idle')).toBe(0);
      expect(busy.value('db_pool_requests_waiting')).toBe(1);
      expect(busy.value('db_pool_connections_max')).toBe(max);
    } finally {
      for (const client of held) client.release();
    }
    (await queued).release();
    const calm = await scrape();
    expect(calm.value('db_pool_connections_in_use')).toBe(0);
    expect(calm.value('db_pool_requests_waiting')).toBe(0);
  });
});

describe('the metrics port and a client that stops sending', () => {
  it('closes a connection whose headers never end (with short bounds: production waits 10 s)', async () => {
    const slow = await startMetricsServer({ port: 0, host: '127.0.0.1', orm: h.db.orm, timeouts: { headersMs: 300, requestMs: 600, checkEveryMs: 100 } });
    try {
      const res = await rawExchange(`http://127.0.0.1:${(slow.address() as AddressInfo).port}`, 'GET /metrics HTTP/1.1\r\nHost: localhost\r\nX-Waiting: 1\r\n');
      // No envelope on this port (it serves Prometheus text): Node's own answer.
      expect(res.statusLine).toMatch(/^HTTP\/1\.1 408 /);
    } finally {
      slow.closeAllConnections();
      await new Promise((resolve) => slow.close(resolve));
    }
  });
});
