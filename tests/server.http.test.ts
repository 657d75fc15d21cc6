import type { AddressInfo } from 'node:net';
import type { Server } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createApp } from '../src/app.js';
import { createLogger } from '../src/logger.js';
import { createHarness, expectErrorEnvelope, type Harness } from './support/harness.js';

/**
 * Contract §11 behaviour of the app itself, in-process on either database:
 * TRUST_PROXY and the per-address login limit, and the request log.
 */

interface Running {
  h: Harness;
  baseUrl: string;
  logLines: string[];
  close(): Promise<void>;
}

async function start(env: Record<string, string>): Promise<Running> {
  const h = await createHarness(env);
  const logLines: string[] = [];
  const logger = createLogger('info', { write: (line: string) => void logLines.push(line) });
  const app = createApp({ orm: h.db.orm, config: h.config, logger });
  const server: Server = await new Promise((resolve) => {
    const s = app.listen(0, '127.0.0.1', () => resolve(s));
  });
  return {
    h,
    baseUrl: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    logLines,
    async close() {
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
      await h.close();
    },
  };
}

async function post(baseUrl: string, path: string, json: unknown, headers: Record<string, string> = {}) {
  const res = await fetch(`${baseUrl}${path}`, { method: 'POST', headers: { 'Content-Type': 'application/json', ...headers }, body: JSON.stringify(json) });
  const text = await res.text();
  return { status: res.status, headers: res.headers, text, body: text ? JSON.parse(text) : undefined };
}

describe('TRUST_PROXY', () => {
  const wrong = { username: 'proxied', password: 'wrong-password' };
  const right = { username: 'proxied', password: 'password123' };

  it('=true: the login limit counts per X-Forwarded-For client address', async () => {
    const app = await start({ TRUST_PROXY: 'true', LOGIN_RATE_LIMIT: '2' });
    try {
      await post(app.baseUrl, '/api/auth/signup', right);
      // One trusted hop: the proxy appended the client's address; the entry left of it is the client's own writing.
      const from = (address: string) => ({ 'X-Forwarded-For': `10.0.0.1, ${address}` });
      for (let i = 0; i < 2; i++) expect((await post(app.baseUrl, '/api/auth/login', wrong, from('203.0.113.7'))).status).toBe(401);
      const limited = await post(app.baseUrl, '/api/auth/login', right, from('203.0.113.7'));
      expectErrorEnvelope(limited, 429, 'RATE_LIMITED');
      // Another client behind the same proxy is not affected by the first one's failures.
      expect((await post(app.baseUrl, '/api/auth/login', right, from('198.51.100.9'))).status).toBe(200);
      expect((await post(app.baseUrl, '/api/auth/login', right)).status).toBe(200);
    } finally {
      await app.close();
    }
  });

  it('=false (default): X-Forwarded-For is ignored, so a client cannot dodge the limit with it', async () => {
    const app = await start({ LOGIN_RATE_LIMIT: '2' });
    try {
      await post(app.baseUrl, '/api/auth/signup', right);
      expect((await post(app.baseUrl, '/api/auth/login', wrong, { 'X-Forwarded-For': '203.0.113.1' })).status).toBe(401);
      expect((await post(app.baseUrl, '/api/auth/login', wrong, { 'X-Forwarded-For': '203.0.113.2' })).status).toBe(401);
      const limited = await post(app.baseUrl, '/api/auth/login', right, { 'X-Forwarded-For': '203.0.113.3' });
      expectErrorEnvelope(limited, 429, 'RATE_LIMITED');
    } finally {
      await app.close();
    }
  });
});

describe('request log', () => {
  let app: Running;
  beforeAll(async () => {
    app = await start({});
  });
  afterAll(() => app.close());

  it('writes one JSON line per request with method, path, status, duration and request id, and no credentials', async () => {
    const password = 'pa55word-that-must-not-leak';
    const signup = await post(app.baseUrl, '/api/auth/signup', { username: 'logged_user', password }, { 'X-Request-Id': 'log-signup' });
    const token = signup.body.accessToken as string;
    await fetch(`${app.baseUrl}/api/auth/me?verbose=1`, { headers: { Authorization: `Bearer ${token}`, 'X-Request-Id': 'log-me' } });
    await fetch(`${app.baseUrl}/trpc/auth.me`, { headers: { Authorization: `Bearer ${token}`, 'X-Request-Id': 'log-trpc' } });
    await post(app.baseUrl, '/api/auth/login', { username: 'logged_user', password: `${password}-wrong` }, { 'X-Request-Id': 'log-login' });
    await fetch(`${app.baseUrl}/api/auth/me`, { method: 'HEAD', headers: { Authorization: `Bearer ${token}`, 'X-Request-Id': 'log-head' } });

    const entries = app.logLines.map((line) => {
      expect(line.endsWith('\n')).toBe(true);
      expect(line.trimEnd()).not.toContain('\n');
      return JSON.parse(line) as { requestId?: string; req?: { method: string; path: string }; res?: { status: number }; durationMs?: number };
    });
    const byId = (id: string) => entries.filter((e) => e.requestId === id);
    const expected: [string, string, string, number][] = [
      ['log-signup', 'POST', '/api/auth/signup', 201],
      ['log-me', 'GET', '/api/auth/me?verbose=1', 200],
      ['log-trpc', 'GET', '/trpc/auth.me', 200],
      ['log-login', 'POST', '/api/auth/login', 401],
      ['log-head', 'HEAD', '/api/auth/me', 200],
    ];
    for (const [id, method, path, status] of expected) {
      const lines = byId(id);
      expect(lines, id).toHaveLength(1);
      expect(lines[0]).toMatchObject({ req: { method, path }, res: { status } });
      expect(lines[0]!.durationMs).toEqual(expect.any(Number));
    }
    const everything = app.logLines.join('');
    expect(everything).not.toContain(password);
    expect(everything).not.toContain(token);
    expect(everything).not.toContain(token.split('.')[2]);
    expect(everything).not.toMatch(/authorization/i);
  });

  it('logs server errors with their cause for the operator, never for the client', async () => {
    const { user, token } = await app.h.createUser();
    const conn = app.h.db.orm.em.getConnection();
    await conn.execute('alter table users drop constraint users_role_check');
    await conn.execute(`update users set role = 'superuser' where id = ?`, [user.id]);
    try {
      const res = await fetch(`${app.baseUrl}/api/auth/me`, { headers: { Authorization: `Bearer ${token}`, 'X-Request-Id': 'log-500' } });
      expect(res.status).toBe(500);
      expect(await res.text()).not.toMatch(/superuser/);
      const failures = app.logLines.map((line) => JSON.parse(line) as { level: number; msg: string; requestId?: string; err?: unknown }).filter((e) => e.msg === 'request failed');
      expect(failures).toHaveLength(1);
      expect(failures[0]).toMatchObject({ level: 50, requestId: 'log-500' });
      expect(JSON.stringify(failures[0]!.err)).toMatch(/ZodError.*role/s);
    } finally {
      await conn.execute(`update users set role = 'customer' where id = ?`, [user.id]);
      await conn.execute(`alter table users add constraint users_role_check check (role in ('customer', 'admin'))`);
    }
  });
});
