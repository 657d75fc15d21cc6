import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createContextInner } from '../src/context/context.js';
import { AttemptLog } from '../src/entities/AttemptLog.js';
import { User } from '../src/entities/User.js';
import { createCaller } from '../src/routers/_app.js';
import { ensureAdminAccount } from '../src/routers/auth/service.js';
import { createHarness, testConfig, type Harness } from './support/harness.js';
import { failure } from './support/errors.js';

/** Contract §3 at the procedure level (createCaller, no HTTP), plus the admin bootstrap of §11. */

let h: Harness;
beforeAll(async () => {
  h = await createHarness({ LOGIN_RATE_LIMIT: '3' });
});
afterAll(() => h.close());

/** A caller as seen from one client address. */
const from = (clientAddress: string) => createCaller(createContextInner({ em: h.db.orm.em.fork(), config: h.config, clientAddress }));

const WINDOW_MS = 15 * 60 * 1000;

describe('signup and me', () => {
  it('creates a customer whose token resolves to the same user', async () => {
    const session = await from('192.0.2.1').auth.signup({ username: ' Lin.Yu ', password: 'password123' });
    expect(session).toMatchObject({ tokenType: 'Bearer', expiresIn: 3600, user: { username: 'Lin.Yu', role: 'customer' } });
    const stored = await h.db.orm.em.fork().findOneOrFail(User, { id: session.user.id });
    expect(stored.passwordHash).not.toContain('password123');
    expect(await h.caller(stored).auth.me()).toEqual(session.user);
  });

  it('refuses a username that exists in another case', async () => {
    expect((await failure(from('192.0.2.1').auth.signup({ username: 'LIN.YU', password: 'password123' }))).code).toBe('USERNAME_TAKEN');
  });

  it('refuses me without a user', async () => {
    expect((await failure(h.caller().auth.me())).code).toBe('UNAUTHORIZED');
  });
});

describe('login rate limit (sliding log per username and client address)', () => {
  const wrong = (username: string) => ({ username, password: 'wrong-password' });

  it('blocks even the right password after the limit, per address, until a failure leaves the window', async () => {
    const { user, password } = await h.createUser();
    const attacker = from('203.0.113.50');
    for (let i = 0; i < 3; i++) expect((await failure(attacker.auth.login(wrong(user.username)))).code).toBe('INVALID_CREDENTIALS');
    const blocked = await failure(attacker.auth.login({ username: user.username.toUpperCase(), password }));
    expect(blocked.code).toBe('RATE_LIMITED');
    expect(Number(blocked.headers['Retry-After'])).toBeGreaterThan(890);

    // The owner, from elsewhere, is unaffected.
    expect((await from('198.51.100.50').auth.login({ username: user.username, password })).user.id).toBe(user.id);

    // Age the oldest failure to 14:50 ago: Retry-After is exactly the 10 s it has left.
    const em = h.db.orm.em.fork();
    const key = `203.0.113.50 ${User.keyFor(user.username)}`;
    const failures = await em.find(AttemptLog, { kind: 'login', key }, { orderBy: { attemptedAt: 'asc' } });
    expect(failures).toHaveLength(3);
    await em.nativeUpdate(AttemptLog, { id: failures[0]!.id }, { attemptedAt: new Date(Date.now() - WINDOW_MS + 10_000) });
    const retryAfter = Number((await failure(attacker.auth.login({ username: user.username, password }))).headers['Retry-After']);
    expect(retryAfter).toBeGreaterThanOrEqual(9);
    expect(retryAfter).toBeLessThanOrEqual(10);

    // Once it has left the window one attempt is free again; the right password then resets the log.
    await em.nativeUpdate(AttemptLog, { id: failures[0]!.id }, { attemptedAt: new Date(Date.now() - WINDOW_MS - 1000) });
    expect((await attacker.auth.login({ username: user.username, password })).user.id).toBe(user.id);
    expect(await em.count(AttemptLog, { kind: 'login', key })).toBe(0);
    for (let i = 0; i < 3; i++) expect((await failure(attacker.auth.login(wrong(user.username)))).code).toBe('INVALID_CREDENTIALS');
    expect((await failure(attacker.auth.login(wrong(user.username)))).code).toBe('RATE_LIMITED');
  });

  it('limits unknown usernames too, without creating them', async () => {
    const guesser = from('203.0.113.60');
    for (let i = 0; i < 3; i++) expect((await failure(guesser.auth.login(wrong('ghost_user')))).code).toBe('INVALID_CREDENTIALS');
    expect((await failure(guesser.auth.login(wrong('GHOST_USER')))).code).toBe('RATE_LIMITED');
    expect((await failure(guesser.auth.login(wrong('other_ghost')))).code).toBe('INVALID_CREDENTIALS');
  });

  it('checks no more than the limit of passwords when guesses race', async () => {
    const { user } = await h.createUser();
    const racer = from('203.0.113.70');
    const results = await Promise.all(Array.from({ length: 12 }, () => failure(racer.auth.login(wrong(user.username)))));
    const codes = results.map((e) => e.code);
    expect(codes.filter((c) => c === 'INVALID_CREDENTIALS')).toHaveLength(3);
    expect(codes.filter((c) => c === 'RATE_LIMITED')).toHaveLength(9);
  });

  it('is off with LOGIN_RATE_LIMIT=0 and then keeps no log', async () => {
    const unlimited = await createHarness({ LOGIN_RATE_LIMIT: '0' });
    try {
      const caller = createCaller(createContextInner({ em: unlimited.db.orm.em.fork(), config: unlimited.config, clientAddress: '203.0.113.80' }));
      const { user, password } = await unlimited.createUser();
      for (let i = 0; i < 15; i++) expect((await failure(caller.auth.login(wrong(user.username)))).code).toBe('INVALID_CREDENTIALS');
      expect((await caller.auth.login({ username: user.username, password })).user.id).toBe(user.id);
      expect(await unlimited.db.orm.em.fork().count(AttemptLog, { kind: 'login' })).toBe(0);
    } finally {
      await unlimited.close();
    }
  });
});

