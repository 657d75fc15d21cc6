import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createTRPCClient, httpBatchLink, httpLink, TRPCClientError } from '@trpc/client';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { createApp } from '../src/app.js';
import { createContextInner } from '../src/context/context.js';
import { User } from '../src/entities/User.js';
import { createCaller, type AppRouter } from '../src/routers/_app.js';
import { MAX_BATCH_CALLS, protectedProcedure, publicProcedure, router } from '../src/trpc.js';
import { createHttpHarness, type HttpHarness } from './support/harness.js';
import { captureSql } from './support/sql-log.js';

/**
 * Contract §10: calls batched by tRPC's own `httpBatchLink` (`?batch=1`) behave
 * exactly as the same calls sent one by one, each with its own database session.
 */

let h: HttpHarness;
beforeAll(async () => {
  h = await createHttpHarness();
});
afterAll(() => h.close());

const PASSWORD = 'password123';

interface Auth {
  token?: string;
  idempotencyKey?: string;
}

const headersOf = (auth: Auth) => ({
  ...(auth.token ? { Authorization: `Bearer ${auth.token}` } : {}),
  ...(auth.idempotencyKey ? { 'Idempotency-Key': auth.idempotencyKey } : {}),
});

/** A client on tRPC's batch link that records the URL of every HTTP request it sends. */
function batchClient(auth: Auth = {}) {
  const requests: string[] = [];
  const client = createTRPCClient<AppRouter>({
    links: [
      httpBatchLink({
        url: `${h.baseUrl}/trpc`,
        headers: () => headersOf(auth),
        fetch: (url, init) => {
          requests.push(String(url));
          return fetch(url, init);
        },
      }),
    ],
  });
  return { client, requests };
}

/** The same procedures, one HTTP request per call. */
const singleClient = (auth: Auth = {}) =>
  createTRPCClient<AppRouter>({ links: [httpLink({ url: `${h.baseUrl}/trpc`, headers: () => headersOf(auth) })] });

type Outcome = { ok: true; data: unknown } | { ok: false; message: string; data: Record<string, unknown> };

const settle = (call: Promise<unknown>): Promise<Outcome> =>
  call.then(
    (data) => ({ ok: true, data }),
    (error: unknown) => {
      if (!(error instanceof TRPCClientError)) throw error;
      const { requestId: _requestId, ...data } = error.data as Record<string, unknown>;
      return { ok: false, message: error.message, data };
    },
  );

/** Replaces the values that differ between two otherwise identical runs (ids, tokens, times, chosen names). */
function comparable(value: unknown, names: Record<string, string>): unknown {
  if (Array.isArray(value)) return value.map((v) => comparable(v, names));
  if (value !== null && typeof value === 'object') {
    return Object.fromEntries(
      Object.entries(value).map(([key, v]) => {
        if (['id', 'accessToken', 'createdAt', 'updatedAt', 'productId', 'userId'].includes(key) && typeof v === 'string') return [key, `<${key}>`];
        return [key, comparable(v, names)];
      }),
    );
  }
  return typeof value === 'string' ? (names[value] ?? value) : value;
}

const usersNamed = (username: string) => h.db.orm.em.fork().count(User, { usernameKey: User.keyFor(username) });

