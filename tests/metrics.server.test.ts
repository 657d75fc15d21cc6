import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { createServer, type AddressInfo } from 'node:net';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase, serverUrl, type TestDatabase } from './support/database.js';
import { SPAWNED_TEST_TIMEOUT_MS } from './support/server-process.js';

/**
 * METRICS_PORT on the real process (`tsx src/server.ts`, as `npm start` runs it):
 * /metrics answers on that port and is a 404 on the API port. Needs a PostgreSQL
 * database of its own, as the other spawned-server tests do (the embedded PGlite
 * would share ./.data with the developer's own server); CI runs it.
 */

const ROOT = path.resolve(import.meta.dirname, '..');
const TSX = path.join(ROOT, 'node_modules/.bin/tsx');

/** A port nobody listens on right now. */
async function freePort(): Promise<number> {
  const probe = createServer().listen(0, '127.0.0.1');
  await once(probe, 'listening');
  const { port } = probe.address() as AddressInfo;
  probe.close();
  await once(probe, 'close');
  return port;
}

describe.runIf(serverUrl())('METRICS_PORT on the running server', () => {
  let db: TestDatabase;
  let child: ChildProcess;
  let exited: Promise<number | null>;
  let apiUrl: string;
  let metricsUrl: string;

  beforeAll(async () => {
    db = await createTestDatabase();
    const metricsPort = await freePort();
    child = spawn(TSX, ['src/server.ts'], {
      cwd: ROOT,
      env: {
        PATH: process.env.PATH ?? '',
        HOME: process.env.HOME ?? '',
        PORT: '0',
        METRICS_PORT: String(metricsPort),
        DATABASE_URL: db.url!,
        JWT_SECRET: 'metrics-server-secret-at-least-32-chars',
        BCRYPT_COST: '4',
        LOG_LEVEL: 'info',
      },
      stdio: ['ignore', 'pipe', 'pipe'],
      detached: true,
    });
    exited = new Promise((resolve) => child.on('close', resolve));
    let stdout = '';
    let stderr = '';
    child.stderr!.on('data', (chunk: Buffer) => (stderr += chunk.toString('utf8')));
    // Both listeners are up once the metrics line is logged; the API line (with its port) comes first.
    const apiPort = await new Promise<number>((resolve, reject) => {
      child.stdout!.on('data', (chunk: Buffer) => {
        stdout += chunk.toString('utf8');
        const lines = stdout.split('\n').filter((line) => line.startsWith('{')).map((line) => JSON.parse(line) as { msg: string; port?: number });
        const api = lines.find((entry) => entry.msg.startsWith('Storefront API listening'));
        if (api?.port && lines.some((entry) => entry.msg.startsWith('Prometheus metrics on'))) resolve(api.port);
      });
      void exited.then((code) => reject(new Error(`server exited with ${code}: ${stderr}`)));
    });
    apiUrl = `http://127.0.0.1:${apiPort}`;
    metricsUrl = `http://127.0.0.1:${metricsPort}`;
  }, SPAWNED_TEST_TIMEOUT_MS);

  afterAll(async () => {
    if (child?.exitCode === null) process.kill(-child.pid!, 'SIGKILL');
    await db?.drop();
  });

  it('serves /metrics on METRICS_PORT with the series of the requests served, and 404 on the API port', async () => {
    expect((await fetch(`${apiUrl}/api/products?page=1`)).status).toBe(200);
    const onApiPort = await fetch(`${apiUrl}/metrics`);
    expect(onApiPort.status).toBe(404);
    expect(((await onApiPort.json()) as { error: { code: string } }).error.code).toBe('NOT_FOUND');

    const res = await fetch(`${metricsUrl}/metrics`);
    expect(res.status).toBe(200);
    const text = await res.text();
    expect(text).toMatch(/^http_requests_total\{route="\/api\/products",method="GET",status="200"\} 1$/m);
    expect(text).toMatch(/^http_requests_total\{route="unmatched",method="GET",status="404"\} 1$/m);
    expect(text).toMatch(/^http_request_duration_seconds_count\{route="\/api\/products",method="GET",status="200"\} 1$/m);
    expect(text).toMatch(/^catalog_cache_requests_total\{result="miss"\} 1$/m);
    expect(text).toMatch(/^db_pool_connections_in_use 0$/m);
    expect(text).toMatch(/^db_pool_connections_max 10$/m);
    expect(text).toMatch(/^process_resident_memory_bytes \d+$/m);
  });

  it('still shuts down cleanly on SIGTERM', async () => {
    process.kill(child.pid!, 'SIGTERM');
    expect(await exited).toBe(0);
  });
});
