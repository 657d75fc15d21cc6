import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createContextInner } from '../src/context/context.js';
import type { DatabaseWaits } from '../src/db/orm.js';
import type { User } from '../src/entities/User.js';
import { createCaller } from '../src/routers/_app.js';
import { serverUrl } from './support/database.js';
import { expectAppError } from './support/errors.js';
import { expectErrorEnvelope, type Harness, type TestResponse } from './support/harness.js';
import { startProxiedApp, type ProxiedApp } from './support/proxied-app.js';
import type { TcpProxy } from './support/tcp-proxy.js';

/**
 * Issue 8 §4, dead database paths: the network to PostgreSQL silently drops every
 * packet, then heals. Requests must end with 503 within a bound instead of hanging,
 * /ready must say 503, and after the heal the same process must serve again by
 * itself — its pool must not keep the sockets the black hole took.
 *
 * The bound a request may take on a dead path is the pool's connect timeout plus
 * the query timeout (5 s + 6 s in production, see README). This app waits less
 * (WAITS), so the outage lasts seconds; the behaviour is the same code path. A
 * request still open after HANG_BOUND_MS counts as hung (a generous margin for a
 * loaded test machine).
 */
const WAITS: DatabaseWaits = { connectTimeoutMillis: 1_500, queryTimeoutMillis: 1_500 };
const HANG_BOUND_MS = WAITS.connectTimeoutMillis + WAITS.queryTimeoutMillis + 5_000;
/** Routes that cannot answer without the database (the catalog could be served from cache). */
const DATABASE_ROUTES = ['/api/auth/me', '/api/cart', '/api/orders?page=1'];
const LOAD_WORKERS = 6;

interface Outcome {
  path: string;
  status: number | 'hung';
  code?: string;
  startedDuring: Phase;
  endedDuring: Phase;
}
type Phase = 'before' | 'blackhole' | 'healed';

describe.skipIf(!serverUrl())('a black-holed path to PostgreSQL (through a TCP proxy)', () => {
  let app: ProxiedApp;
  let h: Harness;
  let proxy: TcpProxy;
  let baseUrl: string;
  let token: string;
  let user: User;

  beforeAll(async () => {
    app = await startProxiedApp({ waits: WAITS });
    ({ h, proxy, baseUrl } = app);
    ({ user, token } = await h.createUser());
  });
  afterAll(() => app?.close());

  const get = async (path: string): Promise<TestResponse | 'hung'> => {
    try {
      const res = await fetch(`${baseUrl}${path}`, { headers: { Authorization: `Bearer ${token}` }, signal: AbortSignal.timeout(HANG_BOUND_MS) });
      const text = await res.text();
      return { status: res.status, headers: res.headers, text, body: text ? JSON.parse(text) : undefined };
    } catch (error) {
      if ((error as Error).name === 'TimeoutError') return 'hung';
      throw error;
    }
  };

  /** Keeps LOAD_WORKERS clients busy on the database routes and lets the test wait for outcomes as they arrive. */
  function startLoad() {
    const outcomes: Outcome[] = [];
    const waiters = new Set<() => void>();
    let phase: Phase = 'before';
    let running = true;
    const worker = async (n: number) => {
      for (let i = n; running; i++) {
        const path = DATABASE_ROUTES[i % DATABASE_ROUTES.length]!;
        const startedDuring = phase;
        const res = await get(path);
        const endedDuring = phase;
        outcomes.push(
          res === 'hung'
            ? { path, status: 'hung', startedDuring, endedDuring }
            : { path, status: res.status, code: res.body?.error?.code, startedDuring, endedDuring },
        );
        for (const check of waiters) check();
      }
    };
    const workers = Array.from({ length: LOAD_WORKERS }, (_, n) => worker(n));
    return {
      outcomes,
      setPhase: (next: Phase) => (phase = next),
      /** Resolves once `count` outcomes match `predicate`. */
      waitFor: (predicate: (o: Outcome) => boolean, count: number) =>
        new Promise<void>((resolve) => {
          const check = () => {
            if (outcomes.filter(predicate).length < count) return;
            waiters.delete(check);
            resolve();
          };
          waiters.add(check);
          check();
        }),
      stop: async () => {
        running = false;
        await Promise.all(workers);
      },
    };
  }

  it('ends every request within the bound with 503 while the path is dead, says 503 on /ready, and serves again after the heal without a restart', async () => {
    const load = startLoad();
    await load.waitFor((o) => o.status === 200, LOAD_WORKERS * 2);

    proxy.blackhole();
    load.setPhase('blackhole');
    // Every route, several times over: pooled sockets the black hole took, and new connections it swallows.
    for (const path of DATABASE_ROUTES) {
      await load.waitFor((o) => o.startedDuring === 'blackhole' && o.path === path && o.status === 503, 2);
    }
    const ready = await get('/ready');
    expect(ready).not.toBe('hung');
    expectErrorEnvelope(ready as TestResponse, 503, 'SERVICE_UNAVAILABLE');
    const me = await get('/api/auth/me');
    expect(me).not.toBe('hung');
    expectErrorEnvelope(me as TestResponse, 503, 'SERVICE_UNAVAILABLE');
    // The procedures themselves, without HTTP, fail the same way.
    const caller = createCaller(createContextInner({ em: app.orm.em.fork(), config: h.config, user }));
    await expectAppError(caller.cart.get(), 'SERVICE_UNAVAILABLE');

    await proxy.restore();
    load.setPhase('healed');
    for (const path of DATABASE_ROUTES) {
      await load.waitFor((o) => o.startedDuring === 'healed' && o.path === path && o.status === 200, 2);
    }
    await load.stop();
    expect((await get('/ready')) as TestResponse).toMatchObject({ status: 200, body: { status: 'ready' } });

    const hung = load.outcomes.filter((o) => o.status === 'hung');
    expect(hung, 'requests still open after the bound').toEqual([]);
    // Started and answered while the path was dead (one that was still waiting when the path healed may succeed).
    const during = load.outcomes.filter((o) => o.startedDuring === 'blackhole' && o.endedDuring === 'blackhole');
    expect(during.length).toBeGreaterThanOrEqual(DATABASE_ROUTES.length * 2);
    for (const outcome of during) expect(outcome).toMatchObject({ status: 503, code: 'SERVICE_UNAVAILABLE' });
    // In flight when the path died or when it healed: either answer, never an error of ours.
    for (const outcome of load.outcomes) expect([200, 503]).toContain(outcome.status);
  }, 120_000);
});