describe('batched calls over /trpc (httpBatchLink)', () => {
  it('answers [signup new, signup taken] in one batch exactly as one by one, and keeps the new user', async () => {
    await h.createUser({ username: 'batch_taken' });
    await h.createUser({ username: 'single_taken' });

    const { client, requests } = batchClient();
    const batched = await Promise.all([
      settle(client.auth.signup.mutate({ username: 'batch_new', password: PASSWORD })),
      settle(client.auth.signup.mutate({ username: 'BATCH_TAKEN', password: PASSWORD })),
    ]);
    expect(requests).toHaveLength(1);
    expect(requests[0]).toContain('/trpc/auth.signup,auth.signup?batch=1');

    const single = singleClient();
    const oneByOne = [
      await settle(single.auth.signup.mutate({ username: 'single_new', password: PASSWORD })),
      await settle(single.auth.signup.mutate({ username: 'SINGLE_TAKEN', password: PASSWORD })),
    ];

    expect(batched[0]).toMatchObject({ ok: true, data: { user: { username: 'batch_new' } } });
    expect(batched[1]).toMatchObject({ ok: false, data: { appCode: 'USERNAME_TAKEN', httpStatus: 409 } });
    expect(comparable(batched, { batch_new: '<new>' })).toEqual(comparable(oneByOne, { single_new: '<new>' }));

    expect(await usersNamed('batch_new')).toBe(1);
    const login = await h.request('/api/auth/login', { method: 'POST', json: { username: 'batch_new', password: PASSWORD } });
    expect(login.status).toBe(200);
  });

  it('runs a batch mixing failing and succeeding mutations as independent calls', async () => {
    const { token } = await h.createUser({ role: 'admin' });
    const promo = (code: string) => ({ code, type: 'percent' as const, value: 10 });
    const admin = singleClient({ token });
    await admin.promoCodes.create.mutate(promo('BATCH-TAKEN'));
    await admin.promoCodes.create.mutate(promo('SINGLE-TAKEN'));

    const { client, requests } = batchClient({ token });
    const batched = await Promise.all([
      settle(client.promoCodes.create.mutate(promo('BATCH-TAKEN'))),
      settle(client.products.create.mutate({ name: 'Batch Lamp', price: 12.5, stock: 4 })),
      settle(client.promoCodes.create.mutate(promo('BATCH-FRESH'))),
      settle(client.cart.addItem.mutate({ productId: '00000000-0000-4000-8000-000000000000', quantity: 1 })),
    ]);
    expect(requests).toHaveLength(1);

    const oneByOne = [
      await settle(admin.promoCodes.create.mutate(promo('SINGLE-TAKEN'))),
      await settle(admin.products.create.mutate({ name: 'Single Lamp', price: 12.5, stock: 4 })),
      await settle(admin.promoCodes.create.mutate(promo('SINGLE-FRESH'))),
      await settle(admin.cart.addItem.mutate({ productId: '00000000-0000-4000-8000-000000000000', quantity: 1 })),
    ];

    expect(batched.map((o) => (o.ok ? 'ok' : o.data.appCode))).toEqual(['PROMO_CODE_TAKEN', 'ok', 'ok', 'NOT_FOUND']);
    const names = (prefix: string) => ({ [`${prefix.toUpperCase()}-FRESH`]: '<fresh>', [`${prefix}-TAKEN`.toUpperCase()]: '<taken>', [`${prefix} Lamp`]: '<lamp>' });
    expect(comparable(batched, names('Batch'))).toEqual(comparable(oneByOne, names('Single')));

    // The failed insert left nothing behind for the other calls' flushes, and their rows persisted.
    const [, lamp, fresh] = batched as Array<{ data: { id: string } }>;
    expect(await admin.products.byId.query({ id: lamp!.data.id })).toMatchObject({ name: 'Batch Lamp', stock: 4 });
    expect(await admin.promoCodes.byId.query({ id: fresh!.data.id })).toMatchObject({ code: 'BATCH-FRESH' });
  });

  it('places one order for a batch of three checkouts, and batched reads match the same reads one by one', async () => {
    const product = await h.createProduct({ priceCents: 1250, stock: 10 });
    const { token } = await h.createUser();
    const shopper = singleClient({ token });
    await shopper.cart.addItem.mutate({ productId: product.id, quantity: 2 });

    const { client, requests } = batchClient({ token });
    const checkouts = await Promise.all([settle(client.checkout.submit.mutate()), settle(client.checkout.submit.mutate()), settle(client.checkout.submit.mutate())]);
    expect(requests).toHaveLength(1);
    const placed = checkouts.filter((o) => o.ok);
    expect(placed).toHaveLength(1);
    expect(checkouts.filter((o) => !o.ok).map((o) => !o.ok && o.data.appCode)).toEqual(['CART_EMPTY', 'CART_EMPTY']);
    const order = (placed[0] as { data: { id: string } }).data;
    expect(order).toMatchObject({ status: 'placed', itemCount: 2, total: 25 });

    const reads = (c: ReturnType<typeof singleClient>) => [
      settle(c.cart.get.query()),
      settle(c.orders.list.query({ page: 1 })),
      settle(c.orders.byId.query({ id: order.id })),
      settle(c.products.byId.query({ id: product.id })),
      settle(c.auth.me.query()),
      settle(c.orders.byId.query({ id: product.id })),
    ];
    const batchedReads = await Promise.all(reads(client));
    expect(requests).toHaveLength(2);
    expect(requests[1]).toMatch(/\/trpc\/cart\.get,orders\.list,orders\.byId,products\.byId,auth\.me,orders\.byId\?batch=1/);
    const oneByOne: Outcome[] = [];
    for (const read of reads(shopper)) oneByOne.push(await read);
    expect(batchedReads).toEqual(oneByOne);
    expect(batchedReads[1]).toMatchObject({ ok: true, data: { total: 1, items: [order] } });
    expect(batchedReads[5]).toMatchObject({ ok: false, data: { appCode: 'NOT_FOUND' } });
  });
});

