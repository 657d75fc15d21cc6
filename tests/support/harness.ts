import type { AddressInfo } from 'node:net';
import type { Server } from 'node:http';
import { pino } from 'pino';
import { createApp } from '../../src/app.js';
import { loadConfig, type AppConfig } from '../../src/config.js';
import { createContextInner } from '../../src/context/context.js';
import { createHttpServer, type HttpTimeouts } from '../../src/rest/http-server.js';
import { Product } from '../../src/entities/Product.js';
import { PromoCode } from '../../src/entities/PromoCode.js';
import { User, type Role } from '../../src/entities/User.js';
import { createCaller } from '../../src/routers/_app.js';
import { createTestDatabase, testPoolMode, type TestDatabase } from './database.js';

export const TEST_ENV = {
  JWT_SECRET: 'test-secret-that-is-at-least-32-characters-long',
  BCRYPT_COST: '4',
  LOG_LEVEL: 'silent',
  SEED_DEMO_DATA: 'false',
} as const;

/** The app's configuration in tests; the pool mode follows the environment (see testPoolMode). */
export const testConfig = (overrides: Record<string, string> = {}): AppConfig =>
  loadConfig({ ...TEST_ENV, DATABASE_POOL_MODE: testPoolMode(), ...overrides });

export interface Harness {
  db: TestDatabase;
  config: AppConfig;
  /** Procedure-level access, no HTTP: `harness.caller(user).products.list(...)`. */
  caller(user?: User): ReturnType<typeof createCaller>;
  /** Creates a user directly in the database (bypassing signup) and returns it with a token. */
  createUser(opts?: { username?: string; password?: string; role?: Role }): Promise<{ user: User; token: string; password: string }>;
  /** Creates a product directly in the database (no admin request); what is not given: a unique name, 10.00, 50 in stock, no image or category. */
  createProduct(fields?: ProductFields): Promise<Product>;
  /** Creates a promo code directly in the database; what is not given: a unique code, 10 percent, active, no window, no limits. */
  createPromoCode(fields?: PromoCodeFields): Promise<PromoCode>;
  close(): Promise<void>;
}

export type ProductFields = Partial<Pick<Product, 'name' | 'description' | 'priceCents' | 'imageUrl' | 'category' | 'stock' | 'attributes'>>;
export type PromoCodeFields = Partial<
  Pick<PromoCode, 'code' | 'type' | 'value' | 'active' | 'startsAt' | 'expiresAt' | 'maxRedemptions' | 'redemptions' | 'minSubtotalCents'>
>;

let userCounter = 0;
let productCounter = 0;
let promoCodeCounter = 0;

export async function createHarness(envOverrides: Record<string, string> = {}): Promise<Harness> {
  const config = testConfig(envOverrides);
  const db = await createTestDatabase({ poolMode: config.databasePoolMode });
  const { issueAccessToken } = await import('../../src/context/auth.js');
  return {
    db,
    config,
    caller: (user) => createCaller(createContextInner({ em: db.orm.em.fork(), config, user })),
    async createUser(opts = {}) {
      const em = db.orm.em.fork();
      const username = opts.username ?? `user${++userCounter}_${Math.random().toString(36).slice(2, 8)}`;
      const password = opts.password ?? 'correct horse battery';
      const user = em.create(User, {
        username,
        usernameKey: User.keyFor(username),
        passwordHash: '',
        role: opts.role ?? 'customer',
      });
      await user.setPassword(password, config.bcryptCost);
      await em.flush();
      return { user, token: issueAccessToken(user, config), password };
    },
    async createProduct(fields = {}) {
      const em = db.orm.em.fork();
      const product = em.create(Product, { name: `Product ${++productCounter}`, priceCents: 1000, stock: 50, imageUrl: null, category: null, ...fields });
      await em.flush();
      return product;
    },
    async createPromoCode(fields = {}) {
      const em = db.orm.em.fork();
      const promo = em.create(PromoCode, { code: `CODE${++promoCodeCounter}`, type: 'percent', value: 10, ...fields });
      await em.flush();
      return promo;
    },
    close: () => db.drop(),
  };
}

export interface HttpHarness extends Harness {
  baseUrl: string;
  request(path: string, init?: RequestInit & { token?: string; json?: unknown }): Promise<TestResponse>;
}

export interface TestResponse {
  status: number;
  headers: Headers;
  body: any; // eslint-disable-line @typescript-eslint/no-explicit-any -- tests inspect arbitrary JSON
  text: string;
}

/** A harness plus a real HTTP server on an ephemeral loopback port. */
export async function createHttpHarness(envOverrides: Record<string, string> = {}, timeouts?: HttpTimeouts): Promise<HttpHarness> {
  const harness = await createHarness(envOverrides);
  const app = createApp({ orm: harness.db.orm, config: harness.config, logger: pino({ level: 'silent' }) });
  // The server as src/server.ts makes it (timeouts, envelope on Node's own answers).
  const server: Server = createHttpServer(app, harness.config, timeouts);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const baseUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    ...harness,
    baseUrl,
    async request(path, init = {}) {
      const headers = new Headers(init.headers);
      if (init.token) headers.set('Authorization', `Bearer ${init.token}`);
      let body = init.body;
      if (init.json !== undefined) {
        headers.set('Content-Type', 'application/json');
        body = JSON.stringify(init.json);
      }
      const response = await fetch(`${baseUrl}${path}`, { ...init, headers, body });
      const text = await response.text();
      let parsed: unknown;
      try {
        parsed = text ? JSON.parse(text) : undefined;
      } catch {
        // Not JSON: the test reads `text`.
      }
      return { status: response.status, headers: response.headers, body: parsed, text };
    },
    async close() {
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
      await harness.close();
    },
  };
}

/** Asserts the contract's error envelope and returns it. */
export function expectErrorEnvelope(res: TestResponse, status: number, code: string) {
  if (res.status !== status || res.body?.error?.code !== code) {
    throw new Error(`expected ${status} ${code}, got ${res.status} ${res.text}`);
  }
  const requestId = res.headers.get('x-request-id');
  if (!requestId || res.body.error.requestId !== requestId) {
    throw new Error(`error requestId ${res.body.error.requestId} does not match X-Request-Id ${requestId}`);
  }
  if (typeof res.body.error.message !== 'string' || /at .+\(.+:\d+:\d+\)/.test(res.text)) {
    throw new Error(`error message missing or leaks a stack: ${res.text}`);
  }
  return res.body.error as { code: string; message: string; details?: unknown; requestId: string };
}
