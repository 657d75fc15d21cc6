import { createHmac } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import type { Server } from 'node:http';
import bcrypt from 'bcrypt';
import jwt from 'jsonwebtoken';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createApp } from '../src/app.js';
import { AttemptLog } from '../src/entities/AttemptLog.js';
import { User } from '../src/entities/User.js';
import { createHttpHarness, expectErrorEnvelope, testConfig, type HttpHarness, type TestResponse } from './support/harness.js';

/**
 * Issue 8 §5 over HTTP: which client address the limits count (TRUST_PROXY, IPv6 /64), the
 * address budgets for logins and signups, passwords over bcrypt's 72 bytes, rehashing under a new
 * BCRYPT_COST, token claims, and WWW-Authenticate on failed logins.
 */

const LIMITS = { LOGIN_RATE_LIMIT: '3', LOGIN_ADDRESS_RATE_LIMIT: '5', SIGNUP_RATE_LIMIT: '3' };

let h: HttpHarness;
const servers: Server[] = [];
beforeAll(async () => {
  // The harness server is the proxy's upstream: 127.0.0.1 (the test) is the one trusted hop.
  h = await createHttpHarness({ ...LIMITS, TRUST_PROXY: 'true', BCRYPT_COST: '5' });
});
afterAll(async () => {
  for (const server of servers) {
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  }
  await h.close();
});

