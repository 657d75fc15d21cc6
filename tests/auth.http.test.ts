import jwt from 'jsonwebtoken';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { ISO_TIMESTAMP } from './support/contract-shapes.js';
import { createHttpHarness, expectErrorEnvelope, type HttpHarness } from './support/harness.js';

let h: HttpHarness;
beforeAll(async () => {
  h = await createHttpHarness({ LOGIN_RATE_LIMIT: '3' });
});
afterAll(() => h.close());

describe('POST /api/auth/signup', () => {
  it('creates an account and returns a token', async () => {
    const res = await h.request('/api/auth/signup', { method: 'POST', json: { username: '  Ada.L ', password: 'password123' } });
    expect(res.status).toBe(201);
    expect(res.headers.get('content-type')).toMatch(/^application\/json; charset=utf-8/);
    expect(res.body).toEqual({
      accessToken: expect.any(String),
      tokenType: 'Bearer',
      expiresIn: 3600,
      user: { id: expect.any(String), username: 'Ada.L', role: 'customer', createdAt: expect.stringMatching(ISO_TIMESTAMP) },
    });
    const claims = jwt.decode(res.body.accessToken) as jwt.JwtPayload;
    expect(claims.sub).toBe(res.body.user.id);
    expect(claims.role).toBe('customer');
    expect(claims.exp! - claims.iat!).toBe(3600);
  });

  it('rejects a username taken in another case', async () => {
    const res = await h.request('/api/auth/signup', { method: 'POST', json: { username: 'ada.l', password: 'password123' } });
    expectErrorEnvelope(res, 409, 'USERNAME_TAKEN');
  });

  it.each([
    [{ username: 'ab', password: 'password123' }, 'username'],
    [{ username: 'has space', password: 'password123' }, 'username'],
    [{ username: 'x'.repeat(33), password: 'password123' }, 'username'],
    [{ username: 'valid_name', password: 'short' }, 'password'],
    [{ username: 'valid_name', password: 'é'.repeat(37) }, 'password'], // 74 bytes
    [{ username: 'valid_name' }, 'password'],
    [{ username: 'valid_name', password: 'password123', admin: true }, 'admin'],
  ])('rejects %j naming %s', async (json, field) => {
    const res = await h.request('/api/auth/signup', { method: 'POST', json });
    const error = expectErrorEnvelope(res, 400, 'VALIDATION_ERROR');
    expect(error.details).toEqual(expect.arrayContaining([expect.objectContaining({ field })]));
  });

  it('accepts a 72-byte password', async () => {
    const res = await h.request('/api/auth/signup', { method: 'POST', json: { username: 'bytes72', password: 'é'.repeat(36) } });
    expect(res.status).toBe(201);
  });

  it('answers malformed JSON, non-objects, wrong media types and huge bodies with the contract codes', async () => {
    const malformed = await h.request('/api/auth/signup', { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: '{"username":' });
    expect(expectErrorEnvelope(malformed, 400, 'VALIDATION_ERROR').details).toEqual([{ field: 'body', message: expect.any(String) }]);
    const array = await h.request('/api/auth/signup', { method: 'POST', json: [1, 2] });
    expectErrorEnvelope(array, 400, 'VALIDATION_ERROR');
    const text = await h.request('/api/auth/signup', { method: 'POST', headers: { 'Content-Type': 'text/plain' }, body: 'hi' });
    expectErrorEnvelope(text, 415, 'UNSUPPORTED_MEDIA_TYPE');
    const huge = await h.request('/api/auth/signup', { method: 'POST', json: { username: 'huge', password: 'x'.repeat(110 * 1024) } });
    expectErrorEnvelope(huge, 413, 'PAYLOAD_TOO_LARGE');
    const charset = await h.request('/api/auth/signup', {
      method: 'POST',
      headers: { 'Content-Type': 'application/json; charset=utf-8' },
      body: JSON.stringify({ username: 'charset_user', password: 'password123' }),
    });
    expect(charset.status).toBe(201);
  });
});