describe('ensureAdminAccount (ADMIN_USERNAME / ADMIN_PASSWORD)', () => {
  const adminConfig = (username: string, password: string) =>
    testConfig({ ADMIN_USERNAME: username, ADMIN_PASSWORD: password, LOGIN_RATE_LIMIT: '3' });

  it('does nothing without the variables', async () => {
    const before = await h.db.orm.em.fork().count(User, {});
    await ensureAdminAccount(h.db.orm.em.fork(), h.config);
    expect(await h.db.orm.em.fork().count(User, {})).toBe(before);
  });

  it('creates the admin, idempotently', async () => {
    const config = adminConfig('Chief', 'chief-password');
    await ensureAdminAccount(h.db.orm.em.fork(), config);
    const first = await h.db.orm.em.fork().findOneOrFail(User, { usernameKey: 'chief' });
    expect(first).toMatchObject({ username: 'Chief', role: 'admin' });
    await ensureAdminAccount(h.db.orm.em.fork(), config);
    const again = await h.db.orm.em.fork().find(User, { usernameKey: 'chief' });
    expect(again).toHaveLength(1);
    expect(again[0]).toMatchObject({ id: first.id, role: 'admin', passwordHash: first.passwordHash });
    expect((await from('192.0.2.9').auth.login({ username: 'chief', password: 'chief-password' })).user.role).toBe('admin');
  });

  it('promotes an existing user of that name (any case) and sets the password', async () => {
    const { user } = await h.createUser({ username: 'Deputy', password: 'old-password' });
    await ensureAdminAccount(h.db.orm.em.fork(), adminConfig('DEPUTY', 'new-password'));
    const promoted = await h.db.orm.em.fork().findOneOrFail(User, { usernameKey: 'deputy' });
    expect(promoted).toMatchObject({ id: user.id, username: 'Deputy', role: 'admin' });
    expect(await promoted.verifyPassword('new-password')).toBe(true);
    expect(await promoted.verifyPassword('old-password')).toBe(false);
    expect((await h.caller(promoted).auth.me()).role).toBe('admin');
  });
});