describe('the calls of one batch, in their order', () => {
  /** One shopper's batch: two products in, one of them again, then checkout. Each call must see the ones before it. */
  async function shopInOneBatch(first: { id: string }, second: { id: string }) {
    const { token } = await h.createUser();
    const { client, requests } = batchClient({ token });
    const outcomes = await Promise.all([
      settle(client.cart.addItem.mutate({ productId: first.id, quantity: 1 })),
      settle(client.cart.addItem.mutate({ productId: second.id, quantity: 2 })),
      settle(client.cart.addItem.mutate({ productId: first.id, quantity: 1 })),
      settle(client.checkout.submit.mutate()),
    ]);
    expect(requests).toHaveLength(1);
    return outcomes;
  }
  const lines = (outcome: Outcome) => (outcome.ok ? (outcome.data as { items: { productId: string; quantity: number }[] }).items.map((i) => [i.productId, i.quantity]) : outcome.data);

  it('answers [addItem, addItem, addItem, checkout.submit] as the same calls one after another, every time', async () => {
    const first = await h.createProduct({ stock: 1000 });
    const second = await h.createProduct({ stock: 1000 });
    // Eight shoppers at once: the interleavings that concurrent calls of one batch would meet.
    const runs = await Promise.all(Array.from({ length: 8 }, () => shopInOneBatch(first, second)));
    for (const [added1, added2, added3, order] of runs) {
      expect(lines(added1!)).toEqual([[first.id, 1]]);
      expect(lines(added2!)).toEqual([[first.id, 1], [second.id, 2]]);
      expect(lines(added3!)).toEqual([[first.id, 2], [second.id, 2]]);
      expect(order).toMatchObject({ ok: true, data: { status: 'placed', itemCount: 4 } });
    }
  });
});

describe('the batch bound (at most MAX_BATCH_CALLS calls)', () => {
  it('rejects 1,300 cart.clear calls in one batch with 400 before any runs; a parallel request is served', async () => {
    const product = await h.createProduct({ stock: 10 });
    const { token } = await h.createUser();
    const shopper = singleClient({ token });
    await shopper.cart.addItem.mutate({ productId: product.id, quantity: 1 });
    const bystander = await h.createUser();

    const { client, requests } = batchClient({ token });
    const { result: rejected, statements } = await captureSql(h.db.orm, () =>
      Promise.all(Array.from({ length: 1300 }, () => settle(client.cart.clear.mutate()))),
    );
    expect(requests).toHaveLength(1);
    expect(statements).toEqual([]);
    expect(new Set(rejected.map((o) => JSON.stringify(o))).size).toBe(1);
    expect(rejected[0]).toMatchObject({ ok: false, data: { code: 'BAD_REQUEST', httpStatus: 400, appCode: 'VALIDATION_ERROR' } });
    expect((await shopper.cart.get.query()).itemCount).toBe(1);

    // The same oversized batch again, raced against ordinary requests of another user.
    const [again, cart, me] = await Promise.all([
      Promise.all(Array.from({ length: 1300 }, () => settle(client.cart.clear.mutate()))),
      h.request('/api/cart', { token: bystander.token }),
      settle(singleClient({ token: bystander.token }).auth.me.query()),
    ]);
    expect(again.every((o) => !o.ok && o.data.httpStatus === 400)).toBe(true);
    expect(cart.status).toBe(200);
    expect(me).toMatchObject({ ok: true, data: { id: bystander.user.id } });
    expect((await shopper.cart.get.query()).itemCount).toBe(1);
  });

  it('answers the raw request in tRPC error shape with the contract data', async () => {
    const { token } = await h.createUser();
    const paths = Array(MAX_BATCH_CALLS + 1).fill('cart.get').join(',');
    const res = await h.request(`/trpc/${paths}?batch=1`, { token, headers: { 'X-Request-Id': 'too-many-calls' } });
    expect(res.status).toBe(400);
    expect(res.headers.get('content-type')).toBe('application/json; charset=utf-8');
    expect(res.body.error).toEqual({
      message: expect.stringMatching(/batch/i),
      code: -32600,
      data: expect.objectContaining({ code: 'BAD_REQUEST', httpStatus: 400, appCode: 'VALIDATION_ERROR', requestId: 'too-many-calls' }),
    });
  });

  it('serves a batch of exactly MAX_BATCH_CALLS calls', async () => {
    const { token } = await h.createUser();
    const { client, requests } = batchClient({ token });
    const users = await Promise.all(Array.from({ length: MAX_BATCH_CALLS }, () => client.auth.me.query()));
    expect(requests).toHaveLength(1);
    expect(new Set(users.map((u) => u.id)).size).toBe(1);
  });
});

