import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { hashPassword, inHashingSlot, MAX_PASSWORD_REQUESTS, PASSWORD_HASHING_CONCURRENCY, passwordWorkLoad } from '../src/lib/password-hashing.js';
import { createHttpHarness, expectErrorEnvelope, type HttpHarness } from './support/harness.js';

/**
 * Issue 8 §5: a flood of logins must not starve other routes. bcrypt work is bounded process-wide
 * (src/lib/password-hashing.ts); beyond the queue bound a login is answered at once with 503.
 * Ordering checks only: what must finish before what, never how fast. While a flood must stay
 * under way, the test itself holds every hashing slot (`holdHashingSlots`), so no login of the
 * flood can finish before the test has looked, however slow or loaded the machine is.
 */

let h: HttpHarness;
beforeAll(async () => {
  // No rate limits: the flood comes from one address and many usernames. The tests' low work factor is
  // enough: while a flood must stay queued the test holds the hashing slots, so hash time proves nothing.
  h = await createHttpHarness({ LOGIN_RATE_LIMIT: '0', LOGIN_ADDRESS_RATE_LIMIT: '0' });
  // The decoy hash for unknown users is made on first use; make it before the flood.
  expect((await loginUnknown(0)).status).toBe(401);
});
afterAll(() => h.close());

const loginUnknown = (i: number) => h.request('/api/auth/login', { method: 'POST', json: { username: `flood_${i}`, password: 'wrong-password' } });

const floods: Promise<unknown>[] = [];
const heldSlots: { release: () => Promise<void> }[] = [];
// A failed assertion must not leave slots held or a flood running into the next test or the
// server's close: the flood waits on the held slots, so they are released first.
afterEach(async () => {
  await Promise.all(heldSlots.splice(0).map((slots) => slots.release()));
  await Promise.allSettled(floods.splice(0));
});

/** Starts `count` logins and keeps count of how many have been answered. */
function flood(count: number, offset = 0) {
  const answered = { count: 0 };
  const responses = Promise.all(
    Array.from({ length: count }, (_, i) =>
      loginUnknown(offset + i).then((res) => {
        answered.count++;
        return res;
      }),
    ),
  );
  floods.push(responses);
  return { answered, responses };
}

/** Takes every hashing slot until `release()`: password work queues behind it, and nothing is answered. */
async function holdHashingSlots() {
  let release!: () => void;
  const released = new Promise<void>((resolve) => (release = resolve));
  const holders = Array.from({ length: PASSWORD_HASHING_CONCURRENCY }, () => inHashingSlot(() => released));
  await waitForLoad((load) => load.hashing === PASSWORD_HASHING_CONCURRENCY);
  const slots = {
    release: async () => {
      release();
      await Promise.all(holders);
    },
  };
  heldSlots.push(slots);
  return slots;
}

const waitForLoad = (check: (load: ReturnType<typeof passwordWorkLoad>) => boolean) =>
  vi.waitFor(
    () => {
      const load = passwordWorkLoad();
      expect(load.hashing).toBeLessThanOrEqual(PASSWORD_HASHING_CONCURRENCY);
      if (!check(load)) throw new Error(`password work not there yet: ${JSON.stringify(load)}`);
    },
    { timeout: 20_000, interval: 10 },
  );

describe('bounded bcrypt work', () => {
  it('runs at most PASSWORD_HASHING_CONCURRENCY hashes at once and queues the rest', async () => {
    const hashes = Array.from({ length: PASSWORD_HASHING_CONCURRENCY + 3 }, () => hashPassword('queued password', 4));
    await waitForLoad((load) => load.hashing === PASSWORD_HASHING_CONCURRENCY && load.queued === 3);
    await Promise.all(hashes);
    expect(passwordWorkLoad()).toEqual({ admitted: 0, hashing: 0, queued: 0 });
  });

  it('serves the catalog and static files while a login flood is waiting for bcrypt', async () => {
    const slots = await holdHashingSlots();
    const { answered, responses } = flood(MAX_PASSWORD_REQUESTS, 1000);
    await waitForLoad((load) => load.queued === MAX_PASSWORD_REQUESTS);

    // /docs assets are file reads on libuv's thread pool, the pool bcrypt runs on: with unbounded
    // hashing they wait behind every queued hash. The catalog needs the event loop and the database.
    const [asset, catalog] = await Promise.all([h.request('/docs/swagger-ui.css'), h.request('/api/products?page=1')]);
    expect(asset.status).toBe(200);
    expect(catalog.status).toBe(200);
    expect(answered.count).toBe(0);

    await slots.release();
    for (const res of await responses) expectErrorEnvelope(res, 401, 'INVALID_CREDENTIALS');
  });

  it('answers logins beyond the queue bound at once with 503 and Retry-After, and recovers', async () => {
    const slots = await holdHashingSlots();
    const admittedFlood = flood(MAX_PASSWORD_REQUESTS, 2000);
    // Admitted is counted before the user lookup, queued after it: wait until every admitted login
    // has reached the hashing queue, so that what is queued afterwards is known exactly.
    await waitForLoad((load) => load.admitted === MAX_PASSWORD_REQUESTS && load.queued === MAX_PASSWORD_REQUESTS);

    // Every admitted login is still waiting for bcrypt: each further one is turned away, without a hash.
    const extra = await Promise.all(Array.from({ length: 8 }, (_, i) => loginUnknown(3000 + i)));
    expect(admittedFlood.answered.count).toBe(0);
    for (const res of extra) {
      expectErrorEnvelope(res, 503, 'SERVICE_UNAVAILABLE');
      expect(res.headers.get('retry-after')).toBe('1');
    }
    expect(passwordWorkLoad().queued).toBe(MAX_PASSWORD_REQUESTS);

    await slots.release();
    for (const res of await admittedFlood.responses) expectErrorEnvelope(res, 401, 'INVALID_CREDENTIALS');
    // Once the flood is through, logins are served again.
    expectErrorEnvelope(await loginUnknown(4000), 401, 'INVALID_CREDENTIALS');
    expect(passwordWorkLoad()).toEqual({ admitted: 0, hashing: 0, queued: 0 });
  });
});