describe('POST /api/auth/login', () => {
  it('logs in case-insensitively', async () => {
    await h.request('/api/auth/signup', { method: 'POST', json: { username: 'Grace', password: 'password123' } });
    const res = await h.request('/api/auth/login', { method: 'POST', json: { username: 'GRACE', password: 'password123' } });
    expect(res.status).toBe(200);
    expect(res.body.user.username).toBe('Grace');
  });

  it('folds only A-Z: a name that full Unicode lower-casing would turn into a username is no user', async () => {
    await h.request('/api/auth/signup', { method: 'POST', json: { username: 'kate.i', password: 'password123' } });
    // U+212A (Kelvin sign) lower-cases to "k"; U+0130 (İ) to "i" and a combining dot.
    for (const username of ['\u212Aate.i', 'KATE.\u0130']) {
      const res = await h.request('/api/auth/login', { method: 'POST', json: { username, password: 'password123' } });
      expectErrorEnvelope(res, 401, 'INVALID_CREDENTIALS');
    }
    expect((await h.request('/api/auth/login', { method: 'POST', json: { username: 'KATE.I', password: 'password123' } })).status).toBe(200);
  });

  it('gives one answer for unknown users and wrong passwords', async () => {
    const unknown = await h.request('/api/auth/login', { method: 'POST', json: { username: 'nobody', password: 'password123' } });
    const wrong = await h.request('/api/auth/login', { method: 'POST', json: { username: 'Grace', password: 'wrong-password' } });
    expect(expectErrorEnvelope(unknown, 401, 'INVALID_CREDENTIALS').message).toBe(expectErrorEnvelope(wrong, 401, 'INVALID_CREDENTIALS').message);
  });

  it('rate limits failed logins per username and address, then lets the right password through only after success resets', async () => {
    await h.request('/api/auth/signup', { method: 'POST', json: { username: 'limited', password: 'password123' } });
    for (let i = 0; i < 3; i++) {
      const res = await h.request('/api/auth/login', { method: 'POST', json: { username: 'limited', password: 'nope-nope' } });
      expect(res.status).toBe(401);
    }
    const blocked = await h.request('/api/auth/login', { method: 'POST', json: { username: 'LIMITED', password: 'password123' } });
    expectErrorEnvelope(blocked, 429, 'RATE_LIMITED');
    const retryAfter = Number(blocked.headers.get('retry-after'));
    expect(retryAfter).toBeGreaterThan(890);
    expect(retryAfter).toBeLessThanOrEqual(900);
    // Another username from the same address is unaffected.
    const other = await h.request('/api/auth/login', { method: 'POST', json: { username: 'Grace', password: 'password123' } });
    expect(other.status).toBe(200);
  });

  it('validates lengths before anything else', async () => {
    const res = await h.request('/api/auth/login', { method: 'POST', json: { username: '', password: 'x'.repeat(257) } });
    const error = expectErrorEnvelope(res, 400, 'VALIDATION_ERROR');
    expect(error.details).toEqual(expect.arrayContaining([expect.objectContaining({ field: 'username' }), expect.objectContaining({ field: 'password' })]));
  });
});

describe('GET /api/auth/me and token attacks', () => {
  it('returns the user for a valid token', async () => {
    const { user, token } = await h.createUser();
    const res = await h.request('/api/auth/me', { token });
    expect(res.status).toBe(200);
    expect(res.body).toEqual({ id: user.id, username: user.username, role: 'customer', createdAt: user.createdAt.toISOString() });
  });

  it('refuses a token it has accepted before from the second the token expires', async () => {
    const { token } = await h.createUser();
    expect((await h.request('/api/auth/me', { token })).status).toBe(200);
    const { exp } = jwt.decode(token) as { exp: number };
    vi.useFakeTimers({ toFake: ['Date'], now: exp * 1000 - 1 });
    try {
      // Accepted again (the process has verified it once already), one millisecond before its expiry ...
      expect((await h.request('/api/auth/me', { token })).status).toBe(200);
      // ... and refused from its expiry on, verified once already or not.
      vi.setSystemTime(exp * 1000);
      expectErrorEnvelope(await h.request('/api/auth/me', { token }), 401, 'UNAUTHORIZED');
      expectErrorEnvelope(await h.request('/api/auth/me', { token }), 401, 'UNAUTHORIZED');
    } finally {
      vi.useRealTimers();
    }
  });

  it('rejects missing, malformed, tampered, expired, alg:none, foreign-key and unknown-user tokens with 401 + WWW-Authenticate', async () => {
    const { user, token } = await h.createUser();
    const secret = h.config.jwtSecret;
    const [header, , signature] = token.split('.');
    const forgedPayload = Buffer.from(JSON.stringify({ sub: user.id, role: 'admin', iat: Math.floor(Date.now() / 1000), exp: Math.floor(Date.now() / 1000) + 3600 })).toString('base64url');
    const none = `${Buffer.from(JSON.stringify({ alg: 'none', typ: 'JWT' })).toString('base64url')}.${forgedPayload}.`;
    const tokens = {
      missing: undefined,
      malformed: 'not-a-jwt',
      tampered: `${header}.${forgedPayload}.${signature}`,
      expired: jwt.sign({ sub: user.id, role: 'customer' }, secret, { algorithm: 'HS256', expiresIn: -10 }),
      none,
      hs512: jwt.sign({ sub: user.id, role: 'customer' }, secret, { algorithm: 'HS512' }),
      otherKey: jwt.sign({ sub: user.id, role: 'customer' }, 'another-secret-another-secret-another-secret', { algorithm: 'HS256' }),
      unknownUser: jwt.sign({ sub: '00000000-0000-4000-8000-000000000000', role: 'admin' }, secret, { algorithm: 'HS256' }),
    };
    for (const [name, bad] of Object.entries(tokens)) {
      const res = await h.request('/api/auth/me', { token: bad });
      expect(res.status, name).toBe(401);
      expectErrorEnvelope(res, 401, 'UNAUTHORIZED');
      expect(res.headers.get('www-authenticate'), name).toBe('Bearer');
    }
  });
});