describe('one context, concurrent calls (createCaller)', () => {
  it('gives every call of a shared context its own session: [signup new, signup taken] at once', async () => {
    await h.createUser({ username: 'caller_taken' });
    const caller = createCaller(createContextInner({ em: h.db.orm.em.fork(), config: h.config }));
    const [fresh, taken] = await Promise.all([
      settle(caller.auth.signup({ username: 'caller_new', password: PASSWORD })),
      caller.auth.signup({ username: 'Caller_Taken', password: PASSWORD }).then(
        () => 'succeeded',
        (error: unknown) => (error as { cause?: { code?: string } }).cause?.code,
      ),
    ]);
    expect(fresh).toMatchObject({ ok: true, data: { user: { username: 'caller_new' } } });
    expect(taken).toBe('USERNAME_TAKEN');
    expect(await usersNamed('caller_new')).toBe(1);
  });
});

describe('per-call state in a batch', () => {
  const CALLS = 4;
  const sessions = new WeakMap<object, number>();
  let lastSession = 0;
  /** Sets this call's header, then reports what the call's context holds: the calls before it must not show. */
  const probe = async (ctx: { em: object; responseHeaders: Record<string, string>; user?: { id: string } | undefined }, n: number) => {
    ctx.responseHeaders[`X-Call-${n}`] = 'set';
    if (!sessions.has(ctx.em)) sessions.set(ctx.em, ++lastSession);
    await new Promise((resolve) => setImmediate(resolve));
    return { session: sessions.get(ctx.em)!, headers: Object.keys(ctx.responseHeaders), userId: ctx.user?.id ?? null };
  };
  const probeRouter = router({
    signedIn: protectedProcedure.input(z.object({ n: z.number() })).mutation(({ ctx, input }) => probe(ctx, input.n)),
    anonymous: publicProcedure.input(z.object({ n: z.number() })).mutation(({ ctx, input }) => probe(ctx, input.n)),
  });

  let server: Server;
  let url: string;
  beforeAll(async () => {
    const app = createApp({ orm: h.db.orm, config: h.config, logger: pino({ level: 'silent' }), router: probeRouter });
    server = await new Promise((resolve) => {
      const s = app.listen(0, '127.0.0.1', () => resolve(s));
    });
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/trpc`;
  });
  afterAll(async () => {
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  });

  it('gives each call of one batch its own session and response headers; the user stays with the calls that signed in', async () => {
    const { user, token } = await h.createUser();
    const client = createTRPCClient<typeof probeRouter>({ links: [httpBatchLink({ url, headers: { Authorization: `Bearer ${token}` } })] });

    const results = await Promise.all([
      client.signedIn.mutate({ n: 1 }),
      client.anonymous.mutate({ n: 2 }),
      client.signedIn.mutate({ n: 3 }),
      client.anonymous.mutate({ n: 4 }),
    ]);

    expect(new Set(results.map((r) => r.session)).size).toBe(CALLS);
    expect(results.map((r) => r.headers)).toEqual([['X-Call-1'], ['X-Call-2'], ['X-Call-3'], ['X-Call-4']]);
    expect(results.map((r) => r.userId)).toEqual([user.id, null, user.id, null]);
  });
});
