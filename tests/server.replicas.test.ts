import { readdirSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { demoCatalog } from '../src/db/seed.js';
import { User } from '../src/entities/User.js';
import { ensureAdminAccount } from '../src/routers/auth/service.js';
import { serverUrl } from './support/database.js';
import { createHarness, type Harness } from './support/harness.js';
import { createEmptyDatabase, ROOT, SERVER_SECRET, SPAWNED_TEST_TIMEOUT_MS, startServers, useSpawnedServers } from './support/server-process.js';
import { startTcpProxy } from './support/tcp-proxy.js';

useSpawnedServers();

/**
 * Issue 8 §4, replicas starting together: several processes starting at the same
 * moment on one empty database must all come up, with the migrations applied
 * once, one admin account and one demo catalog.
 */

const ADMIN = { username: 'Chief', password: 'replica-admin-password' };

describe('the admin bootstrap', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await createHarness({ ADMIN_USERNAME: ADMIN.username, ADMIN_PASSWORD: ADMIN.password });
  });
  afterAll(() => h.close());

  it('run by several processes at the same moment creates one admin account and fails none of them', async () => {
    const runs = await Promise.allSettled(Array.from({ length: 3 }, () => ensureAdminAccount(h.db.orm.em.fork(), h.config)));
    expect(runs.map((run) => run.status)).toEqual(['fulfilled', 'fulfilled', 'fulfilled']);
    const admins = await h.db.orm.em.fork().find(User, { usernameKey: 'chief' });
    expect(admins).toHaveLength(1);
    expect(admins[0]).toMatchObject({ username: 'Chief', role: 'admin' });
    expect(await admins[0]!.verifyPassword(ADMIN.password)).toBe(true);
  });

  it('promotes an existing user of that name at the same moment as other runs, keeping its id and name', async () => {
    const { user } = await h.createUser({ username: 'deputy', password: 'old-password-123' });
    const config = { ...h.config, admin: { username: 'DEPUTY', password: 'new-password-456' } };
    const runs = await Promise.allSettled(Array.from({ length: 3 }, () => ensureAdminAccount(h.db.orm.em.fork(), config)));
    expect(runs.map((run) => run.status)).toEqual(['fulfilled', 'fulfilled', 'fulfilled']);
    const rows = await h.db.orm.em.fork().find(User, { usernameKey: 'deputy' });
    expect(rows.map((row) => ({ id: row.id, username: row.username, role: row.role }))).toEqual([{ id: user.id, username: 'deputy', role: 'admin' }]);
    expect(await rows[0]!.verifyPassword('new-password-456')).toBe(true);
  });
});

describe.skipIf(!serverUrl())('three server processes started at the same moment on one empty database (PostgreSQL)', { timeout: SPAWNED_TEST_TIMEOUT_MS }, () => {
  it('all serve; the migrations ran once, there is one admin account and one demo catalog', async () => {
    const db = await createEmptyDatabase();
    const direct = new URL(db.url);
    const gate = await startTcpProxy({ host: direct.hostname, port: Number(direct.port || 5432) });
    try {
      const env = { DATABASE_URL: db.urlVia(gate.port), JWT_SECRET: SERVER_SECRET, ADMIN_USERNAME: ADMIN.username, ADMIN_PASSWORD: ADMIN.password, SEED_DEMO_DATA: 'true' };
      // Processes never start at quite the same moment: their first connections wait at the gate, then meet the
      // database together, so their start-up work really overlaps.
      gate.hold();
      const starting = startServers(3, { env });
      await gate.waitForHeld(3);
      gate.release();
      const servers = await starting;

      for (const server of servers) {
        expect((await server.request('/ready')).status).toBe(200);
        const login = await server.request('/api/auth/login', { method: 'POST', json: { username: 'chief', password: ADMIN.password } });
        expect(login.status).toBe(200);
        expect(login.body.user.role).toBe('admin');
        expect((await server.request('/api/products?page=1&limit=1')).body.total).toBe(demoCatalog().length);
      }
      const migrationFiles = readdirSync(path.join(ROOT, 'src/migrations')).filter((f) => /^Migration.*\.ts$/.test(f));
      const applied = await db.query('select name from mikro_orm_migrations order by name');
      expect(applied.rows.map((r: { name: string }) => r.name)).toEqual(migrationFiles.map((f) => f.replace(/\.ts$/, '')).sort());
      expect((await db.query(`select count(*)::int as n from users`)).rows).toEqual([{ n: 1 }]);
      expect((await db.query(`select count(*)::int as n from product`)).rows).toEqual([{ n: demoCatalog().length }]);
      // Exactly one of them seeded; the others found the catalog there.
      const seeded = servers.filter((server) => server.logs().some((e) => e.msg === 'seeded the demo catalog'));
      expect(seeded).toHaveLength(1);

      for (const server of servers) expect(await server.stop()).toEqual({ code: 0, signal: null });
    } finally {
      await gate.close();
      await db.drop();
    }
  });
});