/** Another server on the same database with other settings, e.g. another TRUST_PROXY. */
async function serve(env: Record<string, string>): Promise<string> {
  const app = createApp({ orm: h.db.orm, config: testConfig({ ...LIMITS, ...env }), logger: pino({ level: 'silent' }) });
  const server: Server = await new Promise((resolve) => {
    const s = app.listen(0, '127.0.0.1', () => resolve(s));
  });
  servers.push(server);
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

async function post(baseUrl: string, path: string, json: unknown, forwardedFor?: string): Promise<TestResponse> {
  const headers: Record<string, string> = { 'Content-Type': 'application/json' };
  if (forwardedFor !== undefined) headers['X-Forwarded-For'] = forwardedFor;
  const res = await fetch(`${baseUrl}${path}`, { method: 'POST', headers, body: JSON.stringify(json) });
  const text = await res.text();
  return { status: res.status, headers: res.headers, body: text ? JSON.parse(text) : undefined, text };
}

const login = (username: string, password: string, forwardedFor?: string, baseUrl = h.baseUrl) =>
  post(baseUrl, '/api/auth/login', { username, password }, forwardedFor);
const signup = (username: string, forwardedFor?: string, password = 'password123') =>
  post(h.baseUrl, '/api/auth/signup', { username, password }, forwardedFor);

let spoofCounter = 0;
/** A left-most X-Forwarded-For entry the client made up: a new one every time. */
const spoofed = () => `10.${(++spoofCounter >> 8) & 255}.${spoofCounter & 255}.1`;

/** The address keys of the per-address login budget that hold rows. */
async function addressKeys(): Promise<string[]> {
  const rows = await h.db.orm.em.fork().find(AttemptLog, { kind: 'login_address' }, { fields: ['key'] });
  return [...new Set(rows.map((r) => r.key))];
}

describe('TRUST_PROXY: the client address is the N-th X-Forwarded-For entry from the right', () => {
  /** Three failures with a new made-up left-most entry each time, then a fourth attempt. */
  async function rotateLeftMost(baseUrl: string, username: string, chain: (spoof: string) => string): Promise<TestResponse> {
    for (let i = 0; i < 3; i++) expectErrorEnvelope(await login(username, 'wrong-password', chain(spoofed()), baseUrl), 401, 'INVALID_CREDENTIALS');
    return login(username, 'wrong-password', chain(spoofed()), baseUrl);
  }

  it.each([
    ['true', (spoof: string) => `${spoof}, 198.51.100.11`, '198.51.100.11'],
    ['1', (spoof: string) => `${spoof}, 198.51.100.12`, '198.51.100.12'],
    ['2', (spoof: string) => `${spoof}, 198.51.100.13, 192.0.2.254`, '198.51.100.13'],
    ['127.0.0.1,192.0.2.0/24', (spoof: string) => `${spoof}, 198.51.100.14, 192.0.2.254`, '198.51.100.14'],
  ])('TRUST_PROXY=%s: rotating the left-most entry does not escape the login limit', async (trustProxy, chain, client) => {
    const baseUrl = await serve({ TRUST_PROXY: trustProxy });
    const username = `rotator_${client.replaceAll('.', '_')}`;
    const blocked = await rotateLeftMost(baseUrl, username, chain);
    expectErrorEnvelope(blocked, 429, 'RATE_LIMITED');
    expect(Number(blocked.headers.get('retry-after'))).toBeGreaterThan(890);
    expect(await addressKeys()).toContain(client);
  });

  it('TRUST_PROXY=false: X-Forwarded-For is ignored, the socket address counts', async () => {
    const baseUrl = await serve({ TRUST_PROXY: 'false' });
    const blocked = await rotateLeftMost(baseUrl, 'direct_client', (spoof) => `${spoof}, 198.51.100.15`);
    expectErrorEnvelope(blocked, 429, 'RATE_LIMITED');
    const keys = await addressKeys();
    expect(keys).toContain('127.0.0.1');
    expect(keys).not.toContain('198.51.100.15');
  });
});

describe('IPv6 clients count per /64', () => {
  it('rotating addresses inside one /64 shares one limit; the next /64 has its own', async () => {
    const inside = ['2001:db8:77:1::1', '2001:db8:77:1::2', '2001:db8:77:1:ffff:ffff:ffff:fffe', '2001:DB8:77:1:0:0:0:ABCD'];
    for (const address of inside.slice(0, 3)) expectErrorEnvelope(await login('v6_user', 'wrong-password', address), 401, 'INVALID_CREDENTIALS');
    expectErrorEnvelope(await login('v6_user', 'wrong-password', inside[3]), 429, 'RATE_LIMITED');
    expectErrorEnvelope(await login('v6_user', 'wrong-password', '2001:db8:77:2::1'), 401, 'INVALID_CREDENTIALS');
    expect(await addressKeys()).toEqual(expect.arrayContaining(['2001:db8:77:1::/64', '2001:db8:77:2::/64']));
  });

  it('an IPv4-mapped address counts as its IPv4 address', async () => {
    for (let i = 0; i < 3; i++) expectErrorEnvelope(await login('mapped_user', 'wrong-password', '198.51.100.20'), 401, 'INVALID_CREDENTIALS');
    expectErrorEnvelope(await login('mapped_user', 'wrong-password', '::ffff:198.51.100.20'), 429, 'RATE_LIMITED');
  });
});

describe('per-address budgets (LOGIN_ADDRESS_RATE_LIMIT, SIGNUP_RATE_LIMIT)', () => {
  it('limits failed logins across usernames per address, with Retry-After, without touching other addresses', async () => {
    for (let i = 0; i < 5; i++) expectErrorEnvelope(await login(`spray_${i}`, 'wrong-password', '198.51.100.30'), 401, 'INVALID_CREDENTIALS');
    const blocked = await login('spray_new', 'wrong-password', '198.51.100.30');
    expectErrorEnvelope(blocked, 429, 'RATE_LIMITED');
    const retryAfter = Number(blocked.headers.get('retry-after'));
    expect(retryAfter).toBeGreaterThan(890);
    expect(retryAfter).toBeLessThanOrEqual(900);
    // Even a right password is held back while the address is over its budget.
    const { user, password } = await h.createUser();
    expectErrorEnvelope(await login(user.username, password, '198.51.100.30'), 429, 'RATE_LIMITED');
    expect((await login(user.username, password, '198.51.100.31')).status).toBe(200);
  });

  it('lets exactly LOGIN_ADDRESS_RATE_LIMIT failures through when guesses at many usernames race', async () => {
    const results = await Promise.all(Array.from({ length: 14 }, (_, i) => login(`racer_${i}`, 'wrong-password', '198.51.100.40')));
    expect(results.filter((r) => r.status === 401)).toHaveLength(5);
    for (const res of results.filter((r) => r.status !== 401)) {
      expectErrorEnvelope(res, 429, 'RATE_LIMITED');
      expect(Number(res.headers.get('retry-after'))).toBeGreaterThan(890);
    }
  });

  it('lets exactly SIGNUP_RATE_LIMIT signups through per address per hour when they race', async () => {
    const results = await Promise.all(Array.from({ length: 10 }, (_, i) => signup(`signup_race_${i}`, '198.51.100.50')));
    expect(results.filter((r) => r.status === 201)).toHaveLength(3);
    for (const res of results.filter((r) => r.status !== 201)) {
      expectErrorEnvelope(res, 429, 'RATE_LIMITED');
      const retryAfter = Number(res.headers.get('retry-after'));
      expect(retryAfter).toBeGreaterThan(3590);
      expect(retryAfter).toBeLessThanOrEqual(3600);
    }
    expect(await h.db.orm.em.fork().count(User, { usernameKey: { $like: 'signup_race_%' } })).toBe(3);
    // Another address (another /64 for IPv6) still signs up.
    expect((await signup('signup_other', '2001:db8:99:1::1')).status).toBe(201);
  });

  it('counts signups of one IPv6 /64 together', async () => {
    for (let i = 0; i < 3; i++) expect((await signup(`v6_signup_${i}`, `2001:db8:98:1::${i + 1}`)).status).toBe(201);
    expectErrorEnvelope(await signup('v6_signup_x', '2001:db8:98:1:abcd::1'), 429, 'RATE_LIMITED');
  });
});

describe('passwords and bcrypt', () => {
  it('never logs in with a password over 72 bytes, however it starts', async () => {
    const accounts = [
      ['long_ascii', 'a'.repeat(72), '198.51.100.60'],
      ['long_utf8', 'é'.repeat(36), '198.51.100.61'],
    ] as const;
    for (const [name, password, address] of accounts) {
      expect(Buffer.byteLength(password)).toBe(72);
      expect((await signup(name, address, password)).status).toBe(201);
      for (const suffix of ['b', 'é'.repeat(50)]) {
        const res = await login(name, password + suffix, address);
        expectErrorEnvelope(res, 401, 'INVALID_CREDENTIALS');
        expect(res.headers.get('www-authenticate')).toBe('Bearer');
      }
      expect((await login(name, password, address)).status).toBe(200);
    }
  });

  it('counts a too-long password as a failed login', async () => {
    const { user } = await h.createUser({ password: 'p'.repeat(72) });
    for (let i = 0; i < 3; i++) expectErrorEnvelope(await login(user.username, `${'p'.repeat(72)}${i}`, '198.51.100.64'), 401, 'INVALID_CREDENTIALS');
    expectErrorEnvelope(await login(user.username, 'p'.repeat(72), '198.51.100.64'), 429, 'RATE_LIMITED');
  });

  it('rehashes a password stored at an older BCRYPT_COST on the next login', async () => {
    const em = h.db.orm.em.fork();
    const user = em.create(User, { username: 'old_cost', usernameKey: 'old_cost', passwordHash: await bcrypt.hash('old-cost-password', 4) });
    await em.flush();
    expect((await login('old_cost', 'old-cost-password', '198.51.100.65')).status).toBe(200);
    const stored = await h.db.orm.em.fork().findOneOrFail(User, { id: user.id });
    expect(bcrypt.getRounds(stored.passwordHash)).toBe(5);
    expect(await bcrypt.compare('old-cost-password', stored.passwordHash)).toBe(true);
    expect((await login('old_cost', 'old-cost-password', '198.51.100.65')).status).toBe(200);
  });
});

describe('access token claims (HS256 with the real secret)', () => {
  const now = () => Math.floor(Date.now() / 1000);
  const sign = (claims: Record<string, unknown>, options: jwt.SignOptions = {}) =>
    jwt.sign(claims, h.config.jwtSecret, { algorithm: 'HS256', ...options });
  /** HS256 by hand, for claims jsonwebtoken refuses to sign. */
  const forge = (claims: Record<string, unknown>) => {
    const encode = (part: unknown) => Buffer.from(JSON.stringify(part)).toString('base64url');
    const unsigned = `${encode({ alg: 'HS256', typ: 'JWT' })}.${encode(claims)}`;
    return `${unsigned}.${createHmac('sha256', h.config.jwtSecret).update(unsigned).digest('base64url')}`;
  };

  it.each([
    ['without exp', (sub: string) => sign({ sub, role: 'customer' })],
    ['without iat', (sub: string) => sign({ sub, role: 'customer', exp: now() + 600 }, { noTimestamp: true })],
    ['without iat or exp', (sub: string) => sign({ sub, role: 'customer' }, { noTimestamp: true })],
    ['living longer than JWT_EXPIRES_IN', (sub: string) => sign({ sub, role: 'customer', iat: now(), exp: now() + 3601 })],
    ['issued for a year', (sub: string) => sign({ sub, role: 'customer', iat: now() - 60, exp: now() + 365 * 86_400 })],
    ['issued in the future', (sub: string) => sign({ sub, role: 'customer', iat: now() + 60, exp: now() + 60 + 3600 })],
    ['with a non-numeric iat', (sub: string) => forge({ sub, role: 'customer', iat: String(now()), exp: now() + 60 })],
    ['with a non-numeric exp', (sub: string) => forge({ sub, role: 'customer', iat: now(), exp: String(now() + 60) })],
  ])('rejects a token %s with 401 UNAUTHORIZED', async (_name, token) => {
    const { user } = await h.createUser();
    const res = await h.request('/api/auth/me', { token: token(user.id) });
    expectErrorEnvelope(res, 401, 'UNAUTHORIZED');
    expect(res.headers.get('www-authenticate')).toBe('Bearer');
  });

  it.each([
    ['the full JWT_EXPIRES_IN', 0, 3600],
    ['iat up to 5 s ahead of our clock', 4, 3600],
    ['a shorter lifetime', 0, 60],
  ])('accepts a token with %s', async (_name, ahead, lifetime) => {
    const { user } = await h.createUser();
    const iat = now() + ahead;
    const res = await h.request('/api/auth/me', { token: sign({ sub: user.id, role: 'customer', iat, exp: iat + lifetime }) });
    expect(res.status).toBe(200);
    expect(res.body.id).toBe(user.id);
  });
});

describe('INVALID_CREDENTIALS carries WWW-Authenticate: Bearer (contract §2: every 401)', () => {
  it('on REST and on tRPC, for an unknown user and a wrong password', async () => {
    const { user } = await h.createUser();
    for (const username of ['nobody_at_all', user.username]) {
      const rest = await login(username, 'wrong-password', '198.51.100.70');
      expectErrorEnvelope(rest, 401, 'INVALID_CREDENTIALS');
      expect(rest.headers.get('www-authenticate')).toBe('Bearer');
      const trpc = await post(h.baseUrl, '/trpc/auth.login', { username, password: 'wrong-password' }, '198.51.100.71');
      expect(trpc.status).toBe(401);
      expect(trpc.body.error.data.appCode).toBe('INVALID_CREDENTIALS');
      expect(trpc.headers.get('www-authenticate')).toBe('Bearer');
    }
  });
});