describe('conventions', () => {
  it('echoes a valid X-Request-Id and replaces an invalid one', async () => {
    const echoed = await h.request('/health', { headers: { 'X-Request-Id': 'abc.DEF_123-x' } });
    expect(echoed.headers.get('x-request-id')).toBe('abc.DEF_123-x');
    const replaced = await h.request('/health', { headers: { 'X-Request-Id': 'bad id!' } });
    expect(replaced.headers.get('x-request-id')).not.toBe('bad id!');
    expect(replaced.headers.get('x-request-id')).toMatch(/^[A-Za-z0-9._-]{1,128}$/);
  });

  it('answers unknown routes with 404 and wrong methods with 405 + Allow', async () => {
    expectErrorEnvelope(await h.request('/api/nope'), 404, 'NOT_FOUND');
    expectErrorEnvelope(await h.request('/nope'), 404, 'NOT_FOUND');
    const wrong = await h.request('/api/auth/signup', { method: 'GET' });
    expectErrorEnvelope(wrong, 405, 'METHOD_NOT_ALLOWED');
    expect(wrong.headers.get('allow')).toBe('POST');
  });

  it('checks authentication before the body media type', async () => {
    const res = await h.request('/api/auth/me', { method: 'GET' });
    expectErrorEnvelope(res, 401, 'UNAUTHORIZED');
  });

  it('serves health, readiness and the OpenAPI document', async () => {
    expect((await h.request('/health')).body).toEqual({ status: 'ok' });
    expect((await h.request('/ready')).body).toEqual({ status: 'ready' });
    const doc = (await h.request('/api/openapi.json')).body;
    expect(doc.paths['/api/auth/signup'].post.responses['201']).toBeDefined();
    expect(doc.paths['/api/auth/me'].get.security).toEqual([{ bearerAuth: [] }]);
    expect(doc.paths['/api/auth/login'].post.security).toBeUndefined();
  });
});

describe('racing requests', () => {
  it('creates a username once when signups race, in any case', async () => {
    const results = await Promise.all(
      ['Racer', 'racer', 'RACER', 'Racer', 'rAcer', 'racer'].map((username) =>
        h.request('/api/auth/signup', { method: 'POST', json: { username, password: 'password123' } }),
      ),
    );
    expect(results.filter((r) => r.status === 201)).toHaveLength(1);
    for (const res of results.filter((r) => r.status !== 201)) expectErrorEnvelope(res, 409, 'USERNAME_TAKEN');
  });

  it('checks at most LOGIN_RATE_LIMIT passwords when wrong guesses race', async () => {
    await h.request('/api/auth/signup', { method: 'POST', json: { username: 'guessed', password: 'password123' } });
    const results = await Promise.all(
      Array.from({ length: 15 }, () => h.request('/api/auth/login', { method: 'POST', json: { username: 'guessed', password: 'wrong-guess' } })),
    );
    expect(results.filter((r) => r.status === 401)).toHaveLength(3);
    for (const res of results.filter((r) => r.status !== 401)) expectErrorEnvelope(res, 429, 'RATE_LIMITED');
  });
});
