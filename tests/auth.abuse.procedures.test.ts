import bcrypt from 'bcrypt';
import jwt from 'jsonwebtoken';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createContextInner } from '../src/context/context.js';
import { AttemptLog, type AttemptKind } from '../src/entities/AttemptLog.js';
import { User } from '../src/entities/User.js';
import { createCaller } from '../src/routers/_app.js';
import { purgeExpiredAttempts } from '../src/routers/auth/service.js';
import { failure } from './support/errors.js';
import { createHarness, type Harness } from './support/harness.js';

/** Issue 8 §5 at the procedure level (createCaller, no HTTP): the budgets' arithmetic, purging, rehashing, token claims. */

let h: Harness;
beforeAll(async () => {
  h = await createHarness({ LOGIN_RATE_LIMIT: '3', LOGIN_ADDRESS_RATE_LIMIT: '5', SIGNUP_RATE_LIMIT: '3', BCRYPT_COST: '5' });
});
afterAll(() => h.close());

const from = (clientAddress: string, authorization?: string) =>
  createCaller(createContextInner({ em: h.db.orm.em.fork(), config: h.config, clientAddress, authorization }));

const MINUTE = 60_000;
const wrong = (username: string) => ({ username, password: 'wrong-password' });
const rows = (kind: AttemptKind, key: string) => h.db.orm.em.fork().find(AttemptLog, { kind, key }, { orderBy: { attemptedAt: 'asc' } });
const age = (id: number, msAgo: number) => h.db.orm.em.fork().nativeUpdate(AttemptLog, { id }, { attemptedAt: new Date(Date.now() - msAgo) });

describe('the per-address login budget', () => {
  it('answers RATE_LIMITED with the exact seconds until its oldest counted failure leaves the window', async () => {
    const spray = from('192.0.2.10');
    for (let i = 0; i < 5; i++) expect((await failure(spray.auth.login(wrong(`spray${i}`)))).code).toBe('INVALID_CREDENTIALS');
    const blocked = await failure(spray.auth.login(wrong('spray_next')));
    expect(blocked.code).toBe('RATE_LIMITED');
    expect(Number(blocked.headers['Retry-After'])).toBeGreaterThan(890);

    const [oldest] = await rows('login_address', '192.0.2.10');
    await age(oldest!.id, 15 * MINUTE - 20_000);
    const retryAfter = Number((await failure(spray.auth.login(wrong('spray_next')))).headers['Retry-After']);
    expect(retryAfter).toBeGreaterThanOrEqual(19);
    expect(retryAfter).toBeLessThanOrEqual(20);

    await age(oldest!.id, 15 * MINUTE + 1000);
    expect((await failure(spray.auth.login(wrong('spray_next')))).code).toBe('INVALID_CREDENTIALS');
    expect((await failure(spray.auth.login(wrong('spray_last')))).code).toBe('RATE_LIMITED');
  });

  it('when both budgets are spent, Retry-After waits for the later one', async () => {
    const client = from('192.0.2.11');
    for (let i = 0; i < 3; i++) await failure(client.auth.login(wrong('both_user')));
    for (let i = 0; i < 2; i++) await failure(client.auth.login(wrong(`both_other${i}`)));
    // The address budget frees in 30 s, the per-username one only in ~15 min.
    const [oldestAddress] = await rows('login_address', '192.0.2.11');
    await age(oldestAddress!.id, 15 * MINUTE - 30_000);
    expect(Number((await failure(client.auth.login(wrong('both_user')))).headers['Retry-After'])).toBeGreaterThan(890);
    const otherName = Number((await failure(client.auth.login(wrong('both_fresh')))).headers['Retry-After']);
    expect(otherName).toBeGreaterThanOrEqual(29);
    expect(otherName).toBeLessThanOrEqual(30);
  });

  it('a success resets the per-username count only: the address keeps its earlier failures', async () => {
    const { user, password } = await h.createUser();
    const office = from('192.0.2.12');
    for (let i = 0; i < 2; i++) await failure(office.auth.login(wrong(user.username)));
    for (let i = 0; i < 2; i++) await failure(office.auth.login(wrong(`office_other${i}`)));
    expect((await office.auth.login({ username: user.username, password })).user.id).toBe(user.id);
    expect(await rows('login', `192.0.2.12 ${User.keyFor(user.username)}`)).toHaveLength(0);
    // The success took no slot of its own; the four failures still count.
    expect(await rows('login_address', '192.0.2.12')).toHaveLength(4);
    await failure(office.auth.login(wrong('office_other2')));
    expect((await failure(office.auth.login({ username: user.username, password }))).code).toBe('RATE_LIMITED');
  });

  it('counts every address of an IPv6 /64 together, and IPv4-mapped addresses as IPv4', async () => {
    for (let i = 1; i <= 5; i++) await failure(from(`2001:db8:c0:ffee::${i}`).auth.login(wrong(`v6spray${i}`)));
    expect((await failure(from('2001:db8:c0:ffee:1:2:3:4').auth.login(wrong('v6spray_x')))).code).toBe('RATE_LIMITED');
    expect((await failure(from('2001:db8:c0:fffe::1').auth.login(wrong('v6spray_x')))).code).toBe('INVALID_CREDENTIALS');
    expect((await rows('login_address', '2001:db8:c0:ffee::/64')).length).toBe(5);

    for (let i = 0; i < 5; i++) await failure(from('192.0.2.13').auth.login(wrong(`mapped${i}`)));
    expect((await failure(from('::ffff:192.0.2.13').auth.login(wrong('mapped_x')))).code).toBe('RATE_LIMITED');
  });
});

