import pg from 'pg';
import { describe, expect, it } from 'vitest';
import { serverUrl } from './support/database.js';
import { createEmptyDatabase, SERVER_SECRET, SPAWNED_TEST_TIMEOUT_MS, spawnServer, startServer, type RunningServer, type ServerResponse, useSpawnedServers } from './support/server-process.js';

useSpawnedServers();

/**
 * Issue 8 §4 on the real process: the last log lines are never lost at exit, and a
 * process killed with SIGKILL in the middle of checkouts leaves no partial one.
 */
describe.skipIf(!serverUrl())('the server process under faults (PostgreSQL)', () => {
  it('prints its final lines every time it exits: after a failed start-up and after SIGTERM', async () => {
    const db = await createEmptyDatabase();
    try {
      const noSuchRole = new URL(db.url);
      noSuchRole.username = 'nobody_at_all';
      // Two processes at a time, not one after another: the same exits, under more load, in the time of one.
      await Promise.all(
        Array.from({ length: 2 }, async (_, round) => {
          const failing = spawnServer({ env: { DATABASE_URL: noSuchRole.toString(), JWT_SECRET: SERVER_SECRET } });
          expect((await failing.exited).code).toBe(1);
          expect(failing.stderr()).toMatch(/^Startup failed: the database could not be opened: .*nobody_at_all[^\n]*\n$/);
          const last = failing.logs().at(-1);
          expect(last, `round ${round}: stdout ${failing.stdout()}`).toMatchObject({ level: 60, msg: expect.stringMatching(/^Startup failed: /) });
        }),
      );
      await Promise.all(
        Array.from({ length: 2 }, async (_, round) => {
          const server = await startServer({ env: { DATABASE_URL: db.url, JWT_SECRET: SERVER_SECRET } });
          // Request lines queued in the logger right before the signal must come out too.
          await Promise.all(Array.from({ length: 20 }, () => server.request('/health')));
          expect(await server.stop()).toEqual({ code: 0, signal: null });
          const logs = server.logs();
          expect(logs.filter((e) => (e.req as { path?: string } | undefined)?.path === '/health'), `round ${round}`).toHaveLength(20);
          expect(logs.at(-1)!.msg, `round ${round}`).toBe('stopped');
        }),
      );
    } finally {
      await db.drop();
    }
  }, SPAWNED_TEST_TIMEOUT_MS);

  it('writes every line before it exits on SIGTERM even when the reader of its stdout is behind', async () => {
    const db = await createEmptyDatabase();
    try {
      const server = await startServer({ env: { DATABASE_URL: db.url, JWT_SECRET: SERVER_SECRET } });
      // Stop reading its stdout: about 300 KB of request lines fill the pipe, so its writes wait on us.
      server.child.stdout!.pause();
      const requests = 1_000;
      for (let sent = 0; sent < requests; sent += 50) await Promise.all(Array.from({ length: 50 }, () => server.request('/health')));
      server.signal('SIGTERM');
      // Its shutdown runs while its output is stuck; a process that exits without waiting for it loses the rest.
      await new Promise((resolve) => setTimeout(resolve, 500));
      server.child.stdout!.resume();
      expect(await server.exited).toEqual({ code: 0, signal: null });
      const logs = server.logs();
      expect(logs.filter((e) => (e.req as { path?: string } | undefined)?.path === '/health')).toHaveLength(requests);
      expect(logs.at(-1)!.msg).toBe('stopped');
    } finally {
      await db.drop();
    }
  }, SPAWNED_TEST_TIMEOUT_MS);

  it('killed with SIGKILL during checkouts leaves no partial checkout: orders complete, stock exact, other carts intact', async () => {
    const db = await createEmptyDatabase();
    const env = { DATABASE_URL: db.url, JWT_SECRET: SERVER_SECRET, ADMIN_USERNAME: 'keeper', ADMIN_PASSWORD: 'keeper-password', SIGNUP_RATE_LIMIT: '0' };
    const locker = new pg.Client({ connectionString: db.url });
    let server: RunningServer | undefined;
    try {
      server = await startServer({ env });
      const s = server;
      const admin = (await s.request('/api/auth/login', { method: 'POST', json: { username: 'keeper', password: 'keeper-password' } })).body.accessToken as string;
      const STOCK = 500;
      const createProduct = async (name: string) =>
        (await s.request('/api/products', { method: 'POST', token: admin, json: { name, price: 10, stock: STOCK } })).body.id as string;
      const free = await createProduct('Free Flowing Tap');
      const other = await createProduct('Other Open Door');
      const contended = await createProduct('Contended Crate');

      // Finishers buy free products only; the held ones also buy the product the test will hold locked.
      const customers: { token: string; held: boolean; lines: [string, number][] }[] = [];
      for (let i = 0; i < 8; i++) {
        const held = i % 2 === 1;
        const signup = await s.request('/api/auth/signup', { method: 'POST', json: { username: `buyer${i}`, password: 'buyer-password' } });
        const lines: [string, number][] = held ? [[free, 1 + (i % 3)], [contended, 2], [other, 1]] : [[free, 1 + (i % 3)], [other, 2]];
        for (const [productId, quantity] of lines) {
          expect((await s.request('/api/cart/items', { method: 'POST', token: signup.body.accessToken, json: { productId, quantity } })).status).toBe(200);
        }
        customers.push({ token: signup.body.accessToken as string, held, lines });
      }

      const finishers = customers.filter((c) => !c.held);
      const heldOnes = customers.filter((c) => c.held);
      const finished = await Promise.all(finishers.map((c) => s.request('/api/checkout', { method: 'POST', token: c.token, json: {} })));
      for (const res of finished) expect(res.status).toBe(201);
      // The held checkouts start their transactions, decrement what they can, then wait for this lock.
      await locker.connect();
      await locker.query('begin');
      await locker.query('select stock from product where id = $1 for update', [contended]);
      // Nothing can commit while the lock is held, so a held checkout only ends before the kill if its lock wait
      // outlived the server's statement timeout (5 s, a very loaded machine): 503, its cart intact. It is then sent
      // again, so the kill still finds every one of them waiting. Any other early answer fails the test.
      const answeredEarly: unknown[] = [];
      const checkoutUntilKilled = async (token: string): Promise<ServerResponse | Error> => {
        for (;;) {
          const outcome = await s.request('/api/checkout', { method: 'POST', token, json: {} }).catch((error: unknown) => error as Error);
          if (outcome instanceof Error) return outcome;
          if (outcome.status !== 503) {
            answeredEarly.push(outcome);
            return outcome;
          }
        }
      };
      const inFlight = heldOnes.map((c) => checkoutUntilKilled(c.token));
      // Every held checkout is inside its transaction, blocked on the row lock: now the process dies. Watched
      // through db's connection, not the locker's: inside a transaction PostgreSQL answers pg_stat_activity from
      // a snapshot taken at its first read, so backends connected later (the pool opening connections for the
      // held checkouts) would never appear, and the count would stay short of all of them for ever.
      for (let waiting = 0; waiting < heldOnes.length; ) {
        expect(answeredEarly, 'a held checkout was answered while the lock was held').toEqual([]);
        const activity = await db.query(`select count(*)::int as n from pg_stat_activity where datname = current_database() and wait_event_type = 'Lock'`);
        waiting = activity.rows[0].n as number;
        if (waiting < heldOnes.length) await new Promise((resolve) => setTimeout(resolve, 10));
      }
      expect(await s.kill()).toEqual({ code: null, signal: 'SIGKILL' });
      for (const outcome of await Promise.all(inFlight)) expect(outcome).toBeInstanceOf(Error);
      await locker.query('rollback');

      server = await startServer({ env });
      const restarted = server;
      const orders = await db.query(`select o.user_id, o.item_count, count(i.id)::int as lines, sum(i.quantity)::int as quantity
        from orders o left join order_item i on i.order_id = o.id group by o.id, o.user_id, o.item_count`);
      expect(orders.rows).toHaveLength(finishers.length);
      for (const order of orders.rows) {
        expect(order.lines).toBeGreaterThan(0);
        expect(order.item_count).toBe(order.quantity);
      }
      const stock = await db.query(`select p.id, p.stock, coalesce(sum(i.quantity), 0)::int as ordered
        from product p left join order_item i on i.product_id = p.id group by p.id, p.stock`);
      for (const row of stock.rows) expect(row.stock + row.ordered, row.id).toBe(STOCK);
      const orderedFree = finishers.reduce((sum, c) => sum + c.lines.find(([id]) => id === free)![1], 0);
      expect(stock.rows.find((r) => r.id === free)!.stock).toBe(STOCK - orderedFree);
      expect(stock.rows.find((r) => r.id === contended)!.stock).toBe(STOCK);

      for (const customer of customers) {
        const cart = await restarted.request('/api/cart', { token: customer.token });
        const lines = (cart.body.items as { productId: string; quantity: number }[]).map((item) => [item.productId, item.quantity]);
        // Checked out: a fresh, empty cart. Killed mid-checkout: the cart exactly as it was.
        expect(lines.sort()).toEqual(customer.held ? [...customer.lines].sort() : []);
      }
      // And the interrupted checkouts go through now.
      for (const customer of heldOnes) expect((await restarted.request('/api/checkout', { method: 'POST', token: customer.token, json: {} })).status).toBe(201);
      expect(await restarted.stop()).toEqual({ code: 0, signal: null });
    } finally {
      await locker.end().catch(() => {});
      await server?.kill();
      await db.drop();
    }
  }, SPAWNED_TEST_TIMEOUT_MS);
});
