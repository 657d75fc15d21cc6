import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import jwt from 'jsonwebtoken';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fromSources, ServerProcess } from '../bench/processes.js';
import { CatalogWriter, type OneUnitShopper } from '../bench/writer.js';
import { serverUrl } from './support/database.js';
import { createHttpHarness, TEST_ENV, type HttpHarness } from './support/harness.js';
import { startSecondInstance, type SecondInstance } from './support/second-instance.js';

/**
 * The bench's reference server is the floor the API's cart is measured against
 * (issue 10): it must answer the same cart as the API, or the ratio compares
 * different work. And the live writer's exactness probes must catch a stale read.
 */
describe.skipIf(!serverUrl())('bench: cart reference and live writer (PostgreSQL)', () => {
  let harness: HttpHarness;
  let reference: ServerProcess;
  let admin: string;
  let productIds: string[];

  const createProduct = async (index: number, stock: number): Promise<string> => {
    const res = await harness.request('/api/products', {
      method: 'POST',
      token: admin,
      json: { name: `Bench probe ${index}`, price: 10 + index + 0.5, stock, category: 'tools', attributes: { model: `zqtestmodel${index}` } },
    });
    expect(res.status).toBe(201);
    return res.body.id as string;
  };

  const addLine = (token: string, productId: string, quantity: number) =>
    harness.request('/api/cart/items', { method: 'POST', token, json: { productId, quantity } });

  const onReference = async (path: string, init: { method?: string; token?: string; json?: unknown } = {}) => {
    const response = await fetch(reference.baseUrl + path, {
      method: init.method ?? 'GET',
      headers: { ...(init.token ? { authorization: `Bearer ${init.token}` } : {}), 'content-type': 'application/json' },
      ...(init.json === undefined ? {} : { body: JSON.stringify(init.json) }),
    });
    return { status: response.status, body: (await response.json()) as Record<string, unknown> };
  };

  beforeAll(async () => {
    harness = await createHttpHarness();
    admin = (await harness.createUser({ role: 'admin' })).token;
    productIds = [];
    for (let i = 0; i < 4; i++) productIds.push(await createProduct(i, 10));
    reference = await ServerProcess.start(
      'reference server',
      fromSources('bench/reference-server.ts'),
      { PATH: process.env.PATH, HOME: process.env.HOME, DATABASE_URL: harness.db.url, JWT_SECRET: TEST_ENV.JWT_SECRET },
      '/ready',
      60_000,
    );
  });

  afterAll(async () => {
    await reference?.stop();
    await harness?.close();
  });

  it('GET /api/cart answers exactly what the API answers for a 3-line cart', async () => {
    const { token } = await harness.createUser();
    for (const [i, id] of productIds.slice(0, 3).entries()) expect((await addLine(token, id, i + 1)).status).toBe(200);
    const api = await harness.request('/api/cart', { token });
    const floor = await onReference('/api/cart', { token });
    expect(floor.status).toBe(200);
    expect(api.body.items).toHaveLength(3);
    expect(floor.body).toEqual(api.body);
  });

  it('add to cart adds units to a line or a new line last, and answers the cart the API then shows', async () => {
    const { token } = await harness.createUser();
    expect((await addLine(token, productIds[0]!, 1)).status).toBe(200);

    const more = await onReference('/api/cart/items', { method: 'POST', token, json: { productId: productIds[0], quantity: 2 } });
    expect(more.status).toBe(200);
    expect(more.body).toEqual((await harness.request('/api/cart', { token })).body);
    expect(more.body.items).toMatchObject([{ productId: productIds[0], quantity: 3 }]);

    const added = await onReference('/api/cart/items', { method: 'POST', token, json: { productId: productIds[3], quantity: 1 } });
    expect(added.status).toBe(200);
    expect(added.body).toEqual((await harness.request('/api/cart', { token })).body);
    expect((added.body.items as { productId: string }[]).map((line) => line.productId)).toEqual([productIds[0], productIds[3]]);
  });

  it('refuses what the API refuses: more units than in stock, a token it did not sign, an expired token', async () => {
    const { user, token } = await harness.createUser();
    expect((await addLine(token, productIds[1]!, 9)).status).toBe(200);
    const before = (await harness.request('/api/cart', { token })).body;

    expect((await onReference('/api/cart/items', { method: 'POST', token, json: { productId: productIds[1], quantity: 2 } })).status).toBe(409);
    expect((await harness.request('/api/cart', { token })).body).toEqual(before);

    const forged = jwt.sign({ sub: user.id, role: 'customer' }, 'another-secret-of-at-least-32-characters', { algorithm: 'HS256', expiresIn: 60 });
    const expired = jwt.sign({ sub: user.id, role: 'customer', exp: Math.floor(Date.now() / 1000) - 10 }, TEST_ENV.JWT_SECRET, { algorithm: 'HS256' });
    expect((await onReference('/api/cart', { token: forged })).status).toBe(401);
    expect((await onReference('/api/cart', { token: expired })).status).toBe(401);
    expect((await onReference('/api/cart')).status).toBe(401);
  });

  describe('the live writer', () => {
    let second: SecondInstance;
    let stale: Server;
    let staleUrl: string;
    let pools: { sellOutIds: string[]; restockIds: string[] };
    let shoppers: OneUnitShopper[];

    beforeAll(async () => {
      second = await startSecondInstance(harness);
      pools = { sellOutIds: [], restockIds: [] };
      for (let i = 10; i < 14; i++) pools.sellOutIds.push(await createProduct(i, 20));
      for (let i = 20; i < 24; i++) pools.restockIds.push(await createProduct(i, 0));
      shoppers = [];
      for (let i = 30; i < 32; i++) {
        const { token } = await harness.createUser();
        const productId = await createProduct(i, 1000);
        expect((await addLine(token, productId, 1)).status).toBe(200);
        shoppers.push({ token, productId });
      }
      // A reader that answers every GET it has seen before from its memory: what a stale cache looks like.
      const remembered = new Map<string, string>();
      stale = createServer((req, res) => {
        void (async () => {
          let body = remembered.get(req.url!);
          if (body === undefined) {
            body = await (await fetch(harness.baseUrl + req.url)).text();
            remembered.set(req.url!, body);
          }
          res.writeHead(200, { 'content-type': 'application/json' }).end(body);
        })();
      });
      await new Promise<void>((resolve) => stale.listen(0, '127.0.0.1', resolve));
      staleUrl = `http://127.0.0.1:${(stale.address() as AddressInfo).port}`;
    });

    afterAll(async () => {
      await new Promise((resolve) => stale?.close(resolve));
      await second?.close();
    });

    it('makes each kind of change through the API and finds every one reflected by the next read, on both instances', async () => {
      const writer = await CatalogWriter.prepare(harness.baseUrl, [harness.baseUrl, second.baseUrl], admin, 20, pools, shoppers);
      const run = writer.start();
      await new Promise((resolve) => setTimeout(resolve, 1000));
      const result = await run.stop();
      expect(result.failures).toEqual([]);
      expect(result.violationSamples).toEqual([]);
      expect(result.made.create).toBeGreaterThan(0);
      expect(result.probes).toBeGreaterThan(0);
    });

    it('counts a read that does not reflect the change as a violation', async () => {
      const pageOne = await fetch(`${staleUrl}/api/products?page=1`);
      expect(pageOne.status).toBe(200);
      const writer = await CatalogWriter.prepare(harness.baseUrl, [staleUrl], admin, 20, pools, shoppers);
      const run = writer.start();
      const result = await run.stop();
      expect(result.made.create).toBe(1);
      expect(result.violations).toBe(1);
      expect(result.violationSamples[0]).toMatch(/not on page 1 of the newest-first list/);
    });
  });
});