describe('the signup budget', () => {
  it('counts every signup that gets to hashing, USERNAME_TAKEN included, per address per hour', async () => {
    // A fresh caller (EntityManager) per call, as every HTTP request gets.
    const client = () => from('192.0.2.20');
    await client().auth.signup({ username: 'budget_a', password: 'password123' });
    await client().auth.signup({ username: 'budget_b', password: 'password123' });
    expect((await failure(client().auth.signup({ username: 'BUDGET_A', password: 'password123' }))).code).toBe('USERNAME_TAKEN');
    const blocked = await failure(client().auth.signup({ username: 'budget_c', password: 'password123' }));
    expect(blocked.code).toBe('RATE_LIMITED');
    expect(Number(blocked.headers['Retry-After'])).toBeGreaterThan(3590);
    expect(await h.db.orm.em.fork().count(User, { usernameKey: 'budget_c' })).toBe(0);

    const [oldest] = await rows('signup', '192.0.2.20');
    await age(oldest!.id, 60 * MINUTE - 45_000);
    const retryAfter = Number((await failure(client().auth.signup({ username: 'budget_c', password: 'password123' }))).headers['Retry-After']);
    expect(retryAfter).toBeGreaterThanOrEqual(44);
    expect(retryAfter).toBeLessThanOrEqual(45);
    await age(oldest!.id, 60 * MINUTE + 1000);
    expect((await client().auth.signup({ username: 'budget_c', password: 'password123' })).user.username).toBe('budget_c');
  });

  it('is off with SIGNUP_RATE_LIMIT=0 and then keeps no rows', async () => {
    const unlimited = await createHarness({ SIGNUP_RATE_LIMIT: '0' });
    try {
      const caller = createCaller(createContextInner({ em: unlimited.db.orm.em.fork(), config: unlimited.config, clientAddress: '192.0.2.21' }));
      for (let i = 0; i < 25; i++) await caller.auth.signup({ username: `unlimited${i}`, password: 'password123' });
      expect(await unlimited.db.orm.em.fork().count(AttemptLog, {})).toBe(0);
    } finally {
      await unlimited.close();
    }
  });
});

describe('purging the attempt log', () => {
  async function insert(kind: AttemptKind, key: string, msAgo: number) {
    return Number(await h.db.orm.em.fork().insert(AttemptLog, { kind, key, attemptedAt: new Date(Date.now() - msAgo) }));
  }

  it('deletes rows that have left their window, in bounded batches, and keeps the rest', async () => {
    const expired = [
      await insert('login', '198.18.0.1 gone', 16 * MINUTE),
      await insert('login_address', '198.18.0.2', 20 * MINUTE),
      await insert('login_address', '198.18.0.3', 24 * 60 * MINUTE),
      await insert('signup', '198.18.0.4', 61 * MINUTE),
    ];
    const kept = [
      await insert('login', '198.18.0.1 kept', 14 * MINUTE),
      await insert('login_address', '198.18.0.2', MINUTE),
      // A signup 30 minutes ago is still inside its hour.
      await insert('signup', '198.18.0.5', 30 * MINUTE),
    ];
    const em = h.db.orm.em.fork();
    // Other tests' aged rows may be expired too: the batch bound holds, and batches end.
    expect(await purgeExpiredAttempts(em, new Date(), 3)).toBe(3);
    let batches = 1;
    while ((await purgeExpiredAttempts(em, new Date(), 3)) > 0) batches++;
    expect(batches).toBeGreaterThanOrEqual(2);
    const left = (await em.find(AttemptLog, { id: { $in: [...expired, ...kept] } })).map((r) => Number(r.id));
    expect(left.sort()).toEqual(kept.sort());
  });

  it('removes a key\'s expired rows when that key is counted again', async () => {
    const old = await Promise.all([1, 2, 3].map(() => insert('login', '192.0.2.30 purged_user', 16 * MINUTE)));
    await failure(from('192.0.2.30').auth.login(wrong('purged_user')));
    const left = await rows('login', '192.0.2.30 purged_user');
    expect(left).toHaveLength(1);
    expect(old).not.toContain(Number(left[0]!.id));
  });
});

describe('passwords', () => {
  it('rehashes at the configured BCRYPT_COST after a successful login, and only then', async () => {
    const em = h.db.orm.em.fork();
    const user = em.create(User, { username: 'cost4', usernameKey: 'cost4', passwordHash: await bcrypt.hash('cost-four-password', 4) });
    await em.flush();
    await failure(from('192.0.2.40').auth.login({ username: 'cost4', password: 'not-the-password' }));
    expect(bcrypt.getRounds((await h.db.orm.em.fork().findOneOrFail(User, { id: user.id })).passwordHash)).toBe(4);
    await from('192.0.2.40').auth.login({ username: 'cost4', password: 'cost-four-password' });
    const rehashed = (await h.db.orm.em.fork().findOneOrFail(User, { id: user.id })).passwordHash;
    expect(bcrypt.getRounds(rehashed)).toBe(5);
    await from('192.0.2.40').auth.login({ username: 'cost4', password: 'cost-four-password' });
    // Already at the cost: left alone.
    expect((await h.db.orm.em.fork().findOneOrFail(User, { id: user.id })).passwordHash).toBe(rehashed);
  });

  it('a password over 72 bytes never matches, even when its first 72 bytes are the password', async () => {
    const password = 'k'.repeat(72);
    const { user } = await h.createUser({ password });
    expect((await failure(from('192.0.2.41').auth.login({ username: user.username, password: `${password}!` }))).code).toBe('INVALID_CREDENTIALS');
    expect(await rows('login', `192.0.2.41 ${User.keyFor(user.username)}`)).toHaveLength(1);
    expect((await from('192.0.2.41').auth.login({ username: user.username, password })).user.id).toBe(user.id);
  });
});

describe('token claims at the procedure level', () => {
  const now = () => Math.floor(Date.now() / 1000);
  const bearer = (claims: Record<string, unknown>, options: jwt.SignOptions = {}) =>
    `Bearer ${jwt.sign(claims, h.config.jwtSecret, { algorithm: 'HS256', ...options })}`;

  it('refuses tokens without exp or iat, longer-lived than JWT_EXPIRES_IN, or issued in the future', async () => {
    const { user } = await h.createUser();
    const sub = user.id;
    const bad = [
      bearer({ sub, role: 'customer' }),
      bearer({ sub, role: 'customer', exp: now() + 60 }, { noTimestamp: true }),
      bearer({ sub, role: 'customer', iat: now(), exp: now() + 3601 }),
      bearer({ sub, role: 'customer', iat: now() + 6, exp: now() + 6 + 60 }),
    ];
    for (const authorization of bad) {
      const error = await failure(from('192.0.2.50', authorization).auth.me());
      expect(error.code).toBe('UNAUTHORIZED');
      expect(error.headers['WWW-Authenticate']).toBe('Bearer');
    }
    expect((await from('192.0.2.50', bearer({ sub, role: 'customer', iat: now(), exp: now() + 3600 })).auth.me()).id).toBe(sub);
  });
});
